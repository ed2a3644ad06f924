/* tools.h: what the subcommands of the `veille` CLI share. */
#ifndef VL_TOOLS_H
#define VL_TOOLS_H

#include <stdbool.h>
#include <stdint.h>
#include "curve.h"
#include "vl_err.h"

#define TOOLS_EXIT_OK      0
#define TOOLS_EXIT_FAIL    1
#define TOOLS_EXIT_USAGE   2

/* Subcommands: ARGV[0] is the subcommand name. Each returns an exit code. */
int cmd_tail (int argc, char **argv);
int cmd_pub (int argc, char **argv);
int cmd_check (int argc, char **argv);
int cmd_keygen (int argc, char **argv);
int cmd_stats (int argc, char **argv);
int cmd_status (int argc, char **argv);

/* Installs SIGINT/SIGTERM handlers (no SA_RESTART, so blocking ZeroMQ calls
 * return EINTR) and ignores SIGPIPE. */
void tools_signals (void);

/* True once SIGINT or SIGTERM was received. */
bool tools_stopping (void);

/* Parses a decimal unsigned integer (whole string). */
bool tools_parse_u64 (const char *s, uint64_t *out);

/* Parses a decimal int in [MIN, MAX] (whole string). */
bool tools_parse_int (const char *s, long min, long max, int *out);

/* For an ipc:// ENDPOINT (a unix socket file), false after printing why
 * when this user may not connect to it (EACCES: the default sockets in
 * /run/veille are for root and the group veille only). True for other
 * transports and for a socket not there yet (the broker may start later).
 * CMD names the subcommand in the message. */
bool tools_reachable (const char *cmd, const char *endpoint);

/* Loads CURVE client keys when SECRET or SERVER is given (both needed).
 * *ENABLED tells whether CURVE is on. Errors are printed. */
vl_err_t tools_curve (const char *secret, const char *server, curve_client_t *out,
                      bool *enabled);

#endif
