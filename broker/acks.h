/* acks.h: the publish replies of one batch, grouped per publisher.
 *
 * The final acks STORED and DUPLICATE of one batch that go to the same
 * publisher connection (ROUTER routing id) leave as ONE message: an "ack
 * batch", a single frame of WIRE_ACK_RECORD_LEN-byte records
 *   [token 8 B][status 1 B][seq 8 B big-endian]
 * (docs/protocol.md, "Publishing"). One frame instead of three per event
 * halves the broker's ZeroMQ work on the publish path and the publisher's.
 * REJECTED and UNAVAILABLE carry a reason and still go out one by one
 * (broker.c), as 3- or 4-frame single acks.
 *
 * Up to ACKS_GROUPS publishers are grouped at once; a batch from more
 * publishers than that sends the open groups early (nothing is lost, the
 * messages are just smaller). Sends never block (ZMQ_DONTWAIT): an ack that
 * cannot be queued is dropped, as a single ack would be, and the publisher
 * resends after its timeout. */
#ifndef VL_ACKS_H
#define VL_ACKS_H

#include <stddef.h>
#include <stdint.h>
#include "wire.h"

#define ACKS_GROUPS 16

typedef struct acks acks_t;

/* Creates the grouping buffers for batches of up to MAX_RECORDS acks per
 * publisher. Caller owns the result; NULL on OOM or MAX_RECORDS == 0. */
acks_t *acks_new (size_t max_records);

/* Destroys *self_p and sets it to NULL; NULL-safe. */
void acks_destroy (acks_t **self_p);

/* Adds the record (TOKEN, STATUS, SEQ) for the connection whose routing id
 * is RID (RID_LEN bytes, 1..255; copied). A full group, or a new group when
 * ACKS_GROUPS are open, is sent to SOCK (the publish ROUTER) first. */
void acks_add (acks_t *self, void *sock, const void *rid, size_t rid_len,
               const unsigned char token[WIRE_TOKEN_LEN], uint8_t status, uint64_t seq);

/* Sends every open group to SOCK and empties them. */
void acks_flush (acks_t *self, void *sock);

#endif
