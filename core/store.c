/* store.c: SQLite helpers (WAL, pragmas, transactions, error mapping). */
#include <stddef.h>
#include "log.h"
#include "store.h"

vl_err_t
store_err (int rc)
{
    switch (rc & 0xFF) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:    return VL_OK;
    case SQLITE_FULL:   return VL_ENOSPC;
    case SQLITE_IOERR:  return VL_EIO;
    case SQLITE_NOMEM:  return VL_ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return VL_ECORRUPT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return VL_EAGAIN;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY: return VL_EDENIED;
    default:            return VL_EDB;
    }
}

vl_err_t
store_exec (sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec (db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        log_error ("sqlite: %s (in: %.80s)", msg ? msg : sqlite3_errstr (rc), sql);
        sqlite3_free (msg);
        return store_err (rc);
    }
    return VL_OK;
}

vl_err_t
store_open (const char *path, const char *schema, bool one_thread, sqlite3 **db_out)
{
    *db_out = NULL;
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2 (path, &db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                              | (one_thread ? SQLITE_OPEN_NOMUTEX : SQLITE_OPEN_FULLMUTEX),
                              NULL);
    if (rc != SQLITE_OK) {
        log_error ("sqlite: cannot open %s: %s", path,
                   db ? sqlite3_errmsg (db) : sqlite3_errstr (rc));
        sqlite3_close (db);
        return store_err (rc);
    }
    sqlite3_busy_timeout (db, 5000);
    vl_err_t err = store_exec (db, "PRAGMA journal_mode=WAL;"
                                   "PRAGMA synchronous=NORMAL;"
                                   "PRAGMA foreign_keys=ON;");
    if (err == VL_OK && schema)
        err = store_exec (db, schema);
    if (err) {
        sqlite3_close (db);
        return err;
    }
    *db_out = db;
    return VL_OK;
}

void
store_close (sqlite3 **db_p)
{
    if (db_p && *db_p) {
        sqlite3_close (*db_p);
        *db_p = NULL;
    }
}

vl_err_t
store_begin (sqlite3 *db)
{
    return store_exec (db, "BEGIN IMMEDIATE");
}

vl_err_t
store_commit (sqlite3 *db)
{
    return store_exec (db, "COMMIT");
}

void
store_rollback (sqlite3 *db)
{
    sqlite3_exec (db, "ROLLBACK", NULL, NULL, NULL);
}

sqlite3_stmt *
store_prepare (sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        log_error ("sqlite: prepare failed: %s (in: %.80s)", sqlite3_errmsg (db), sql);
        return NULL;
    }
    return stmt;
}
