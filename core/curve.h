/* curve.h: CURVE key files and socket setup shared by every binary.
 * Key files are the Z85 text written by `veille keygen`: NAME.pub holds the
 * public key, NAME.key the secret key (mode 0600, refused if more open). */
#ifndef VL_CURVE_H
#define VL_CURVE_H

#include <stdbool.h>
#include "vl_err.h"

typedef struct {
    char public_key[41];    /* Z85 */
    char secret_key[41];
    char server_key[41];    /* the broker's public key */
} curve_client_t;

/* Generates a keypair and writes DIR/NAME.pub and DIR/NAME.key (0600). */
vl_err_t curve_keygen (const char *dir, const char *name);

/* Reads a Z85 public key file into OUT (41 bytes). */
vl_err_t curve_read_public (const char *path, char out[41]);

/* Reads a Z85 secret key file (must be 0600 or stricter) into OUT. */
vl_err_t curve_read_secret (const char *path, char out[41]);

/* Loads a client keypair (SECRET_PATH; its public half is derived) and the
 * server's public key file. */
vl_err_t curve_client_load (curve_client_t *out, const char *secret_path,
                            const char *server_public_path);

/* Applies client-side CURVE options to a ZeroMQ socket (before connect). */
vl_err_t curve_client_apply (void *socket, const curve_client_t *keys);

#endif
