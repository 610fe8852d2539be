import FissionCore
import FissionRewards
import FissionSQLite
import FissionStorage
import FissionStorageTesting
import Testing

@Suite("SQLiteStore faults, bad files and migrations")
struct SQLiteFaultTests {
    // MARK: Locks and a full disk

    @Test("another connection holding BEGIN IMMEDIATE: storeBusy after the timeout, nothing written, then it works")
    func busy() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("busy.sqlite")
        let journal = DeterministicJournal.entries(seed: 1, through: 6)
        let store = try SQLiteStore(path: path, options: .init(busyTimeoutMilliseconds: 30))
        try store.append(Array(journal[..<3]), expectingLastSequence: 0)
        let other = RawDatabase(path)
        #expect(other.execute("BEGIN IMMEDIATE") == nil)
        let error = #expect(throws: FissionError.self) {
            try store.append(Array(journal[3...]), expectingLastSequence: 3)
        }
        #expect(error?.code == .storeBusy)
        #expect(error?.reason.contains("database is locked") == true, "\(error?.reason ?? "")")
        #expect(throws: FissionError(code: .storeBusy)) {
            try store.saveSnapshot(StoreSnapshot(sequence: 3, state: [1]))
        }
        // Readers are not blocked in WAL mode, and they see nothing of the refused append.
        #expect(try store.lastSequence() == 3)
        #expect(try store.entries(after: 0, limit: 10) == Array(journal[..<3]))
        #expect(other.execute("ROLLBACK") == nil)
        try store.append(Array(journal[3...]), expectingLastSequence: 3)
        #expect(try store.entries(after: 0, limit: 10) == journal)
    }

    @Test("opening while another connection holds the lock on a new file: storeBusy, then it opens")
    func busyWhileCreating() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("creating.sqlite")
        let other = RawDatabase(path)
        #expect(other.execute("BEGIN IMMEDIATE") == nil)
        #expect(throws: FissionError(code: .storeBusy)) {
            try SQLiteStore(path: path, options: .init(busyTimeoutMilliseconds: 20))
        }
        #expect(other.execute("ROLLBACK") == nil)
        let store = try SQLiteStore(path: path)
        #expect(try store.lastSequence() == 0)
    }

    @Test("a full disk (max_page_count): storeFull, nothing written, and appends resume once there is room")
    func full() throws {
        let directory = TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("full.sqlite"))
        let journal = DeterministicJournal.entries(seed: 3, through: 40)
        try store.append(Array(journal[..<10]), expectingLastSequence: 0)
        let pages = try store.query("PRAGMA page_count").first ?? "0"
        _ = try store.query("PRAGMA max_page_count = \(pages)")
        let large = (11...40).map { sequence in
            let entry = journal[sequence - 1]
            return JournalEntry(
                sequence: entry.sequence,
                idempotencyKey: entry.idempotencyKey,
                payloadDigest: entry.payloadDigest,
                command: Array(repeating: UInt8(sequence), count: 8_192),
                outcome: entry.outcome,
                transfers: entry.transfers
            )
        }
        let error = #expect(throws: FissionError.self) { try store.append(large, expectingLastSequence: 10) }
        #expect(error?.code == .storeFull)
        #expect(error?.reason.contains("full") == true, "\(error?.reason ?? "")")
        #expect(throws: FissionError(code: .storeFull)) {
            try store.saveSnapshot(StoreSnapshot(sequence: 10, state: Array(repeating: 7, count: 200_000)))
        }
        #expect(try store.lastSequence() == 10)
        #expect(try store.entries(after: 0, limit: 100) == Array(journal[..<10]))
        #expect(try store.latestSnapshot() == nil)
        _ = try store.query("PRAGMA max_page_count = 1073741823")
        try store.append(large, expectingLastSequence: 10)
        #expect(try store.entries(after: 10, limit: 100) == large)
        #expect(try store.integrityCheck() == ["ok"])
    }

    // MARK: Files that are not ours

    @Test("a file of garbage bytes: corruptStore, and the file is left as it was")
    func garbage() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("garbage.sqlite")
        var generator = SeededGenerator(seed: 99)
        let garbage = (0..<8_192).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        writeFile(path, garbage)
        let error = #expect(throws: FissionError.self) { try SQLiteStore(path: path) }
        #expect(error?.code == .corruptStore)
        #expect(error?.reason.contains("not a database") == true, "\(error?.reason ?? "")")
        #expect(fileBytes(path) == garbage)
    }

    @Test("a store whose schema page is damaged: corruptStore at opening")
    func damagedSchema() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("damaged.sqlite")
        do {
            let store = try SQLiteStore(path: path)
            try store.append(DeterministicJournal.entries(seed: 4, through: 50), expectingLastSequence: 0)
            store.close()
        }
        // The first page holds the 100-byte header, then the schema table.
        writeFile(path, Array(repeating: 0x5A, count: 3_000), at: 100)
        let damaged = fileBytes(path)
        let error = #expect(throws: FissionError.self) { try SQLiteStore(path: path) }
        #expect(error?.code == .corruptStore, "\(error?.reason ?? "")")
        #expect(fileBytes(path) == damaged)
    }

    @Test("a store whose data pages are damaged: corruptStore when reading them, or a failed integrity check")
    func damagedData() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("damaged-data.sqlite")
        do {
            let store = try SQLiteStore(path: path)
            try store.append(DeterministicJournal.entries(seed: 4, through: 300), expectingLastSequence: 0)
            store.close()
        }
        let size = fileBytes(path)?.count ?? 0
        #expect(size > 16_384)
        writeFile(path, Array(repeating: 0xA5, count: size - 8_192), at: 8_192)
        #expect(Self.damageIsReported(path), "damage to \(path) went unnoticed")
    }

    /// Opens, reads everything and checks integrity: `true` if a corruptStore error or a failed
    /// integrity check reports the damage.
    private static func damageIsReported(_ path: String) -> Bool {
        do {
            let store = try SQLiteStore(path: path)
            var after: Int64 = 0
            while true {
                let page = try store.entries(after: after, limit: 100)
                guard let last = page.last else { break }
                after = last.sequence
            }
            return try store.integrityCheck() != ["ok"]
        } catch {
            return error.code == .corruptStore
        }
    }

    @Test("another application's database: notAFissionStore, and the file is left as it was")
    func foreign() throws {
        let directory = TemporaryDirectory()
        let withTables = directory.file("people.sqlite")
        do {
            let raw = RawDatabase(withTables)
            #expect(raw.execute("CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('ada')") == nil)
        }
        let otherID = directory.file("other-id.sqlite")
        do {
            let raw = RawDatabase(otherID)
            #expect(raw.execute("PRAGMA application_id = 1234; CREATE TABLE t (x)") == nil)
        }
        for path in [withTables, otherID] {
            let before = fileBytes(path)
            let error = #expect(throws: FissionError.self) { try SQLiteStore(path: path) }
            #expect(error?.code == .notAFissionStore)
            #expect(error?.reason.contains("another application") == true, "\(error?.reason ?? "")")
            #expect(fileBytes(path) == before, "\(path) was changed")
            #expect(RawDatabase(path).scalar("PRAGMA journal_mode") == "delete")
        }
    }

    @Test("a store from a newer schema: newerSchema, left as it was, and fine again for the Fission that wrote it")
    func newer() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("newer.sqlite")
        let journal = DeterministicJournal.entries(seed: 8, through: 20)
        do {
            let store = try SQLiteStore(path: path)
            try store.append(journal, expectingLastSequence: 0)
            store.close()
        }
        #expect(RawDatabase(path).execute("PRAGMA user_version = 99") == nil)
        let before = fileBytes(path)
        let error = #expect(throws: FissionError.self) { try SQLiteStore(path: path) }
        #expect(error?.code == .newerSchema)
        #expect(error?.reason.contains("version 99") == true, "\(error?.reason ?? "")")
        #expect(fileBytes(path) == before)
        #expect(RawDatabase(path).execute("PRAGMA user_version = \(SQLiteSchema.currentVersion)") == nil)
        #expect(try SQLiteStore(path: path).entries(after: 0, limit: 100) == journal)
    }

    @Test(
        "a refused file with a WAL left beside it (another application's, or a newer store's): both files stay as they were",
        arguments: [false, true]
    )
    func refusedWithWALLeftBehind(newerStore: Bool) throws {
        let directory = TemporaryDirectory()
        let live = directory.file("live.sqlite")
        let copy = directory.file("copy.sqlite")
        var main: [UInt8] = []
        var wal: [UInt8] = []
        do {
            if newerStore {
                let store = try SQLiteStore(path: live)
                try store.append(DeterministicJournal.entries(seed: 9, through: 5), expectingLastSequence: 0)
                store.close()
            }
            // A connection holds the file open, WAL on and not checkpointed, while it is copied:
            // what a crashed writer leaves behind.
            let raw = RawDatabase(live)
            #expect(raw.execute("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0") == nil)
            let change =
                newerStore
                ? "PRAGMA user_version = 99; CREATE TABLE later (x)"
                : "CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('ada'), ('grace')"
            #expect(raw.execute(change) == nil)
            main = try #require(fileBytes(live))
            wal = try #require(fileBytes(live + "-wal"))
            #expect(!wal.isEmpty)
            writeFile(copy, main)
            writeFile(copy + "-wal", wal)
        }
        let error = #expect(throws: FissionError.self) { try SQLiteStore(path: copy) }
        #expect(error?.code == (newerStore ? .newerSchema : .notAFissionStore))
        let mainKept = fileBytes(copy) == main
        let walKept = fileBytes(copy + "-wal") == wal
        #expect(mainKept, "the database file was rewritten")
        #expect(walKept, "the WAL was moved into the file or removed")
    }

    @Test(
        "a file marked as a Fission store without a schema version, or without its tables, is corruptStore",
        arguments: [
            "PRAGMA user_version = -1; CREATE TABLE t (x)",
            "PRAGMA user_version = 0; CREATE TABLE t (x)",
            "PRAGMA user_version = \(SQLiteSchema.currentVersion); CREATE TABLE journal (x)",
        ]
    )
    func markedButDamaged(_ sql: String) throws {
        let directory = TemporaryDirectory()
        let path = directory.file("marked.sqlite")
        #expect(RawDatabase(path).execute("PRAGMA application_id = \(SQLiteSchema.applicationID); \(sql)") == nil)
        let error = #expect(throws: FissionError.self) { try SQLiteStore(path: path) }
        #expect(error?.code == .corruptStore, "\(error?.reason ?? "")")
    }

    // MARK: Migrations

    /// A step after the current schema, as a later Fission might add.
    static let nextVersion = SchemaMigration(
        version: SQLiteSchema.currentVersion + 1,
        statements: ["CREATE TABLE audit_notes (id INTEGER PRIMARY KEY, note TEXT NOT NULL) STRICT"]
    )

    @Test("an older store migrates to the current schema in one step, keeping its journal")
    func migrates() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("migrate.sqlite")
        let journal = DeterministicJournal.entries(seed: 12, through: 25)
        do {
            let store = try SQLiteStore(path: path)
            try store.append(journal, expectingLastSequence: 0)
            store.close()
        }
        #expect(RawDatabase(path).scalar("PRAGMA user_version") == "\(SQLiteSchema.currentVersion)")
        let migrated = try SQLiteStore(
            path: path,
            options: .init(),
            migrations: SQLiteSchema.migrations + [Self.nextVersion]
        )
        #expect(try migrated.query("PRAGMA user_version") == ["\(Self.nextVersion.version)"])
        #expect(try migrated.query("SELECT count(*) FROM audit_notes") == ["0"])
        #expect(try migrated.entries(after: 0, limit: 100) == journal)
        migrated.close()
        // The current code now meets a newer file and refuses it.
        #expect(throws: FissionError(code: .newerSchema)) { try SQLiteStore(path: path) }
        // A new file runs every step.
        let fresh = try SQLiteStore(
            path: directory.file("fresh.sqlite"),
            options: .init(),
            migrations: SQLiteSchema.migrations + [Self.nextVersion]
        )
        #expect(try fresh.query("PRAGMA user_version") == ["\(Self.nextVersion.version)"])
        #expect(
            try fresh.query(
                "SELECT count(*) FROM sqlite_schema WHERE name IN ('journal', 'transfers', 'snapshots', 'audit_notes')"
            ) == ["4"]
        )
    }

    @Test("a migration that fails halfway changes nothing")
    func failedMigration() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("failed-migration.sqlite")
        let journal = DeterministicJournal.entries(seed: 13, through: 10)
        do {
            let store = try SQLiteStore(path: path)
            try store.append(journal, expectingLastSequence: 0)
            store.close()
        }
        let current = SQLiteSchema.currentVersion
        let broken = SchemaMigration(
            version: current + 1,
            statements: ["CREATE TABLE half_done (x INTEGER) STRICT", "CREATE TABLE journal (x INTEGER) STRICT"]
        )
        let error = #expect(throws: FissionError.self) {
            try SQLiteStore(path: path, options: .init(), migrations: SQLiteSchema.migrations + [broken])
        }
        #expect(error?.reason.contains("from version \(current) to \(current + 1)") == true, "\(error?.reason ?? "")")
        let raw = RawDatabase(path)
        #expect(raw.scalar("PRAGMA user_version") == "\(current)")
        #expect(raw.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'half_done'") == "0")
        #expect(try SQLiteStore(path: path).entries(after: 0, limit: 100) == journal)
    }

    @Test("a version-1 store opens and migrates to version 2: the key index leads with the source, keys stay unique")
    func migratesVersion1() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("version1.sqlite")
        let journal = DeterministicJournal.entries(seed: 14, through: 60)
        let version1 = [SchemaMigration(version: 1, statements: SQLiteSchema.version1)]
        do {
            let store = try SQLiteStore(path: path, options: .init(), migrations: version1)
            try store.append(Array(journal.prefix(40)), expectingLastSequence: 0)
            store.close()
        }
        let indexSQL = "SELECT sql FROM sqlite_schema WHERE name = 'transfers_key_unique'"
        #expect(RawDatabase(path).scalar("PRAGMA user_version") == "1")
        #expect(RawDatabase(path).scalar(indexSQL)?.contains("key_operation, key_campaign") == true)
        let store = try SQLiteStore(path: path)
        #expect(try store.query("PRAGMA user_version") == ["\(SQLiteSchema.currentVersion)"])
        #expect(try store.query(indexSQL).first?.contains("key_source, key_part, key_operation") == true)
        #expect(try store.entries(after: 0, limit: 100) == Array(journal.prefix(40)))
        try store.append(Array(journal.dropFirst(40)), expectingLastSequence: 40)
        #expect(try store.entries(after: 0, limit: 100) == journal)
        #expect(try store.integrityCheck() == ["ok"])
        // The rebuilt index still refuses a key already granted.
        let granted = try #require(journal.flatMap(\.transfers).first { $0.key != nil })
        let raw = RawDatabase(path)
        let copy = """
            INSERT INTO transfers SELECT (SELECT max(id) FROM transfers) + 1, (SELECT max(sequence) FROM journal), kind,
            resolves, key_operation, key_campaign, key_rule,
            key_beneficiary, key_source, key_part, debit_owner, debit_owner_id, credit_owner, credit_owner_id, unit,
            unit_currency, unit_minor_digits, unit_sku, amount, command, rule, rule_version, at, hold_until
            FROM transfers WHERE id = \(granted.id.rawValue)
            """
        // The store's own connection runs without triggers, so there the index itself refuses it;
        // an outside connection is refused before that, by version 3's trigger.
        let error = #expect(throws: FissionError.self) { try store.query(copy) }
        #expect(error?.reason.contains("UNIQUE constraint failed") == true)
        #expect(raw.execute(copy)?.contains("granted once") == true)
    }
}
