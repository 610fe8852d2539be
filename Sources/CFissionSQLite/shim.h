// The system libsqlite3 (3.37 or later: STRICT tables), for FissionSQLite. Named CFissionSQLite, not
// CSQLite: target names must be unique across a package graph, and Benchmarks/ has a CSQLite.
#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro casting -1 to a destructor pointer, which Swift cannot import.
static inline sqlite3_destructor_type fission_sqlite_transient(void) { return SQLITE_TRANSIENT; }
