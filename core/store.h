/* store.h: SQLite helpers shared by the watcher state and the subscriber
 * cursors: open in WAL mode with sane pragmas, run statements, transactions. */
#ifndef VL_STORE_H
#define VL_STORE_H

#include <stdbool.h>
#include <sqlite3.h>
#include "vl_err.h"

/* Opens (creating) PATH in WAL mode, synchronous=NORMAL, busy_timeout 5 s,
 * foreign keys on, and runs SCHEMA (may be NULL). ONE_THREAD: the
 * connection is only ever used by one thread at a time, so SQLite takes no
 * mutex around its calls (SQLITE_OPEN_NOMUTEX); false serialises them.
 *
 * Why NORMAL: in WAL mode a committed transaction survives a crash or
 * kill -9 of the process (it is in the WAL, in the OS cache); only a power
 * loss or kernel crash can roll back the last transactions. For the
 * watcher that is safe: state and outbox roll back together, so the next
 * poll detects the same items again and the events carry the same ids
 * (the broker deduplicates them). For a subscriber it can repeat the last
 * deliveries (never lose them). FULL would cost one fsync per commit. Caller closes with
 * store_close. Logs and returns VL_EDB on failure. */
vl_err_t store_open (const char *path, const char *schema, bool one_thread, sqlite3 **db_out);

void store_close (sqlite3 **db_p);

/* Runs SQL (no results). Logs the SQLite error with SQL on failure.
 * VL_ENOSPC for SQLITE_FULL, VL_EIO for SQLITE_IOERR, VL_EDB otherwise. */
vl_err_t store_exec (sqlite3 *db, const char *sql);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
vl_err_t store_begin (sqlite3 *db);
vl_err_t store_commit (sqlite3 *db);
void     store_rollback (sqlite3 *db);

/* Maps an SQLite result code to vl_err_t (SQLITE_FULL -> VL_ENOSPC ...). */
vl_err_t store_err (int rc);

/* Prepares SQL or logs and returns NULL. Caller finalizes. */
sqlite3_stmt *store_prepare (sqlite3 *db, const char *sql);

#endif
