import CFissionSQLite
public import FissionCore

extension FissionError.Code {
    /// Another connection holds the database's write lock for longer than the busy timeout.
    /// Nothing was written; try again later.
    public static let storeBusy = Self("storeBusy")
    /// The disk, or the database's size limit, is full. Nothing was written.
    public static let storeFull = Self("storeFull")
    /// The file is a SQLite database, but not a Fission store: another application's, or one
    /// with tables of its own. It was not changed.
    public static let notAFissionStore = Self("notAFissionStore")
    /// The store was written by a newer version of Fission, with a schema this version does not
    /// know. It was not changed.
    public static let newerSchema = Self("newerSchema")
    /// The file is not a database, or it is damaged: SQLite found a malformed page or header.
    public static let corruptStore = Self("corruptStore")
    /// The operating system refused a read, a write, an `fsync` or opening the file.
    public static let storeIOError = Self("storeIOError")
    /// The store was closed with `close()` and cannot be used any more.
    public static let storeClosed = Self("storeClosed")
    /// SQLite failed for another reason (its message says which), or the system SQLite is too old.
    public static let storeFailure = Self("storeFailure")
}

/// SQLite's extended result codes for constraint failures (macros Swift cannot import).
enum ConstraintCode {
    static let check: Int32 = 275
    static let foreignKey: Int32 = 787
    static let notNull: Int32 = 1_299
    static let primaryKey: Int32 = 1_555
    static let trigger: Int32 = 1_811
    static let unique: Int32 = 2_067
}

/// Turns a SQLite result code into a typed error whose reason says what was being done, what
/// the code means for the store, and SQLite's own message.
func storeError(_ result: Int32, _ database: OpaquePointer?, doing what: String) -> FissionError {
    let message: String
    if let database, sqlite3_errcode(database) == result {
        message = String(cString: sqlite3_errmsg(database))
    } else {
        message = String(cString: sqlite3_errstr(result))
    }
    let detail = "SQLite \(result): \(message)"
    switch result & 0xFF {
    case SQLITE_BUSY, SQLITE_LOCKED:
        return FissionError(
            code: .storeBusy,
            reason:
                "\(what): another connection holds the database locked past the busy timeout; nothing was written (\(detail))"
        )
    case SQLITE_FULL:
        return FissionError(
            code: .storeFull,
            reason: "\(what): the disk or the database's size limit is full; nothing was written (\(detail))"
        )
    case SQLITE_CORRUPT, SQLITE_NOTADB:
        return FissionError(
            code: .corruptStore,
            reason: "\(what): the file is not a database or is damaged (\(detail))"
        )
    case SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM, SQLITE_NOLFS, SQLITE_PROTOCOL:
        return FissionError(code: .storeIOError, reason: "\(what): the operating system refused the file (\(detail))")
    default:
        return FissionError(code: .storeFailure, reason: "\(what): \(detail)")
    }
}
