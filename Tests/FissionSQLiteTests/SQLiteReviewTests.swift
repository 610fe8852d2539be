import FissionCore
import FissionRewards
import FissionSQLite
import FissionStorage
import FissionStorageTesting
import Testing

/// The SQLite store's fast paths keep the contract: a refusal inside a 32-row insert rolls the
/// whole append back, the authorizer holds after reopening, and a migrated store still refuses
/// what it stored before the migration.
@Suite("SQLiteStore review")
struct SQLiteReviewTests {
    static let unit = LedgerUnit.money(.cny)
    static let reason = TransferReason(command: "review")

    /// One entry per transfer `ledger.transfers` from `firstID` on, numbered from `firstSequence`.
    static func entries(of ledger: Ledger, from firstID: Int64, firstSequence: Int64) throws -> [JournalEntry] {
        let transfers = ledger.transfers(
            after: TransferID(rawValue: firstID - 1),
            limit: ledger.transferCount - Int(firstID) + 1
        )
        return try transfers.enumerated().map { offset, transfer in
            JournalEntry(
                sequence: firstSequence + Int64(offset),
                idempotencyKey: try EventID("event-\(transfer.id.rawValue)-\(firstSequence)"),
                payloadDigest: UInt64(offset),
                command: [7],
                outcome: [],
                transfers: [transfer]
            )
        }
    }

    static func fund(_ ledger: inout Ledger, _ source: String) throws {
        try ledger.transfer(
            key: TransferKey(.funding, campaign: 1, source: try EventID(source)),
            debit: .outside(Self.unit),
            credit: .budget(1, Self.unit),
            amount: 1_000,
            reason: Self.reason,
            at: .earliest
        )
    }

    /// A ledger whose transfer #1 funds the campaign and #2 is a pending grant to member 1.
    static func fundedWithPending() throws -> (Ledger, TransferID) {
        var ledger = Ledger()
        try Self.fund(&ledger, "fund")
        let pending = try ledger.transfer(
            key: TransferKey(.grant, campaign: 1, rule: 1, beneficiary: 1, source: "order"),
            debit: .budget(1, Self.unit),
            credit: .wallet(1, Self.unit),
            amount: 10,
            holdUntil: try Timestamp(millisecondsSinceEpoch: 1_000),
            reason: Self.reason,
            at: .earliest
        )
        return (ledger, try #require(pending.first))
    }

    @Test("a hold that ends after Timestamp.latest reads back as written")
    func holdPastTheLatestInstant() throws {
        // A settlement adds a campaign's hold days to the order's time without a range check, so
        // an order paid in the last days of year 9999 holds its grant past `Timestamp.latest`. The
        // store must give such a transfer back, or the journal could not be replayed.
        let directory = TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("late-hold.sqlite"))
        var ledger = Ledger()
        try Self.fund(&ledger, "fund")
        let holdUntil = Timestamp(unchecked: Timestamp.latest.millisecondsSinceEpoch + 7 * 86_400_000)
        try ledger.transfer(
            key: TransferKey(.grant, campaign: 1, rule: 1, beneficiary: 1, source: "late-order"),
            debit: .budget(1, Self.unit),
            credit: .wallet(1, Self.unit),
            amount: 10,
            holdUntil: holdUntil,
            reason: Self.reason,
            at: .latest
        )
        let entries = try Self.entries(of: ledger, from: 1, firstSequence: 1)
        try store.append(entries, expectingLastSequence: 0)
        let read = try store.entries(after: 0, limit: 10)
        #expect(read == entries)
        #expect(read.last?.transfers.first?.holdUntil == holdUntil)
    }

    @Test("a transfer key granted again in the second 32-row transfer insert: duplicateTransfer, nothing written")
    func duplicateTransferKeyInChunk() throws {
        let directory = TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("key-in-chunk.sqlite"))
        var stored = Ledger()
        for index in 1...40 { try Self.fund(&stored, "stored-\(index)") }
        let first = try Self.entries(of: stored, from: 1, firstSequence: 1)
        try store.append(first, expectingLastSequence: 0)
        // Transfers #41...#120, of which #90 (row 49, in the second 32-row insert) reuses stored-5.
        func batch(reusing reused: String?) throws -> [JournalEntry] {
            var ledger = Ledger()
            for index in 1...40 { try Self.fund(&ledger, "padding-\(index)") }
            for index in 41...120 { try Self.fund(&ledger, index == 90 ? (reused ?? "new-90") : "new-\(index)") }
            return try Self.entries(of: ledger, from: 41, firstSequence: 41)
        }
        let error = #expect(throws: FissionError.self) {
            try store.append(try batch(reusing: "stored-5"), expectingLastSequence: 40)
        }
        #expect(error?.code == .duplicateTransfer)
        #expect(error?.reason.contains("transfer #90") == true, "\(error?.reason ?? "")")
        #expect(try store.lastSequence() == 40)
        #expect(try store.query("SELECT count(*) FROM transfers") == ["40"])
        #expect(try store.entries(after: 0, limit: 1_000) == first)
        let good = try batch(reusing: nil)
        try store.append(good, expectingLastSequence: 40)
        #expect(try store.entries(after: 0, limit: 1_000) == first + good)
    }

    @Test("a second posting of a pending transfer inside a 32-row insert: duplicateTransfer, nothing written")
    func doublePostingInChunk() throws {
        let directory = TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("posting-in-chunk.sqlite"))
        var (ledger, pending) = try Self.fundedWithPending()
        try ledger.post(pending, reason: Self.reason, at: .earliest)
        let stored = try Self.entries(of: ledger, from: 1, firstSequence: 1)
        try store.append(stored, expectingLastSequence: 0)
        // Transfers #4...#60 from a twin ledger: fundings, with #53 (row 49) posting #2 again.
        var (twin, twinPending) = try Self.fundedWithPending()
        for index in 3...52 { try Self.fund(&twin, "padding-\(index)") }
        try twin.post(twinPending, reason: Self.reason, at: .earliest)
        for index in 54...60 { try Self.fund(&twin, "padding-\(index)") }
        let batch = try Self.entries(of: twin, from: 4, firstSequence: 4)
        #expect(batch.count == 57)
        let error = #expect(throws: FissionError.self) { try store.append(batch, expectingLastSequence: 3) }
        #expect(error?.code == .duplicateTransfer)
        #expect(error?.reason.contains("posted already") == true, "\(error?.reason ?? "")")
        #expect(try store.entries(after: 0, limit: 1_000) == stored)
        #expect(try store.query("SELECT count(*) FROM transfers") == ["3"])
    }

    @Test("after reopening, the own connection still refuses ledger changes and still prunes snapshots")
    func guardAfterReopening() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("reopened.sqlite")
        let journal = DeterministicJournal.entries(seed: 31, through: 40)
        do {
            let store = try SQLiteStore(path: path)
            try store.append(Array(journal.prefix(20)), expectingLastSequence: 0)
            try store.saveSnapshot(StoreSnapshot(sequence: 10, state: [1]))
            store.close()
        }
        let store = try SQLiteStore(path: path)
        for sql in [
            "DELETE FROM journal", "UPDATE transfers SET amount = 1", "DROP TABLE transfers",
            "INSERT INTO journal SELECT * FROM journal WHERE 1 ON CONFLICT DO UPDATE SET outcome = x''",
        ] {
            let error = #expect(throws: FissionError.self, "\(sql) was allowed") { try store.query(sql) }
            #expect(error?.reason.contains("not authorized") == true, "\(error?.reason ?? "")")
        }
        try store.saveSnapshot(StoreSnapshot(sequence: 20, state: [2]))
        #expect(try store.query("SELECT group_concat(sequence) FROM snapshots") == ["20"])
        try store.append(Array(journal.dropFirst(20)), expectingLastSequence: 20)
        #expect(try store.entries(after: 0, limit: 100) == journal)
        #expect(try store.integrityCheck() == ["ok"])
    }

    @Test("a version-1 store with data migrates, and the store still refuses a transfer key stored before")
    func migratedStoreRefusesOldKeys() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("migrated.sqlite")
        var (ledger, pending) = try Self.fundedWithPending()
        try ledger.post(pending, reason: Self.reason, at: .earliest)
        let stored = try Self.entries(of: ledger, from: 1, firstSequence: 1)
        do {
            let version1 = [SchemaMigration(version: 1, statements: SQLiteSchema.version1)]
            let store = try SQLiteStore(path: path, options: .init(), migrations: version1)
            try store.append(stored, expectingLastSequence: 0)
            store.close()
            // A version-1 snapshot: one row of `snapshots`, as a version-1 store wrote it.
            #expect(RawDatabase(path).execute("INSERT INTO snapshots (sequence, state) VALUES (3, x'03')") == nil)
        }
        for _ in 0..<2 {
            let store = try SQLiteStore(path: path)
            #expect(try store.query("PRAGMA user_version") == ["\(SQLiteSchema.currentVersion)"])
            #expect(try store.entries(after: 0, limit: 100) == stored)
            #expect(try store.latestSnapshot() == StoreSnapshot(sequence: 3, state: [3]))
            // The pending grant's key, under transfer #4.
            var twin = Ledger()
            try Self.fund(&twin, "other-fund")
            try Self.fund(&twin, "other-fund-2")
            try Self.fund(&twin, "other-fund-3")
            try twin.transfer(
                key: TransferKey(.grant, campaign: 1, rule: 1, beneficiary: 1, source: "order"),
                debit: .budget(1, Self.unit),
                credit: .wallet(1, Self.unit),
                amount: 10,
                reason: Self.reason,
                at: .earliest
            )
            let regrant = try Self.entries(of: twin, from: 4, firstSequence: 4)
            let error = #expect(throws: FissionError.self) { try store.append(regrant, expectingLastSequence: 3) }
            #expect(error?.code == .duplicateTransfer)
            #expect(try store.lastSequence() == 3)
            store.close()
        }
    }

    /// The authorizer sees an `INSERT OR REPLACE` as an insert, yet its conflict resolution deletes
    /// the row in the way, and on the store's connection no trigger is left to stop it: the store's
    /// statements and schema must never resolve a conflict by replacing or updating.
    @Test("no statement of the store, and no constraint of its schema, replaces or upserts a row")
    func noReplaceOrUpsert() {
        for statement in SQLiteSchema.runtimeStatements + SQLiteSchema.migrations.flatMap(\.statements) {
            let upper = statement.uppercased()
            #expect(!upper.contains("REPLACE"), "\(statement)")
            #expect(!upper.contains("ON CONFLICT"), "\(statement)")
            #expect(!upper.contains("OR IGNORE"), "\(statement)")
        }
    }
}
