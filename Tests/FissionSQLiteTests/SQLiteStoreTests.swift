import FissionCore
import FissionRewards
import FissionSQLite
import FissionStorage
import FissionStorageTesting
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("SQLiteStore")
struct SQLiteStoreTests {
    @Test("a 500-entry journal of every transfer kind and unit reads back equal, before and after reopening")
    func roundTrip() throws {
        let directory = TemporaryDirectory()
        let journal = DeterministicJournal.entries(seed: 2_026, through: 500)
        var store = try SQLiteStore(path: directory.file("journal.sqlite"))
        var last: Int64 = 0
        for batch in stride(from: 0, to: journal.count, by: 37).map({ Array(journal[$0..<min($0 + 37, journal.count)]) }
        ) {
            try store.append(batch, expectingLastSequence: last)
            last = batch.last?.sequence ?? last
        }
        for _ in 0..<2 {
            #expect(try store.lastSequence() == 500)
            #expect(try store.entries(after: 0, limit: 10_000) == journal, "seed 2026")
            for entry in journal where entry.sequence % 50 == 0 {
                #expect(try store.entry(forKey: entry.idempotencyKey) == entry)
            }
            store.close()
            store = try SQLiteStore(path: store.path)
        }
        #expect(try store.integrityCheck() == ["ok"])
    }

    @Test("the ledger is queryable with SQL: the columns hold what the transfers say")
    func queryableColumns() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("ledger.sqlite")
        let journal = DeterministicJournal.entries(seed: 5, through: 200)
        let store = try SQLiteStore(path: path)
        try store.append(journal, expectingLastSequence: 0)
        let transfers = journal.flatMap(\.transfers)
        let grants = transfers.filter { $0.key?.operation == .grant }
        let raw = RawDatabase(path)
        #expect(raw.scalar("SELECT count(*) FROM transfers") == "\(transfers.count)")
        #expect(raw.scalar("SELECT count(*) FROM transfers WHERE key_operation = 'grant'") == "\(grants.count)")
        #expect(
            raw.scalar("SELECT sum(amount) FROM transfers WHERE kind = 'pending'")
                == "\(transfers.filter { $0.kind == .pending }.reduce(0) { $0 + $1.amount })"
        )
        let money = transfers.filter { $0.unit == .money(.cny) }.reduce(Int64(0)) { $0 + $1.amount }
        #expect(
            raw.scalar("SELECT ifnull(sum(amount), 0) FROM transfers WHERE unit = 'money' AND unit_currency = 'CNY'")
                == "\(money)"
        )
        // String and integer identifiers keep their SQLite type.
        #expect(raw.scalar("SELECT count(*) FROM journal WHERE typeof(idempotency_key) = 'integer'") == "100")
        #expect(raw.scalar("SELECT count(*) FROM journal WHERE typeof(idempotency_key) = 'text'") == "100")
        #expect(raw.scalar("SELECT idempotency_key FROM journal WHERE sequence = 2") == "order-5-2:paid")
        if let post = transfers.first(where: { if case .postPending = $0.kind { true } else { false } }),
            case .postPending(let pending) = post.kind
        {
            #expect(
                raw.scalar("SELECT resolves FROM transfers WHERE id = \(post.id.rawValue)") == "\(pending.rawValue)"
            )
            #expect(raw.scalar("SELECT kind FROM transfers WHERE id = \(pending.rawValue)") == "pending")
        } else {
            Issue.record("seed 5 made no post of a pending transfer")
        }
        #expect(raw.scalar("PRAGMA journal_mode") == "wal")
        #expect(raw.scalar("PRAGMA application_id") == "\(SQLiteSchema.applicationID)")
        #expect(raw.scalar("PRAGMA user_version") == "\(SQLiteSchema.currentVersion)")
    }

    @Test("the store's own SQL never updates or deletes journal or transfer rows")
    func noUpdateOrDeleteInSQL() throws {
        let ledgerTables = ["journal", "transfers"]
        for statement in SQLiteSchema.runtimeStatements {
            let upper = statement.uppercased()
            for table in ledgerTables {
                #expect(!(upper.contains("UPDATE") && upper.contains(table.uppercased())), "\(statement)")
                #expect(!(upper.contains("DELETE") && upper.contains(table.uppercased())), "\(statement)")
            }
        }
        // In the schema, UPDATE and DELETE appear only in the triggers that forbid them.
        for statement in SQLiteSchema.migrations.flatMap(\.statements) {
            let upper = statement.uppercased()
            guard upper.contains("UPDATE") || upper.contains("DELETE") else { continue }
            #expect(upper.contains("CREATE TRIGGER") && upper.contains("RAISE(ABORT"), "\(statement)")
            #expect(upper.contains("BEFORE UPDATE ON") || upper.contains("BEFORE DELETE ON"), "\(statement)")
        }
        for table in ledgerTables {
            for verb in ["UPDATE", "DELETE"] {
                #expect(
                    SQLiteSchema.version1.contains {
                        $0.contains("BEFORE \(verb) ON \(table)") && $0.contains("RAISE(ABORT")
                    },
                    "no trigger forbids \(verb) on \(table)"
                )
            }
        }
        // And no SQL elsewhere in the module's sources does: every literal with UPDATE or DELETE
        // outside comments is one of the schema's triggers or the snapshot pruning (of the
        // snapshots and of their parts).
        let sources = URLFreeSources.files(ofModule: "FissionSQLite")
        #expect(!sources.isEmpty, "the module's sources were not found next to \(#filePath)")
        for (name, text) in sources {
            for line in text.split(separator: "\n") {
                let code = line.trimmingPrefix(while: { $0 == " " })
                guard !code.hasPrefix("//"), code.contains("UPDATE ") || code.contains("DELETE ") else { continue }
                let allowed =
                    code.contains("CREATE TRIGGER") && code.contains("BEFORE ")
                    || code.contains("DELETE FROM snapshots") || code.contains("DELETE FROM snapshot_parts")
                #expect(allowed, "\(name): \(code)")
            }
        }
    }

    @Test("UPDATE and DELETE from outside are refused by triggers; the rows stay")
    func appendOnlyTriggers() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("triggers.sqlite")
        let journal = DeterministicJournal.entries(seed: 9, through: 30)
        let store = try SQLiteStore(path: path)
        try store.append(journal, expectingLastSequence: 0)
        let raw = RawDatabase(path)
        for sql in [
            "UPDATE journal SET outcome = x'00' WHERE sequence = 1",
            "DELETE FROM journal WHERE sequence = 30",
            "UPDATE transfers SET amount = amount + 1",
            "DELETE FROM transfers",
            "INSERT INTO journal (sequence, idempotency_key, payload_digest, command, outcome) VALUES (40, 'gap', 0, x'', x'')",
        ] {
            let error = raw.execute(sql)
            #expect(error != nil, "\(sql) was allowed")
        }
        #expect(raw.execute("UPDATE journal SET outcome = x'00'")?.contains("never changed") == true)
        #expect(raw.execute("DELETE FROM transfers")?.contains("never removed") == true)
        #expect(
            raw.execute(
                "INSERT INTO transfers (id, entry, kind) SELECT max(id) + 2, (SELECT max(sequence) FROM journal), 'posted' FROM transfers"
            )?
            .contains("without gaps") == true
        )
        #expect(try store.entries(after: 0, limit: 100) == journal)
    }

    @Test("an outside INSERT OR REPLACE cannot delete a stored entry, a granted transfer or a posting")
    func replacingInsertsAreRefused() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("replace.sqlite")
        let journal = DeterministicJournal.entries(seed: 9, through: 30)
        let store = try SQLiteStore(path: path)
        try store.append(journal, expectingLastSequence: 0)
        let granted = try #require(journal.flatMap(\.transfers).first { $0.key != nil })
        let posting = try #require(
            journal.flatMap(\.transfers).first { if case .postPending = $0.kind { true } else { false } }
        )
        let raw = RawDatabase(path)
        let transferColumns = """
            entry, kind, resolves, key_operation, key_campaign, key_rule, key_beneficiary, key_source, key_part,
            debit_owner, debit_owner_id, credit_owner, credit_owner_id, unit, unit_currency, unit_minor_digits,
            unit_sku, amount, command, rule, rule_version, at, hold_until
            """
        // Filed under the last entry, as version 4's trigger requires of a host's transfer.
        let copiedColumns = "(SELECT max(sequence) FROM journal)" + transferColumns.dropFirst("entry".count)
        // Each would pass the gap check (the next sequence or id) and resolve its UNIQUE conflict
        // by deleting the stored row.
        let refused = [
            """
            INSERT OR REPLACE INTO journal (sequence, idempotency_key, payload_digest, command, outcome)
            SELECT 31, idempotency_key, 0, x'', x'' FROM journal WHERE sequence = 1
            """,
            """
            REPLACE INTO transfers (id, \(transferColumns))
            SELECT (SELECT max(id) FROM transfers) + 1, \(copiedColumns) FROM transfers WHERE id = \(granted.id.rawValue)
            """,
            """
            INSERT OR REPLACE INTO transfers (id, \(transferColumns))
            SELECT (SELECT max(id) FROM transfers) + 1, \(copiedColumns) FROM transfers WHERE id = \(posting.id.rawValue)
            """,
        ]
        for sql in refused {
            let error = raw.execute(sql)
            #expect(error?.contains("once") == true, "\(sql): \(error ?? "allowed")")
        }
        #expect(try store.entries(after: 0, limit: 100) == journal)
        #expect(try store.integrityCheck() == ["ok"])
    }

    @Test("the store's own connection, whose triggers are off, refuses UPDATE and DELETE of ledger rows")
    func ownConnectionRefusesChanges() throws {
        let directory = TemporaryDirectory()
        let journal = DeterministicJournal.entries(seed: 10, through: 30)
        let store = try SQLiteStore(path: directory.file("authorizer.sqlite"))
        try store.append(journal, expectingLastSequence: 0)
        for sql in [
            "UPDATE journal SET outcome = x'00' WHERE sequence = 1",
            "DELETE FROM journal WHERE sequence = 30",
            "UPDATE transfers SET amount = amount + 1",
            "DELETE FROM transfers",
            "update TRANSFERS set amount = 1",
        ] {
            let error = #expect(throws: FissionError.self, "\(sql) was allowed") { try store.query(sql) }
            #expect(error?.reason.contains("not authorized") == true, "\(error?.reason ?? "")")
        }
        #expect(try store.entries(after: 0, limit: 100) == journal)
        // Snapshots are pruned with DELETE: that stays allowed.
        try store.saveSnapshot(StoreSnapshot(sequence: 10, state: [1]))
        try store.saveSnapshot(StoreSnapshot(sequence: 20, state: [2]))
        #expect(try store.query("SELECT count(*) FROM snapshots") == ["1"])
    }

    @Test("appends of every size, across the multi-row inserts' boundaries, read back exactly")
    func chunkBoundaries() throws {
        let directory = TemporaryDirectory()
        let journal = DeterministicJournal.entries(seed: 11, through: 400)
        let store = try SQLiteStore(path: directory.file("chunks.sqlite"))
        var last = 0
        for size in [1, 31, 32, 33, 64, 65, 100, 74] {
            try store.append(Array(journal[last..<last + size]), expectingLastSequence: Int64(last))
            last += size
        }
        #expect(last == journal.count)
        #expect(try store.entries(after: 0, limit: 1_000) == journal)
    }

    @Test("a duplicate inside a multi-row insert names the row that broke the rule, and nothing is written")
    func duplicateInsideChunk() throws {
        let directory = TemporaryDirectory()
        let journal = DeterministicJournal.entries(seed: 12, through: 200)
        let store = try SQLiteStore(path: directory.file("chunk-duplicate.sqlite"))
        try store.append(Array(journal.prefix(100)), expectingLastSequence: 0)
        // Entry 150 reuses entry 7's idempotency key, in the middle of the second 32-row insert.
        var batch = Array(journal[100..<200])
        let reused = journal[6].idempotencyKey
        let original = batch[49]
        batch[49] = JournalEntry(
            sequence: original.sequence,
            idempotencyKey: reused,
            payloadDigest: original.payloadDigest,
            command: original.command,
            outcome: original.outcome,
            transfers: original.transfers
        )
        let error = #expect(throws: FissionError.self) { try store.append(batch, expectingLastSequence: 100) }
        #expect(error?.code == .duplicateIdempotencyKey)
        #expect(error?.reason.contains("\(reused)") == true, "\(error?.reason ?? "")")
        #expect(try store.lastSequence() == 100)
        #expect(try store.entries(after: 0, limit: 1_000) == Array(journal.prefix(100)))
        try store.append(Array(journal[100..<200]), expectingLastSequence: 100)
        #expect(try store.entries(after: 0, limit: 1_000) == journal)
    }

    @Test("synchronous is FULL by default and NORMAL only when asked; the busy timeout and cache size are set")
    func options() throws {
        let directory = TemporaryDirectory()
        let full = try SQLiteStore(path: directory.file("full.sqlite"))
        #expect(try full.query("PRAGMA synchronous") == ["2"])
        #expect(try full.query("PRAGMA journal_mode") == ["wal"])
        #expect(try full.query("PRAGMA foreign_keys") == ["1"])
        #expect(try full.query("PRAGMA busy_timeout") == ["5000"])
        let normal = try SQLiteStore(
            path: directory.file("normal.sqlite"),
            options: .init(synchronous: .normal, busyTimeoutMilliseconds: 250)
        )
        #expect(try normal.query("PRAGMA synchronous") == ["1"])
        #expect(try normal.query("PRAGMA busy_timeout") == ["250"])
        #expect(try normal.query("PRAGMA cache_size") == (try full.query("PRAGMA cache_size")))
        let cached = try SQLiteStore(
            path: directory.file("cached.sqlite"),
            options: .init(cacheSizeKibibytes: 16_384)
        )
        #expect(try cached.query("PRAGMA cache_size") == ["-16384"])
        #expect(SQLiteStore.Options(cacheSizeKibibytes: 0).cacheSizeKibibytes == 1)
    }

    @Test("two stores on one file: the second writer gets storeConflict, catches up and appends")
    func twoWriters() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("shared.sqlite")
        let journal = DeterministicJournal.entries(seed: 21, through: 4)
        let first = try SQLiteStore(path: path)
        let second = try SQLiteStore(path: path)
        try first.append(Array(journal[..<2]), expectingLastSequence: 0)
        #expect(throws: FissionError(code: .storeConflict)) {
            try second.append(Array(journal[..<1]), expectingLastSequence: 0)
        }
        let seen = try second.lastSequence()
        #expect(try second.entries(after: 0, limit: 10) == Array(journal[..<2]))
        try second.append(Array(journal[2...]), expectingLastSequence: seen)
        #expect(try first.entries(after: 0, limit: 10) == journal)
        #expect(throws: FissionError(code: .duplicateIdempotencyKey)) {
            try first.append(
                [
                    JournalEntry(
                        sequence: 5,
                        idempotencyKey: journal[0].idempotencyKey,
                        payloadDigest: 0,
                        command: [],
                        outcome: [],
                        transfers: []
                    )
                ],
                expectingLastSequence: 4
            )
        }
    }

    @Test("a closed store refuses calls with storeClosed; closing twice is harmless")
    func closed() throws {
        let directory = TemporaryDirectory()
        let store = try SQLiteStore(path: directory.file("closed.sqlite"))
        store.close()
        store.close()
        #expect(throws: FissionError(code: .storeClosed)) { try store.lastSequence() }
        #expect(throws: FissionError(code: .storeClosed)) { try store.append([], expectingLastSequence: 0) }
    }

    @Test("a folder that does not exist gives storeIOError")
    func missingFolder() throws {
        #expect(throws: FissionError(code: .storeIOError)) {
            try SQLiteStore(path: "/nonexistent-fission-folder/store.sqlite")
        }
    }
}

/// Reads the Swift sources of a module of this package, found from this file's path.
enum URLFreeSources {
    static func files(ofModule module: String) -> [(String, String)] {
        // #filePath is <package>/Tests/FissionSQLiteTests/<file>.swift.
        let parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count > 3 else { return [] }
        let folder = parts.dropLast(3).joined(separator: "/") + "/Sources/" + module
        guard let directory = opendir(folder) else { return [] }
        defer { closedir(directory) }
        var files: [(String, String)] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasSuffix(".swift"), let bytes = fileBytes(folder + "/" + name) else { continue }
            files.append((name, String(decoding: bytes, as: UTF8.self)))
        }
        return files
    }
}
