import CFissionSQLite
import FissionCore

/// One prepared statement, prepared once and reset after every use.
final class Statement {
    let handle: OpaquePointer
    let database: OpaquePointer
    let sql: String

    init(_ sql: String, database: OpaquePointer) throws(FissionError) {
        var handle: OpaquePointer?
        let result = sqlite3_prepare_v3(database, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard result == SQLITE_OK, let handle else {
            throw storeError(result, database, doing: "preparing \(sql.prefix(60))")
        }
        self.handle = handle
        self.database = database
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(self.handle)
    }

    /// Clears the bindings and rewinds, ready for the next use.
    func reset() {
        sqlite3_reset(self.handle)
        sqlite3_clear_bindings(self.handle)
    }

    func bind(_ index: Int32, _ value: Int64) {
        sqlite3_bind_int64(self.handle, index, value)
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(self.handle, index, value) } else { sqlite3_bind_null(self.handle, index) }
    }

    func bind(_ index: Int32, _ text: String?) {
        guard let text else {
            sqlite3_bind_null(self.handle, index)
            return
        }
        var owned = text
        owned.withUTF8 { bytes in
            _ = bytes.withMemoryRebound(to: CChar.self) { characters in
                sqlite3_bind_text(
                    self.handle,
                    index,
                    characters.baseAddress,
                    Int32(characters.count),
                    fission_sqlite_transient()
                )
            }
        }
    }

    /// Binds one of the names the schema's CHECKs list (`"pending"`, `"wallet"` ...) as TEXT.
    /// SQLite reads it in place: a static string's bytes live as long as the program.
    func bind(_ index: Int32, name: StaticString) {
        sqlite3_bind_text(
            self.handle,
            index,
            UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self),
            Int32(name.utf8CodeUnitCount),
            nil
        )
    }

    /// Binds bytes as a BLOB; no bytes bind an empty BLOB, never NULL.
    ///
    /// - Throws: ``FissionError/Code/storeFailure`` for more bytes than SQLite stores in one value
    ///   (`SQLITE_MAX_LENGTH`, 1,000,000,000 bytes in its standard build), instead of the NULL
    ///   SQLite would bind then. The statement is reset first, dropping what was bound to it:
    ///   SQLite keeps a copy of each bound value until then.
    func bind(_ index: Int32, blob: UnsafeRawBufferPointer, doing what: @autoclosure () -> String) throws(FissionError)
    {
        let result: Int32
        if let base = blob.baseAddress, !blob.isEmpty {
            result = sqlite3_bind_blob64(
                self.handle,
                index,
                base,
                sqlite3_uint64(blob.count),
                fission_sqlite_transient()
            )
        } else {
            result = sqlite3_bind_zeroblob(self.handle, index, 0)
        }
        guard result == SQLITE_OK else {
            self.reset()
            let limit = sqlite3_limit(sqlite3_db_handle(self.handle), SQLITE_LIMIT_LENGTH, -1)
            throw FissionError(
                code: .storeFailure,
                reason: "\(what()): \(blob.count) bytes in one value; this SQLite stores at most \(limit) "
                    + "(SQLite \(result): \(String(cString: sqlite3_errstr(result))))"
            )
        }
    }

    /// Binds an identifier as what it is: an INTEGER for an integer id, TEXT for a string id.
    func bind<Kind>(_ index: Int32, identifier: Identifier<Kind>?) {
        switch identifier?.value {
        case nil: sqlite3_bind_null(self.handle, index)
        case .integer(let integer): sqlite3_bind_int64(self.handle, index, integer)
        case .string(let string): self.bind(index, string)
        }
    }

    /// Steps once: `true` for a row, `false` when done.
    func step(doing what: @autoclosure () -> String) throws(FissionError) -> Bool {
        let result = sqlite3_step(self.handle)
        switch result {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw storeError(result, self.database, doing: what())
        }
    }

    /// Steps once and returns the raw result code, for callers that map constraint failures.
    func stepCode() -> Int32 {
        sqlite3_step(self.handle)
    }

    func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(self.handle, column) == SQLITE_NULL
    }

    func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(self.handle, column)
    }

    func optionalInt64(_ column: Int32) -> Int64? {
        self.isNull(column) ? nil : self.int64(column)
    }

    func text(_ column: Int32) -> String? {
        guard let characters = sqlite3_column_text(self.handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(self.handle, column))
        return String(decoding: UnsafeBufferPointer(start: characters, count: count), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(self.handle, column))
        guard count > 0, let bytes = sqlite3_column_blob(self.handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// Appends a BLOB column's bytes to `bytes`, without an array of its own.
    func appendBlob(_ column: Int32, to bytes: inout [UInt8]) {
        let count = Int(sqlite3_column_bytes(self.handle, column))
        guard count > 0, let blob = sqlite3_column_blob(self.handle, column) else { return }
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: blob, count: count))
    }

    /// Reads an identifier stored by ``bind(_:identifier:)``, or `nil` for NULL.
    ///
    /// - Throws: ``FissionError/Code/corruptStore`` for a value that is neither an integer nor a
    ///   valid string id.
    func identifier<Kind>(
        _ column: Int32,
        _: Identifier<Kind>.Type = Identifier<Kind>.self
    ) throws(FissionError)
        -> Identifier<Kind>?
    {
        switch sqlite3_column_type(self.handle, column) {
        case SQLITE_NULL: return nil
        case SQLITE_INTEGER: return Identifier(self.int64(column))
        case SQLITE_TEXT:
            let string = self.text(column) ?? ""
            do {
                return try Identifier(string)
            } catch {
                throw FissionError(
                    code: .corruptStore,
                    reason: "column \(column) holds an invalid identifier: \(error.reason)"
                )
            }
        default:
            throw FissionError(
                code: .corruptStore,
                reason: "column \(column) holds neither an integer nor a text identifier"
            )
        }
    }
}

/// One open database connection. Not thread-safe: ``SQLiteStore`` keeps it behind a mutex.
final class Connection {
    let database: OpaquePointer

    init(path: String, flags: Int32) throws(FissionError) {
        var database: OpaquePointer?
        let result = sqlite3_open_v2(path, &database, flags, nil)
        guard result == SQLITE_OK, let database else {
            let error = storeError(result, database, doing: "opening \(path)")
            sqlite3_close_v2(database)
            throw error
        }
        self.database = database
    }

    deinit {
        // close_v2 waits for the statements still alive to be finalised, in any order.
        sqlite3_close_v2(self.database)
    }

    /// Runs SQL that returns no rows (one or more statements).
    func execute(_ sql: String, doing what: @autoclosure () -> String) throws(FissionError) {
        var message: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(self.database, sql, nil, nil, &message)
        sqlite3_free(message)
        guard result == SQLITE_OK else { throw storeError(result, self.database, doing: what()) }
    }

    /// Runs a one-off statement and returns every row's first column as text.
    func column(_ sql: String, doing what: @autoclosure () -> String) throws(FissionError) -> [String] {
        let statement = try Statement(sql, database: self.database)
        var values: [String] = []
        while try statement.step(doing: what()) {
            values.append(statement.text(0) ?? "")
        }
        return values
    }

    /// Runs a one-off statement and returns its first row's first column as an integer.
    func integer(_ sql: String, doing what: @autoclosure () -> String) throws(FissionError) -> Int64 {
        let statement = try Statement(sql, database: self.database)
        guard try statement.step(doing: what()) else { return 0 }
        return statement.int64(0)
    }

    /// Whether a transaction is open on this connection.
    var isInTransaction: Bool { sqlite3_get_autocommit(self.database) == 0 }
}
