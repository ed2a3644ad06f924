/* util.h: small helpers shared by every module: time, hashing, hex, UTF-8. */
#ifndef VL_UTIL_H
#define VL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vl_err.h"

#define VL_ARRAY_LEN(a) (sizeof (a) / sizeof ((a)[0]))

/* Wall clock in milliseconds since the epoch. */
int64_t util_now_ms (void);

/* Monotonic clock in milliseconds (for timeouts and intervals). */
int64_t util_mono_ms (void);

/* BLAKE2b-128 of DATA, lower-case hex into OUT (33 bytes). */
void util_hash_hex (const void *data, size_t len, char out[33]);

/* Lower-case hex of LEN bytes into OUT (2*LEN+1 bytes). */
void util_hex (const void *data, size_t len, char *out);

/* Decodes the UTF-8 character at P (AVAIL >= 1 bytes left) into *CP and
 * returns its length, or 0 if the bytes there are not valid UTF-8 (an
 * overlong form, a surrogate, past U+10FFFF, cut short). */
size_t util_utf8_decode (const void *p, size_t avail, uint32_t *cp);

/* True for the code points that must not reach a terminal, a log line, a
 * header or an XML document as they are: C0 and C1 controls, DEL, bidi
 * embeddings/overrides/isolates/marks, line and paragraph separators, BOM,
 * and the noncharacters (U+FDD0..U+FDEF, U+xxFFFE/U+xxFFFF). log_sanitize
 * escapes them; format_clean removes them; format_json_line escapes them. */
bool util_cp_unsafe (uint32_t cp);

/* True if DATA is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool util_utf8_valid (const void *data, size_t len);

/* Copies at most MAX bytes of S into a new string, cutting on a UTF-8
 * character boundary. Caller frees. NULL on OOM. */
char *util_strndup_utf8 (const char *s, size_t max);

/* Length of the longest prefix of S (LEN bytes) no longer than MAX bytes
 * that does not split a UTF-8 character. */
size_t util_utf8_cut (const char *s, size_t len, size_t max);

/* Big-endian 64-bit encode/decode (seq frames on the wire). */
void     util_put_be64 (unsigned char out[8], uint64_t v);
uint64_t util_get_be64 (const unsigned char in[8]);

/* strdup that returns NULL for NULL. Caller frees. */
char *util_strdup (const char *s);

/* Reads a whole file of at most MAX bytes (never more, whatever MAX);
 * caller frees *OUT (NUL-terminated, *LEN excludes the NUL). VL_ETOOBIG if
 * the file holds more than MAX bytes, VL_EIO/VL_ENOTFOUND/VL_EDENIED
 * otherwise; *OUT is NULL on error. */
vl_err_t util_read_file (const char *path, size_t max, char **out, size_t *len);

/* Creates DIR and its parents (mode 0750). */
vl_err_t util_mkdirs (const char *dir);

/* Levenshtein distance between A and B (for "did you mean"). */
size_t util_edit_distance (const char *a, const char *b);

/* Reads a secret from the environment variable ENV_NAME, or else from
 * FILE_PATH, which must be a regular file (not a symlink) not readable by
 * group or others, of at most 64 KiB; it is read through the descriptor that
 * was checked. Trailing newline stripped. Caller frees *OUT. VL_EDENIED if
 * the file is a symlink, not regular or too open, VL_ETOOBIG past 64 KiB,
 * VL_ENOTFOUND if neither is set. */
vl_err_t util_read_secret (const char *env_name, const char *file_path, char **out);

/* Zeroed memory for a big table looked up at random (a hash table, the
 * dedup ring): from 2 MiB on it is 2 MiB aligned and advised for
 * transparent huge pages, so lookups miss the TLB less. Caller frees it
 * with free(); NULL on OOM. */
void *util_table_calloc (size_t bytes);

/* Installs a daemon's or tool's signal handlers: STOP for SIGTERM and
 * SIGINT, HUP for SIGHUP (left as it is when NULL), and ignores SIGPIPE
 * (a closed socket or pipe is an error return, not a death). No
 * SA_RESTART: the signals interrupt a blocking call. */
void util_signals (void (*stop) (int), void (*hup) (int));

#endif
