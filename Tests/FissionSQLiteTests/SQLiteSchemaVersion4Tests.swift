import FissionCore
import FissionSQLite
import FissionStorage
import FissionStorageTesting
import Testing

/// Schema version 4: snapshots bigger than one SQLite value are kept in parts, and a value too big
/// for SQLite is a typed error (SQLite binds NULL for it, and a count past `Int32.max` used to stop
/// the process); a host's insert cannot file a transfer under an earlier entry, and a store where
/// other SQL did reads as corrupt rather than as another journal.
@Suite("SQLiteStore schema version 4: snapshot parts, value sizes, transfers of earlier entries")
struct SQLiteSchemaVersion4Tests {
    /// A store on `path` whose snapshots are cut into parts of `partBytes`, and whose SQLite stores
    /// at most `maximumValueBytes` in one value when that is given.
    static func store(_ path: String, partBytes: Int, maximumValueBytes: Int32? = nil) throws -> SQLiteStore {
        try SQLiteStore(
            path: path,
            options: .init(),
            migrations: SQLiteSchema.migrations,
            snapshotPartBytes: partBytes,
            maximumValueBytes: maximumValueBytes
        )
    }

    /// `count` bytes that differ from part to part, so parts out of order would not read back equal.
    static func state(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / 1_000) }
    }

    @Test("a snapshot of several parts reads back whole; a later one replaces it and its parts")
    func partsRoundTrip() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("parts.sqlite")
        let store = try Self.store(path, partBytes: 1_000)
        try store.append(DeterministicJournal.entries(seed: 3, through: 5), expectingLastSequence: 0)
        let big = StoreSnapshot(sequence: 2, state: Self.state(10_500))
        try store.saveSnapshot(big)
        #expect(try store.query("SELECT count(*) FROM snapshot_parts") == ["10"])
        #expect(try store.latestSnapshot() == big)
        // Exactly one part, and none at all: no rows of parts.
        for count in [1_000, 0] {
            let snapshot = StoreSnapshot(sequence: count == 0 ? 5 : 4, state: Self.state(count))
            try store.saveSnapshot(snapshot)
            #expect(try store.query("SELECT count(*) FROM snapshot_parts") == ["0"])
            #expect(try store.query("SELECT count(*) FROM snapshots") == ["1"])
            #expect(try store.latestSnapshot() == snapshot)
        }
        // An older snapshot than the latest is not kept, and leaves the latest's parts alone.
        try store.saveSnapshot(StoreSnapshot(sequence: 5, state: Self.state(2_500)))
        try store.saveSnapshot(StoreSnapshot(sequence: 1, state: Self.state(3_000)))
        #expect(try store.latestSnapshot() == StoreSnapshot(sequence: 5, state: Self.state(2_500)))
        #expect(try store.query("SELECT count(*) FROM snapshot_parts") == ["2"])
        store.close()
        // Another store on the file, with the standard part size, reads the parts the same.
        #expect(try SQLiteStore(path: path).latestSnapshot() == StoreSnapshot(sequence: 5, state: Self.state(2_500)))
        #expect(try SQLiteStore(path: path).integrityCheck() == ["ok"])
    }

    @Test("a part missing from a snapshot, in the middle or at the end, is corruptStore, not a shorter snapshot")
    func missingPart() throws {
        for missing in [2, 4] {
            let directory = TemporaryDirectory()
            let path = directory.file("missing-part-\(missing).sqlite")
            do {
                let store = try Self.store(path, partBytes: 100)
                try store.append(DeterministicJournal.entries(seed: 4, through: 2), expectingLastSequence: 0)
                try store.saveSnapshot(StoreSnapshot(sequence: 2, state: Self.state(450)))
                #expect(try store.query("SELECT parts FROM snapshots") == ["4"])
                store.close()
            }
            #expect(RawDatabase(path).execute("DELETE FROM snapshot_parts WHERE part = \(missing)") == nil)
            let error = #expect(throws: FissionError.self) { try SQLiteStore(path: path).latestSnapshot() }
            #expect(error?.code == .corruptStore)
            #expect(error?.reason.contains("saved in 5 parts; 4 are stored") == true, "\(error?.reason ?? "")")
        }
    }

    @Test("a command or a snapshot part over SQLite's value limit: storeFailure naming it, nothing written")
    func valueOverTheLimit() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("too-big.sqlite")
        let store = try Self.store(path, partBytes: 10_000, maximumValueBytes: 5_000)
        let journal = DeterministicJournal.entries(seed: 5, through: 3)
        try store.append(Array(journal.prefix(2)), expectingLastSequence: 0)
        let third = journal[2]
        let big = JournalEntry(
            sequence: third.sequence,
            idempotencyKey: third.idempotencyKey,
            payloadDigest: third.payloadDigest,
            command: Self.state(6_000),
            outcome: third.outcome,
            transfers: third.transfers
        )
        let error = #expect(throws: FissionError.self) { try store.append([big], expectingLastSequence: 2) }
        #expect(error?.code == .storeFailure)
        #expect(error?.reason.contains("entry 3's command: 6000 bytes in one value") == true, "\(error?.reason ?? "")")
        #expect(try store.lastSequence() == 2)
        #expect(
            try store.query("SELECT count(*) FROM transfers") == [
                String(journal.prefix(2).map(\.transfers.count).reduce(0, +))
            ]
        )
        // The same entry with a command that fits goes in.
        try store.append([third], expectingLastSequence: 2)
        // A snapshot whose parts exceed the limit: refused, the previous one kept.
        try store.saveSnapshot(StoreSnapshot(sequence: 1, state: [1]))
        let snapshotError = #expect(throws: FissionError.self) {
            try store.saveSnapshot(StoreSnapshot(sequence: 3, state: Self.state(12_000)))
        }
        #expect(snapshotError?.code == .storeFailure)
        #expect(try store.latestSnapshot() == StoreSnapshot(sequence: 1, state: [1]))
    }

    /// A copy of the first keyed grant of `entry`'s lowest entry as the next transfer, under a
    /// new source so no key collides.
    static let lateTransfer = """
        INSERT INTO transfers SELECT (SELECT max(id) + 1 FROM transfers), entry, kind, resolves, key_operation,
            key_campaign, key_rule, key_beneficiary, 'late-source', key_part, debit_owner, debit_owner_id,
            credit_owner, credit_owner_id, unit, unit_currency, unit_minor_digits, unit_sku, amount, command, rule,
            rule_version, at, hold_until
        FROM transfers WHERE key_operation IS NOT NULL AND kind IN ('posted', 'pending') ORDER BY id LIMIT 1
        """

    @Test("a transfer filed under an earlier entry: refused on a host's connection, corruptStore if already there")
    func transferOfAnEarlierEntry() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("late-transfer.sqlite")
        let journal = DeterministicJournal.entries(seed: 7, through: 40)
        try SQLiteStore(path: path).append(journal, expectingLastSequence: 0)
        let refusal = RawDatabase(path).execute(Self.lateTransfer)
        #expect(refusal?.contains("a transfer belongs to the last journal entry") == true, "\(refusal ?? "allowed")")
        #expect(try SQLiteStore(path: path).entries(after: 0, limit: 100) == journal)
        // A store changed before version 4 had the trigger: reads refuse it instead of dropping
        // the row from a page, or adding it to the entry read by its key.
        #expect(RawDatabase(path).execute("DROP TRIGGER transfers_of_last_entry") == nil)
        #expect(RawDatabase(path).execute(Self.lateTransfer) == nil)
        let owner = try #require(RawDatabase(path).scalar("SELECT entry FROM transfers ORDER BY id DESC LIMIT 1"))
        let store = try SQLiteStore(path: path)
        let page = #expect(throws: FissionError.self) { try store.entries(after: 0, limit: 100) }
        #expect(page?.code == .corruptStore)
        let entry = try #require(journal.first { String($0.sequence) == owner })
        let single = #expect(throws: FissionError.self) { try store.entry(forKey: entry.idempotencyKey) }
        #expect(single?.code == .corruptStore)
    }
}
