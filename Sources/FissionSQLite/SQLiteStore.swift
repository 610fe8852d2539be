import CFissionSQLite
public import FissionCore
import FissionRewards
public import FissionStorage
import Synchronization

/// A ``FissionStore`` in a SQLite file, on the system's libsqlite3: durable across crashes, and
/// readable with SQL.
///
/// The store keeps the whole ``FissionStore`` contract, and enforces its uniqueness rules in the
/// database itself with UNIQUE keys and a partial unique index, so a faulty writer (or a host's
/// own SQL) cannot grant a reward twice. Triggers refuse, on a host's connections, renumbering the
/// journal or changing or removing an entry or a transfer; the store's own connection runs
/// without them and refuses the same with an authorizer and its own checks, which costs far less
/// per row. Transfers are stored in columns (see `Documentation/Storage.md`), so a
/// host can query its ledger with SQL; reading them back gives exactly the transfers appended.
///
/// The connection runs in WAL mode with `synchronous=FULL` unless ``Options/synchronous`` says
/// otherwise, takes the write lock up front for every write (`BEGIN IMMEDIATE`), waits up to
/// ``Options/busyTimeoutMilliseconds`` for another connection's lock, and prepares its statements
/// once. One store holds one connection behind a mutex: calls from several threads are safe and
/// run one at a time. Several stores (in this process or others) may open one file; their appends
/// are serialised by SQLite's lock and by the contract's optimistic concurrency.
///
/// Opening identifies the file before writing anything to it: a file that is not a SQLite
/// database, another application's database, or a Fission store from a newer version is refused
/// with a typed error and left as it was. An older Fission store is migrated to the current schema
/// in one transaction.
///
/// The library owns the file: do not open it with other code that might close a file descriptor
/// on it (that drops SQLite's locks), and do not put it on a network file system.
public final class SQLiteStore: FissionStore {
    /// How the store opens its connection.
    public struct Options: Hashable, Sendable {
        /// When SQLite waits for the disk.
        public enum Synchronous: Hashable, Sendable {
            /// `synchronous=FULL`: a commit has reached the disk when `append` returns, so it
            /// survives a crash of the process and a loss of power. The default.
            case full
            /// `synchronous=NORMAL`: faster commits that survive a crash of the process, but the
            /// last commits before a power loss or an operating-system crash may roll back.
            /// Choose it only where losing acknowledged commands is acceptable.
            case normal
        }

        /// When SQLite waits for the disk; ``Synchronous/full`` unless the host opts out.
        public var synchronous: Synchronous
        /// How long a write waits for another connection's lock before failing with
        /// ``FissionError/Code/storeBusy``, in milliseconds (0 fails at once).
        public var busyTimeoutMilliseconds: Int32
        /// The connection's page cache, in KiB (`PRAGMA cache_size = -N`); `nil` keeps SQLite's
        /// default (2,048 KiB in its standard build).
        ///
        /// A bigger cache helps a large store whose idempotency keys arrive in no order (random
        /// ids): each append then touches pages all over the key index.
        public var cacheSizeKibibytes: Int?

        /// Creates options.
        ///
        /// - Parameters:
        ///   - synchronous: When SQLite waits for the disk; `.full` by default.
        ///   - busyTimeoutMilliseconds: How long to wait for a lock; 5,000 by default.
        ///   - cacheSizeKibibytes: The page cache in KiB, 1 or more; `nil` (the default) keeps
        ///     SQLite's.
        public init(
            synchronous: Synchronous = .full,
            busyTimeoutMilliseconds: Int32 = 5_000,
            cacheSizeKibibytes: Int? = nil
        ) {
            self.synchronous = synchronous
            self.busyTimeoutMilliseconds = max(busyTimeoutMilliseconds, 0)
            self.cacheSizeKibibytes = cacheSizeKibibytes.map { max($0, 1) }
        }
    }

    /// The schema version this version of Fission writes (`PRAGMA user_version`).
    public static var schemaVersion: Int32 { SQLiteSchema.currentVersion }

    /// The oldest SQLite this store runs on: 3.37.0, the first with STRICT tables.
    public static var minimumSQLiteVersion: Int32 { 3_037_000 }

    /// The file's path, as given.
    public let path: String
    /// The options the store was opened with.
    public let options: Options
    /// The most entries one read returns: 10,000.
    public var maximumPageSize: Int { 10_000 }

    private let connection: Mutex<StoreConnection?>

    /// Opens the store in the file at `path`, creating it if there is none.
    ///
    /// - Parameters:
    ///   - path: The database file. Its folder must exist; SQLite adds `-wal` and `-shm` files
    ///     next to it.
    ///   - options: Durability and lock waiting; the defaults are the safe ones.
    /// - Throws: ``FissionError/Code/corruptStore`` for a file that is not a database or is
    ///   damaged; ``FissionError/Code/notAFissionStore`` for another application's database;
    ///   ``FissionError/Code/newerSchema`` for a store from a newer Fission;
    ///   ``FissionError/Code/storeBusy`` if another connection holds the lock while the schema is
    ///   created or migrated; ``FissionError/Code/storeIOError`` if the file cannot be opened;
    ///   ``FissionError/Code/storeFailure`` if the system SQLite is older than 3.37.
    public convenience init(path: String, options: Options = Options()) throws(FissionError) {
        try self.init(path: path, options: options, migrations: SQLiteSchema.migrations)
    }

    /// Opens the store with another schema history (for testing migrations), with snapshots cut
    /// into smaller parts than ``SQLiteSchema/snapshotPartBytes``, or with a lower limit than
    /// SQLite's on the bytes of one value (`sqlite3_limit(SQLITE_LIMIT_LENGTH)`): for testing
    /// snapshot parts and values too big to store.
    package init(
        path: String,
        options: Options,
        migrations: [SchemaMigration],
        snapshotPartBytes: Int = SQLiteSchema.snapshotPartBytes,
        maximumValueBytes: Int32? = nil
    ) throws(FissionError) {
        self.path = path
        self.options = options
        self.connection = Mutex(
            try StoreConnection(
                path: path,
                options: options,
                migrations: migrations,
                snapshotPartBytes: snapshotPartBytes,
                maximumValueBytes: maximumValueBytes
            )
        )
    }

    /// Closes the connection. Later calls throw ``FissionError/Code/storeClosed``; closing twice
    /// does nothing.
    public func close() {
        let closing = self.connection.withLock { connection in
            defer { connection = nil }
            return connection
        }
        _ = closing
    }

    /// Runs SQLite's `PRAGMA integrity_check`: every page, index and constraint of the file.
    ///
    /// - Returns: `["ok"]` for a sound file, otherwise SQLite's description of each problem.
    /// - Complexity: O(size of the file).
    public func integrityCheck() throws(FissionError) -> [String] {
        try self.connection.withLock { (connection) throws(FissionError) in
            let connection = try Self.open(connection, path: self.path)
            return try connection.connection.column("PRAGMA integrity_check", doing: "checking the file's integrity")
                + connection.connection.column("PRAGMA foreign_key_check", doing: "checking foreign keys")
        }
    }

    /// Runs one SQL statement on the store's own connection and returns its rows' first column
    /// as text: for tests that read or set a pragma on this very connection (a size limit, say).
    package func query(_ sql: String) throws(FissionError) -> [String] {
        try self.connection.withLock { (connection) throws(FissionError) in
            let connection = try Self.open(connection, path: self.path)
            return try connection.connection.column(sql, doing: "running \(sql)")
        }
    }

    // MARK: - FissionStore

    /// Appends entries atomically in one `BEGIN IMMEDIATE` transaction; see
    /// ``FissionStore/append(_:expectingLastSequence:)``.
    ///
    /// - Throws: The contract's errors; ``FissionError/Code/storeBusy``,
    ///   ``FissionError/Code/storeFull``, ``FissionError/Code/storeIOError`` or
    ///   ``FissionError/Code/corruptStore`` when SQLite fails. Nothing is written when it throws,
    ///   except that a failure of the commit itself (an I/O error, not a full disk) leaves the
    ///   outcome unknown, and its reason says so: the entries may be there after a restart.
    public func append(_ entries: [JournalEntry], expectingLastSequence: Int64) throws(FissionError) {
        try self.connection.withLock { (connection) throws(FissionError) in
            let connection = try Self.open(connection, path: self.path)
            return try connection.append(entries, expectingLastSequence: expectingLastSequence)
        }
    }

    /// The sequence of the journal's last entry, 0 when it is empty.
    public func lastSequence() throws(FissionError) -> Int64 {
        try self.connection.withLock { (connection) throws(FissionError) in
            let connection = try Self.open(connection, path: self.path)
            return try connection.lastSequence()
        }
    }

    /// The entry with this idempotency key, with its transfers, or `nil`.
    public func entry(forKey key: EventID) throws(FissionError) -> JournalEntry? {
        try self.connection.withLock { (connection) throws(FissionError) in
            let connection = try Self.open(connection, path: self.path)
            return try connection.entry(forKey: key)
        }
    }

    /// The entries with these keys, in order, `nil` for a key not in the journal: one read
    /// transaction for all of them, where each lookup on its own opens and closes one.
    public func entries(forKeys keys: [EventID]) throws(FissionError) -> [JournalEntry?] {
        try self.connection.withLock { (connection) throws(FissionError) in
            let connection = try Self.open(connection, path: self.path)
            return try connection.entries(forKeys: keys)
        }
    }

    /// Entries in journal order, starting after `sequence`, with their transfers.
    ///
    /// - Throws: ``FissionError/Code/invalidPageSize`` for a `limit` outside 1...``maximumPageSize``.
    public func entries(after sequence: Int64, limit: Int) throws(FissionError) -> [JournalEntry] {
        guard (1...self.maximumPageSize).contains(limit) else {
            throw FissionError(code: .invalidPageSize, reason: "limit \(limit) is outside 1...\(self.maximumPageSize)")
        }
        return try self.connection.withLock { (connection) throws(FissionError) in
            let connection = try Self.open(connection, path: self.path)
            return try connection.entries(after: sequence, limit: limit)
        }
    }

    /// Keeps the snapshot if no later one is kept, and drops the older ones.
    ///
    /// - Throws: ``FissionError/Code/invalidJournal`` for a sequence outside 0...``lastSequence()``.
    public func saveSnapshot(_ snapshot: StoreSnapshot) throws(FissionError) {
        try self.connection.withLock { (connection) throws(FissionError) in
            let connection = try Self.open(connection, path: self.path)
            return try connection.saveSnapshot(snapshot)
        }
    }

    /// The snapshot with the highest sequence, or `nil`.
    public func latestSnapshot() throws(FissionError) -> StoreSnapshot? {
        try self.connection.withLock { (connection) throws(FissionError) in
            let connection = try Self.open(connection, path: self.path)
            return try connection.latestSnapshot()
        }
    }

    /// The open connection, or ``FissionError/Code/storeClosed``.
    ///
    /// Every call runs inside `self.connection.withLock`, written out at each call site: handing
    /// the connection to a closure from outside the lock would let it escape the mutex's region.
    private static func open(_ connection: StoreConnection?, path: String) throws(FissionError) -> StoreConnection {
        guard let connection else { throw FissionError(code: .storeClosed, reason: "the store at \(path) was closed") }
        return connection
    }
}

/// The connection and its prepared statements: everything that touches SQLite.
final class StoreConnection {
    let connection: Connection
    private let beginWrite: Statement
    private let beginRead: Statement
    private let commit: Statement
    private let rollback: Statement
    private let lastSequenceStatement: Statement
    private let lastTransfer: Statement
    private let insertEntry: Statement
    private let insertEntryChunk: Statement
    private let insertTransfer: Statement
    private let insertTransferChunk: Statement
    private let entryForKey: Statement
    private let entriesAfter: Statement
    private let transfersOfEntries: Statement
    /// The snapshot statements, prepared on the first snapshot call: a store opened with an
    /// older schema history (to test migrations) has no `snapshot_parts` table to prepare them on.
    private var preparedSnapshotStatements: SnapshotStatements?
    /// The most bytes of a snapshot in one value (``SQLiteSchema/snapshotPartBytes``).
    private let snapshotPartBytes: Int

    private struct SnapshotStatements {
        let latestSequence: Statement
        let latest: Statement
        let parts: Statement
        let insert: Statement
        let insertPart: Statement
        let pruneParts: Statement
        let prune: Statement

        init(database: OpaquePointer) throws(FissionError) {
            self.latestSequence = try Statement(SQLiteSchema.latestSnapshotSequence, database: database)
            self.latest = try Statement(SQLiteSchema.latestSnapshot, database: database)
            self.parts = try Statement(SQLiteSchema.snapshotParts, database: database)
            self.insert = try Statement(SQLiteSchema.insertSnapshot, database: database)
            self.insertPart = try Statement(SQLiteSchema.insertSnapshotPart, database: database)
            self.pruneParts = try Statement(SQLiteSchema.pruneSnapshotParts, database: database)
            self.prune = try Statement(SQLiteSchema.pruneSnapshots, database: database)
        }
    }

    private func snapshotStatements() throws(FissionError) -> SnapshotStatements {
        if let prepared = self.preparedSnapshotStatements { return prepared }
        let prepared = try SnapshotStatements(database: self.connection.database)
        self.preparedSnapshotStatements = prepared
        return prepared
    }

    init(
        path: String,
        options: SQLiteStore.Options,
        migrations: [SchemaMigration],
        snapshotPartBytes: Int,
        maximumValueBytes: Int32?
    ) throws(FissionError) {
        precondition(snapshotPartBytes > 0, "a snapshot part holds at least one byte")
        guard sqlite3_libversion_number() >= SQLiteStore.minimumSQLiteVersion else {
            throw FissionError(
                code: .storeFailure,
                reason:
                    "the system SQLite is \(String(cString: sqlite3_libversion())); 3.37.0 or later is needed (STRICT tables)"
            )
        }
        guard sqlite3_threadsafe() != 0 else {
            throw FissionError(code: .storeFailure, reason: "the system SQLite was built without thread safety")
        }
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let connection = try Connection(path: path, flags: flags)
        sqlite3_busy_timeout(connection.database, options.busyTimeoutMilliseconds)
        if let maximumValueBytes { sqlite3_limit(connection.database, SQLITE_LIMIT_LENGTH, maximumValueBytes) }
        try Self.prepareSchema(connection, path: path, options: options, migrations: migrations)
        try Self.guardLedger(connection, path: path)
        let database = connection.database
        self.connection = connection
        self.beginWrite = try Statement(SQLiteSchema.beginWrite, database: database)
        self.beginRead = try Statement(SQLiteSchema.beginRead, database: database)
        self.commit = try Statement(SQLiteSchema.commit, database: database)
        self.rollback = try Statement(SQLiteSchema.rollback, database: database)
        self.lastSequenceStatement = try Statement(SQLiteSchema.lastSequence, database: database)
        self.lastTransfer = try Statement(SQLiteSchema.lastTransfer, database: database)
        self.insertEntry = try Statement(SQLiteSchema.insertEntry, database: database)
        self.insertEntryChunk = try Statement(SQLiteSchema.insertEntryChunk, database: database)
        self.insertTransfer = try Statement(SQLiteSchema.insertTransfer, database: database)
        self.insertTransferChunk = try Statement(SQLiteSchema.insertTransferChunk, database: database)
        self.entryForKey = try Statement(SQLiteSchema.entryForKey, database: database)
        self.entriesAfter = try Statement(SQLiteSchema.entriesAfter, database: database)
        self.transfersOfEntries = try Statement(SQLiteSchema.transfersOfEntries, database: database)
        self.snapshotPartBytes = snapshotPartBytes
    }

    // MARK: Opening

    /// Identifies the file, then sets the connection up and creates or migrates the schema.
    ///
    /// Nothing is written before the file is known to be empty or a Fission store of a version
    /// this code knows: switching to WAL alone would rewrite another application's file header.
    private static func prepareSchema(
        _ connection: Connection,
        path: String,
        options: SQLiteStore.Options,
        migrations: [SchemaMigration]
    ) throws(FissionError) {
        precondition(
            migrations.map(\.version) == Array(1...Int32(migrations.count)),
            "schema migrations are numbered 1, 2, ... without gaps"
        )
        let current = migrations.last?.version ?? 0
        let what = "opening \(path)"
        // Until the file is known, closing the connection must not move a WAL left beside another
        // application's database (or a newer store) into its file: a refused file stays as it was.
        guard fission_sqlite_checkpoint_on_close(connection.database, 0) == SQLITE_OK else {
            throw FissionError(code: .storeFailure, reason: "\(what): SQLite refused to keep the WAL on close")
        }
        let identity = try Self.identity(connection, doing: what)
        try Self.check(identity, current: current, path: path)
        guard fission_sqlite_checkpoint_on_close(connection.database, 1) == SQLITE_OK else {
            throw FissionError(code: .storeFailure, reason: "\(what): SQLite refused to checkpoint on close")
        }
        try connection.execute("PRAGMA foreign_keys = ON", doing: "\(what): enabling foreign keys")
        let mode = try connection.column("PRAGMA journal_mode = WAL", doing: "\(what): switching to WAL").first
        guard mode == "wal" else {
            throw FissionError(
                code: .storeIOError,
                reason:
                    "\(what): SQLite could not use WAL (journal mode is \(mode ?? "unknown")); is it a network file system?"
            )
        }
        let synchronous = options.synchronous == .full ? "FULL" : "NORMAL"
        try connection.execute("PRAGMA synchronous = \(synchronous)", doing: "\(what): setting synchronous")
        if let kibibytes = options.cacheSizeKibibytes {
            try connection.execute("PRAGMA cache_size = -\(kibibytes)", doing: "\(what): setting the cache size")
        }
        guard identity.version != current else {
            try Self.requireTables(connection, path: path, version: identity.version)
            return
        }
        try connection.execute(SQLiteSchema.beginWrite, doing: "\(what): locking to migrate")
        do {
            // Another process may have created or migrated the schema since the first look.
            let locked = try Self.identity(connection, doing: what)
            try Self.check(locked, current: current, path: path)
            for migration in migrations where migration.version > locked.version {
                for statement in migration.statements {
                    try connection.execute(
                        statement,
                        doing:
                            "\(what): migrating the schema from version \(migration.version - 1) to \(migration.version)"
                    )
                }
            }
            try connection.execute(
                "PRAGMA application_id = \(SQLiteSchema.applicationID); PRAGMA user_version = \(current)",
                doing: "\(what): recording schema version \(current)"
            )
            try connection.execute(SQLiteSchema.commit, doing: "\(what): committing the schema")
        } catch {
            if connection.isInTransaction { try? connection.execute(SQLiteSchema.rollback, doing: "rolling back") }
            throw error
        }
    }

    /// Refuses a file marked as a Fission store of the current version that lacks a table every
    /// version has: damage (or a hand-made file), not a store to prepare statements on.
    private static func requireTables(_ connection: Connection, path: String, version: Int32) throws(FissionError) {
        let present = Set(
            try connection.column(
                "SELECT name FROM sqlite_schema WHERE type = 'table'",
                doing: "opening \(path): reading its tables"
            )
        )
        for table in ["journal", "transfers", "snapshots"] where !present.contains(table) {
            throw FissionError(
                code: .corruptStore,
                reason: "\(path) is marked as a Fission store of schema version \(version) but has no \(table) table"
            )
        }
    }

    /// Turns this connection's triggers off and has it refuse, when a statement is prepared, any
    /// UPDATE or DELETE of journal or transfer rows.
    ///
    /// The schema's triggers refuse such changes and gaps on every connection a host opens, but a
    /// trigger makes each insert a program of its own that also keeps an undo journal for the
    /// statement: they were a quarter of an append's instructions. On this connection the same
    /// rules hold without them: the authorizer refuses UPDATE and DELETE of ledger rows before a
    /// statement can run, and ``append(_:expectingLastSequence:)`` checks every sequence and id
    /// before writing and reads back the journal's and the ledger's ends before committing.
    private static func guardLedger(_ connection: Connection, path: String) throws(FissionError) {
        let authorizer = sqlite3_set_authorizer(connection.database, refuseLedgerChanges, nil)
        let triggers = fission_sqlite_disable_triggers(connection.database)
        guard authorizer == SQLITE_OK, triggers == SQLITE_OK else {
            throw FissionError(
                code: .storeFailure,
                reason:
                    "opening \(path): SQLite refused to guard the ledger (authorizer \(authorizer), triggers \(triggers))"
            )
        }
    }

    private struct Identity {
        let applicationID: Int64
        let version: Int32
        let objects: Int64
    }

    private static func identity(_ connection: Connection, doing what: String) throws(FissionError) -> Identity {
        let applicationID = try connection.integer("PRAGMA application_id", doing: "\(what): reading its header")
        let version = try connection.integer("PRAGMA user_version", doing: "\(what): reading its header")
        let objects = try connection.integer("SELECT count(*) FROM sqlite_schema", doing: "\(what): reading its schema")
        return Identity(applicationID: applicationID, version: Int32(truncatingIfNeeded: version), objects: objects)
    }

    private static func check(_ identity: Identity, current: Int32, path: String) throws(FissionError) {
        let isEmpty = identity.applicationID == 0 && identity.version == 0 && identity.objects == 0
        guard isEmpty || identity.applicationID == Int64(SQLiteSchema.applicationID) else {
            throw FissionError(
                code: .notAFissionStore,
                reason: "\(path) is another application's SQLite database (application_id \(identity.applicationID), "
                    + "user_version \(identity.version), \(identity.objects) schema objects); it was left as it was"
            )
        }
        // A store records its application id and schema version in the transaction that creates
        // its tables: marked as ours without a version of 1 or more, the file is damaged.
        guard isEmpty || identity.version >= 1 else {
            throw FissionError(
                code: .corruptStore,
                reason: "\(path) is marked as a Fission store but its schema version is \(identity.version)"
            )
        }
        guard identity.version <= current else {
            throw FissionError(
                code: .newerSchema,
                reason: "\(path) has schema version \(identity.version); this Fission knows up to \(current). "
                    + "Open it with a newer Fission; it was left as it was"
            )
        }
    }

    // MARK: Writing

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction, committing if it returns and rolling back
    /// if anything throws, the commit included.
    ///
    /// A failure of the commit itself other than a full disk leaves its outcome unknown: SQLite may
    /// have written and synced the transaction's last frame to the WAL before the step that failed
    /// (growing the shared-memory index, say), and a restart then finds it committed. The error
    /// says so; the engine reads the store back after any failed append, and a host resubmits the
    /// same keys (Storage.md, "Errors").
    private func write(_ what: String, _ body: () throws(FissionError) -> Void) throws(FissionError) {
        try self.run(self.beginWrite, doing: "\(what): taking the write lock")
        do {
            try body()
        } catch {
            self.rollBackIfOpen()
            throw error
        }
        do {
            try self.run(self.commit, doing: "\(what): committing")
        } catch {
            self.rollBackIfOpen()
            guard error.code != .storeFull, error.code != .storeBusy else { throw error }
            throw FissionError(
                code: error.code,
                reason: "\(error.reason); the commit may have reached the disk and may show only after a restart: "
                    + "treat the outcome as unknown and submit the same keys again, never others in their place"
            )
        }
    }

    private func run(_ statement: Statement, doing what: @autoclosure () -> String) throws(FissionError) {
        defer { statement.reset() }
        _ = try statement.step(doing: what())
    }

    func append(_ entries: [JournalEntry], expectingLastSequence: Int64) throws(FissionError) {
        guard !entries.isEmpty else {
            try self.checkLast(try self.lastSequence(), expecting: expectingLastSequence)
            return
        }
        try self.write("appending \(entries.count) entries after \(expectingLastSequence)") { () throws(FissionError) in
            let last = try self.lastSequence()
            try self.checkLast(last, expecting: expectingLastSequence)
            // Every sequence and transfer id is checked before the first row is written.
            // Each entry's transfers, rebuilt once from the entry's binary form (each access to
            // `JournalEntry.transfers` rebuilds them).
            var transfers: [(entry: Int64, transfer: Transfer)] = []
            var nextTransfer: Int64?
            for (offset, entry) in entries.enumerated() {
                let expected = last + Int64(offset) + 1
                guard entry.sequence == expected else {
                    throw FissionError(
                        code: .invalidJournal,
                        reason: "entry \(entry.sequence) where \(expected) was next"
                    )
                }
                for transfer in entry.transfers {
                    let next: Int64
                    if let known = nextTransfer {
                        next = known
                    } else {
                        next = try self.integer(self.lastTransfer, doing: "reading the last transfer") + 1
                    }
                    try self.check(transfer, next: next, entry: entry.sequence)
                    transfers.append((entry.sequence, transfer))
                    nextTransfer = next + 1
                }
            }
            try self.insertRows(
                entries.count,
                chunk: self.insertEntryChunk,
                single: self.insertEntry,
                doing: "inserting entries",
                bind: { (row, statement, slot) throws(FissionError) in
                    try Self.bind(entries[row], to: statement, row: slot)
                },
                failure: { row, result, message in self.entryFailure(entries[row], result, message) }
            )
            try self.insertRows(
                transfers.count,
                chunk: self.insertTransferChunk,
                single: self.insertTransfer,
                doing: "inserting transfers",
                bind: { row, statement, slot in
                    TransferColumns.bind(transfers[row].transfer, entry: transfers[row].entry, to: statement, row: slot)
                },
                failure: { row, result, message in self.transferFailure(transfers[row].transfer, result, message) }
            )
            try self.checkEnds(last: last + Int64(entries.count), lastTransfer: nextTransfer.map { $0 - 1 })
        }
    }

    /// Inserts rows `0..<count`, ``SQLiteSchema/rowsPerInsert`` to a statement and the rest one
    /// at a time; `bind(row, statement, slot)` binds row `row` to the statement's row `slot`.
    ///
    /// When a multi-row statement breaks a constraint, SQLite undoes that statement alone and the
    /// transaction goes on: its rows are then inserted one at a time, so that `failure` describes
    /// the very row that broke it. The caller rolls the transaction back.
    private func insertRows(
        _ count: Int,
        chunk: Statement,
        single: Statement,
        doing what: String,
        bind: (_ row: Int, _ statement: Statement, _ slot: Int32) throws(FissionError) -> Void,
        failure: (_ row: Int, _ result: Int32, _ message: String) -> FissionError
    ) throws(FissionError) {
        let perChunk = SQLiteSchema.rowsPerInsert
        var row = 0
        while count - row >= perChunk {
            // A bind that fails resets the statement, dropping the slots bound before it.
            for slot in 0..<perChunk { try bind(row + slot, chunk, Int32(slot)) }
            let result = chunk.stepCode()
            guard result == SQLITE_DONE else {
                let error = storeError(
                    result,
                    self.connection.database,
                    doing: "\(what) \(row)...\(row + perChunk - 1)"
                )
                chunk.reset()
                guard result & 0xFF == SQLITE_CONSTRAINT else { throw error }
                for slot in 0..<perChunk {
                    try self.insertRow(row + slot, single, bind: bind, failure: failure)
                }
                throw error
            }
            chunk.reset()
            row += perChunk
        }
        while row < count {
            try self.insertRow(row, single, bind: bind, failure: failure)
            row += 1
        }
    }

    private func insertRow(
        _ row: Int,
        _ statement: Statement,
        bind: (_ row: Int, _ statement: Statement, _ slot: Int32) throws(FissionError) -> Void,
        failure: (_ row: Int, _ result: Int32, _ message: String) -> FissionError
    ) throws(FissionError) {
        defer { statement.reset() }
        try bind(row, statement, 0)
        let result = statement.stepCode()
        guard result == SQLITE_DONE else {
            throw failure(row, result, String(cString: sqlite3_errmsg(self.connection.database)))
        }
    }

    /// Reads the journal's and the ledger's last rows back before the commit: the rows just
    /// written must end them exactly where the checks said. With the primary keys, which refuse
    /// a sequence or an id already stored, and `CHECK (... > 0)`, this is the schema's gap rule
    /// for this connection, whose triggers are off.
    private func checkEnds(last: Int64, lastTransfer: Int64?) throws(FissionError) {
        let end = try self.lastSequence()
        guard end == last else {
            throw FissionError(code: .invalidJournal, reason: "the journal would end at \(end), not at \(last)")
        }
        guard let lastTransfer else { return }
        let transferEnd = try self.integer(self.lastTransfer, doing: "reading the last transfer")
        guard transferEnd == lastTransfer else {
            throw FissionError(
                code: .invalidJournal,
                reason: "the ledger would end at transfer #\(transferEnd), not at #\(lastTransfer)"
            )
        }
    }

    private func checkLast(_ last: Int64, expecting: Int64) throws(FissionError) {
        guard last == expecting else {
            throw FissionError(
                code: .storeConflict,
                reason: "the journal ends at \(last), not at \(expecting): another writer appended"
            )
        }
    }

    private func check(_ transfer: Transfer, next: Int64, entry: Int64) throws(FissionError) {
        guard transfer.id.rawValue == next else {
            throw FissionError(
                code: transfer.id.rawValue < next ? .duplicateTransfer : .invalidJournal,
                reason: "entry \(entry): transfer \(transfer.id) where #\(next) was next"
            )
        }
        guard transfer.debit.unit == transfer.credit.unit else {
            throw FissionError(
                code: .invalidJournal,
                reason:
                    "entry \(entry): transfer \(transfer.id) debits \(transfer.debit) but credits \(transfer.credit); "
                    + "a transfer moves one unit"
            )
        }
        guard transfer.amount > 0 else {
            throw FissionError(
                code: .invalidJournal,
                reason: "entry \(entry): transfer \(transfer.id) moves \(transfer.amount)"
            )
        }
    }

    /// Binds `entry` to the parameters of row `row` of an insert made by
    /// ``SQLiteSchema/insertEntries(rows:)``.
    private static func bind(_ entry: JournalEntry, to statement: Statement, row: Int32) throws(FissionError) {
        let base = row * SQLiteSchema.entryParameters
        statement.bind(base + 1, entry.sequence)
        statement.bind(base + 2, identifier: entry.idempotencyKey)
        statement.bind(base + 3, Int64(bitPattern: entry.payloadDigest))
        try entry.withCommandBytes { (bytes) throws(FissionError) in
            try statement.bind(base + 4, blob: bytes, doing: "storing entry \(entry.sequence)'s command")
        }
        try entry.withOutcomeBytes { (bytes) throws(FissionError) in
            try statement.bind(base + 5, blob: bytes, doing: "storing entry \(entry.sequence)'s outcome")
        }
    }

    /// The contract's error for SQLite's refusal of `entry`.
    private func entryFailure(_ entry: JournalEntry, _ result: Int32, _ message: String) -> FissionError {
        switch result {
        case ConstraintCode.unique, ConstraintCode.primaryKey:
            FissionError(
                code: .duplicateIdempotencyKey,
                reason: "idempotency key \(entry.idempotencyKey) is already in the journal (SQLite: \(message))"
            )
        case ConstraintCode.trigger, ConstraintCode.check, ConstraintCode.notNull:
            FissionError(
                code: .invalidJournal,
                reason: "entry \(entry.sequence) refused by the schema (SQLite: \(message))"
            )
        default:
            storeError(result, self.connection.database, doing: "inserting entry \(entry.sequence)")
        }
    }

    /// The contract's error for SQLite's refusal of `transfer`.
    private func transferFailure(_ transfer: Transfer, _ result: Int32, _ message: String) -> FissionError {
        switch result {
        case ConstraintCode.primaryKey:
            FissionError(
                code: .duplicateTransfer,
                reason: "transfer \(transfer.id) is already stored (SQLite: \(message))"
            )
        case ConstraintCode.unique where message.contains("credit_owner"):
            FissionError(
                code: .duplicateTransfer,
                reason: "transfer \(transfer.id) would be a second withdrawal or write-off of command "
                    + "\(transfer.reason.command) (SQLite: \(message))"
            )
        case ConstraintCode.unique where message.contains("resolves"):
            FissionError(
                code: .duplicateTransfer,
                reason: "transfer \(transfer.id) posts pending transfer \(Self.resolved(transfer)), "
                    + "which was posted already (SQLite: \(message))"
            )
        case ConstraintCode.unique:
            FissionError(
                code: .duplicateTransfer,
                reason:
                    "transfer \(transfer.id)'s key \(transfer.key?.description ?? "-") is already stored (SQLite: \(message))"
            )
        case ConstraintCode.foreignKey:
            FissionError(
                code: .invalidJournal,
                reason:
                    "transfer \(transfer.id) resolves \(Self.resolved(transfer)), which is not stored (SQLite: \(message))"
            )
        case ConstraintCode.trigger, ConstraintCode.check, ConstraintCode.notNull:
            FissionError(
                code: .invalidJournal,
                reason: "transfer \(transfer.id) refused by the schema (SQLite: \(message))"
            )
        default:
            storeError(result, self.connection.database, doing: "inserting transfer \(transfer.id)")
        }
    }

    private static func resolved(_ transfer: Transfer) -> String {
        switch transfer.kind {
        case .posted, .pending: "nothing"
        case .postPending(let id), .voidPending(let id), .reversal(let id): id.description
        }
    }

    func saveSnapshot(_ snapshot: StoreSnapshot) throws(FissionError) {
        try self.write("saving the snapshot at \(snapshot.sequence)") { () throws(FissionError) in
            let last = try self.lastSequence()
            guard (0...last).contains(snapshot.sequence) else {
                throw FissionError(
                    code: .invalidJournal,
                    reason: "snapshot at \(snapshot.sequence) is outside the journal (0...\(last))"
                )
            }
            let statements = try self.snapshotStatements()
            if let latest = try self.latestSnapshotSequence(statements), latest > snapshot.sequence { return }
            statements.pruneParts.bind(1, snapshot.sequence)
            try self.run(statements.pruneParts, doing: "dropping older snapshots' parts")
            statements.prune.bind(1, snapshot.sequence)
            try self.run(statements.prune, doing: "dropping older snapshots")
            // The first part in `snapshots`, the others in `snapshot_parts` (schema version 4).
            try snapshot.state.withUnsafeBufferPointer { (buffer) throws(FissionError) in
                let state = UnsafeRawBufferPointer(buffer)
                let size = self.snapshotPartBytes
                let what = "saving the snapshot at \(snapshot.sequence)"
                let parts = state.count <= size ? 0 : (state.count - 1) / size
                statements.insert.bind(1, snapshot.sequence)
                statements.insert.bind(3, Int64(parts))
                try statements.insert.bind(2, blob: UnsafeRawBufferPointer(rebasing: state.prefix(size)), doing: what)
                try self.run(statements.insert, doing: what)
                var part: Int64 = 1
                var start = size
                while start < state.count {
                    let bytes = UnsafeRawBufferPointer(rebasing: state[start..<min(start + size, state.count)])
                    statements.insertPart.bind(1, snapshot.sequence)
                    statements.insertPart.bind(2, part)
                    try statements.insertPart.bind(3, blob: bytes, doing: "\(what): part \(part)")
                    try self.run(statements.insertPart, doing: "\(what): part \(part)")
                    part += 1
                    start += size
                }
            }
        }
    }

    // MARK: Reading

    func lastSequence() throws(FissionError) -> Int64 {
        try self.integer(self.lastSequenceStatement, doing: "reading the last sequence")
    }

    private func integer(_ statement: Statement, doing what: @autoclosure () -> String) throws(FissionError) -> Int64 {
        defer { statement.reset() }
        guard try statement.step(doing: what()) else { return 0 }
        return statement.int64(0)
    }

    func entry(forKey key: EventID) throws(FissionError) -> JournalEntry? {
        let statement = self.entryForKey
        statement.bind(1, identifier: key)
        let header: EntryHeader?
        do {
            defer { statement.reset() }
            header = try statement.step(doing: "reading the entry for key \(key)") ? try Self.header(statement) : nil
        }
        guard let header else { return nil }
        return try self.withTransfers([header]).first
    }

    func entries(forKeys keys: [EventID]) throws(FissionError) -> [JournalEntry?] {
        guard keys.count > 1 else { return try keys.map { (key) throws(FissionError) in try self.entry(forKey: key) } }
        return try self.read("reading \(keys.count) keys") { () throws(FissionError) in
            var found: [JournalEntry?] = []
            found.reserveCapacity(keys.count)
            for key in keys { found.append(try self.entry(forKey: key)) }
            return found
        }
    }

    /// Ends the transaction a failed call left open, if any.
    private func rollBackIfOpen() {
        guard self.connection.isInTransaction else { return }
        _ = self.rollback.stepCode()
        self.rollback.reset()
    }

    /// Runs `body` in one read transaction (`BEGIN DEFERRED`), so everything it reads is of one
    /// version of the file; ends it whether `body` returns or throws.
    private func read<Value>(_ what: String, _ body: () throws(FissionError) -> Value) throws(FissionError) -> Value {
        try self.run(self.beginRead, doing: "\(what): starting a read")
        do {
            let value = try body()
            try self.run(self.commit, doing: "\(what): ending the read")
            return value
        } catch {
            self.rollBackIfOpen()
            throw error
        }
    }

    func entries(after sequence: Int64, limit: Int) throws(FissionError) -> [JournalEntry] {
        let statement = self.entriesAfter
        statement.bind(1, sequence)
        statement.bind(2, Int64(limit))
        var headers: [EntryHeader] = []
        do {
            defer { statement.reset() }
            while try statement.step(doing: "reading entries after \(sequence)") {
                headers.append(try Self.header(statement))
            }
        }
        return try self.withTransfers(headers)
    }

    func latestSnapshot() throws(FissionError) -> StoreSnapshot? {
        // One read transaction, so the parts are those of the snapshot just read.
        let statements = try self.snapshotStatements()
        return try self.read("reading the latest snapshot") { () throws(FissionError) in
            try self.readLatestSnapshot(statements)
        }
    }

    private func latestSnapshotSequence(_ statements: SnapshotStatements) throws(FissionError) -> Int64? {
        let statement = statements.latestSequence
        defer { statement.reset() }
        guard try statement.step(doing: "reading the latest snapshot's sequence"), !statement.isNull(0) else {
            return nil
        }
        return statement.int64(0)
    }

    private func readLatestSnapshot(_ statements: SnapshotStatements) throws(FissionError) -> StoreSnapshot? {
        var state: [UInt8]
        let sequence: Int64
        let partCount: Int64
        let storedParts: Int64
        let rest: Int64
        do {
            let statement = statements.latest
            defer { statement.reset() }
            guard try statement.step(doing: "reading the latest snapshot") else { return nil }
            sequence = statement.int64(0)
            state = statement.blob(1)
            partCount = statement.int64(2)
            storedParts = statement.int64(3)
            rest = statement.int64(4)
        }
        // The parts as saved, the last one included: a part too many or too few is not the snapshot.
        guard storedParts == partCount else {
            throw FissionError(
                code: .corruptStore,
                reason: "the snapshot at \(sequence) was saved in \(partCount + 1) parts; \(storedParts + 1) are stored"
            )
        }
        if partCount > 0 {
            state.reserveCapacity(state.count + Int(rest))
            let parts = statements.parts
            defer { parts.reset() }
            parts.bind(1, sequence)
            var expected: Int64 = 1
            while try parts.step(doing: "reading the snapshot at \(sequence): part \(expected)") {
                guard parts.int64(0) == expected else {
                    throw FissionError(
                        code: .corruptStore,
                        reason: "the snapshot at \(sequence) has part \(parts.int64(0)) where part \(expected) was next"
                    )
                }
                parts.appendBlob(1, to: &state)
                expected += 1
            }
        }
        return StoreSnapshot(sequence: sequence, state: state)
    }

    private struct EntryHeader {
        let sequence: Int64
        let key: EventID
        let digest: UInt64
        let command: [UInt8]
        let outcome: [UInt8]
    }

    private static func header(_ row: Statement) throws(FissionError) -> EntryHeader {
        guard let key = try row.identifier(1, EventID.self) else {
            throw FissionError(code: .corruptStore, reason: "entry \(row.int64(0)) has no idempotency key")
        }
        return EntryHeader(
            sequence: row.int64(0),
            key: key,
            digest: UInt64(bitPattern: row.int64(2)),
            command: row.blob(3),
            outcome: row.blob(4)
        )
    }

    /// Reads the transfers of consecutive entries in one query and joins them to their entries.
    private func withTransfers(_ headers: [EntryHeader]) throws(FissionError) -> [JournalEntry] {
        guard let first = headers.first, let last = headers.last else { return [] }
        let statement = self.transfersOfEntries
        statement.bind(1, first.sequence)
        statement.bind(2, last.sequence)
        defer { statement.reset() }
        var transfers: [(entry: Int64, transfer: Transfer)] = []
        while try statement.step(doing: "reading the transfers of entries \(first.sequence)...\(last.sequence)") {
            transfers.append(try TransferColumns.read(statement))
        }
        // The store writes each entry's transfers after the earlier entries', with ids that run
        // on, so in id order they run entry by entry without gaps; a row out of that order was
        // written by other SQL.
        var position = 0
        let entries = try headers.map { (header) throws(FissionError) in
            let start = position
            while position < transfers.count, transfers[position].entry == header.sequence {
                if position > start,
                    transfers[position].transfer.id.rawValue != transfers[position - 1].transfer.id.rawValue + 1
                {
                    throw FissionError(
                        code: .corruptStore,
                        reason: "entry \(header.sequence)'s transfers skip from \(transfers[position - 1].transfer.id) "
                            + "to \(transfers[position].transfer.id): they were not written by the store"
                    )
                }
                position += 1
            }
            return JournalEntry(
                sequence: header.sequence,
                idempotencyKey: header.key,
                payloadDigest: header.digest,
                command: header.command,
                outcome: header.outcome,
                transfers: transfers[start..<position].map(\.transfer)
            )
        }
        guard position == transfers.count else {
            throw FissionError(
                code: .corruptStore,
                reason: "transfer \(transfers[position].transfer.id) of entry \(transfers[position].entry) is stored "
                    + "after transfers of later entries: the journal's transfers were not written by the store"
            )
        }
        return entries
    }
}

/// The store connection's authorizer: refuses to prepare an UPDATE or a DELETE of journal or
/// transfer rows, and allows everything else (snapshot pruning deletes from `snapshots` and
/// `snapshot_parts`).
private func refuseLedgerChanges(
    _: UnsafeMutableRawPointer?,
    _ action: Int32,
    _ table: UnsafePointer<CChar>?,
    _: UnsafePointer<CChar>?,
    _: UnsafePointer<CChar>?,
    _: UnsafePointer<CChar>?
) -> Int32 {
    switch action {
    case SQLITE_UPDATE, SQLITE_DELETE:
        guard let table else { return SQLITE_OK }
        let ledger = sqlite3_stricmp(table, "journal") == 0 || sqlite3_stricmp(table, "transfers") == 0
        return ledger ? SQLITE_DENY : SQLITE_OK
    default:
        return SQLITE_OK
    }
}
