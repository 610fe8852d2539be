// The system libsqlite3 (3.37 or later: STRICT tables), for FissionSQLite. Named CFissionSQLite, not
// CSQLite: target names must be unique across a package graph, and Benchmarks/ has a CSQLite.
#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro casting -1 to a destructor pointer, which Swift cannot import.
static inline sqlite3_destructor_type fission_sqlite_transient(void) { return SQLITE_TRANSIENT; }

// sqlite3_db_config is variadic, which Swift cannot call. Turns triggers off for statements this
// connection prepares from now on (other connections keep them); SQLITE_OK once they are off.
static inline int fission_sqlite_disable_triggers(sqlite3 *database) {
    int enabled = -1;
    int result = sqlite3_db_config(database, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, &enabled);
    return result == SQLITE_OK && enabled == 0 ? SQLITE_OK : SQLITE_ERROR;
}

// Whether closing this connection, as the last one on its file, moves the WAL into the database
// file (SQLite's default) or leaves both files as they are; SQLITE_OK once set.
static inline int fission_sqlite_checkpoint_on_close(sqlite3 *database, int checkpoint) {
    int noCheckpoint = -1;
    int result = sqlite3_db_config(database, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, checkpoint ? 0 : 1, &noCheckpoint);
    return result == SQLITE_OK && noCheckpoint == (checkpoint ? 0 : 1) ? SQLITE_OK : SQLITE_ERROR;
}
