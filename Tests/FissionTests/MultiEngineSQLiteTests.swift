import FissionSQLite
import FissionStorage
import Foundation
import Synchronization
import Testing

@testable import Fission

// Several engines, each on its own SQLiteStore over one file, as a host runs replicas: in turn
// against a reference engine on an InMemoryStore that gets the same submissions in the same
// order, and at once against the invariants (a review of 2026-12-06 wrote them; they found the
// race `EngineConcurrencyTests.aKeyCommittedBetweenCatchUpAndKeyLookup` pins).

/// A fresh path for a shared SQLite file, in a folder of this process; `removeSharedFile(_:)`
/// deletes it with its WAL and shared-memory files.
func sharedFilePath(_ name: String) -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
        "fission-multi-engine-\(ProcessInfo.processInfo.processIdentifier)"
    )
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder.appendingPathComponent("\(name)-\(UUID().uuidString).sqlite").path
}

func removeSharedFile(_ path: String) {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

func allTransfers(_ state: EngineState) -> [Transfer] {
    var transfers: [Transfer] = []
    while true {
        let page = state.settlement.ledger.transfers(after: transfers.last?.id, limit: Ledger.maximumPageSize)
        if page.isEmpty { break }
        transfers += page
    }
    return transfers
}

/// funded = spent + left + pending for every campaign and unit, recomputed from the transfers;
/// no reward identity twice; a pending transfer posted at most once and never over its amount.
func conservationIssues(_ state: EngineState) -> [String] {
    let ledger = state.settlement.ledger
    var issues = ledger.audit()
    let transfers = allTransfers(state)
    var keys: Set<TransferKey> = []
    var byID: [TransferID: Transfer] = [:]
    var remaining: [TransferID: Int64] = [:]
    var postedPending: Set<TransferID> = []
    struct Flow {
        var funded: Int64 = 0
        var spent: Int64 = 0
        var pending: Int64 = 0
    }
    var flows: [AccountKey: Flow] = [:]
    func budget(_ account: AccountKey) -> AccountKey? {
        if case .budget = account.owner { return account }
        return nil
    }
    for transfer in transfers {
        byID[transfer.id] = transfer
        if let key = transfer.key, !keys.insert(key).inserted { issues.append("transfer key \(key) twice") }
        switch transfer.kind {
        case .posted, .reversal:
            if let b = budget(transfer.credit) {
                if case .outside = transfer.debit.owner {
                    flows[b, default: Flow()].funded += transfer.amount
                } else {
                    flows[b, default: Flow()].spent -= transfer.amount
                }
            }
            if let b = budget(transfer.debit) { flows[b, default: Flow()].spent += transfer.amount }
        case .pending:
            remaining[transfer.id] = transfer.amount
            if let b = budget(transfer.debit) { flows[b, default: Flow()].pending += transfer.amount }
        case .postPending(let id):
            guard let original = byID[id], let open = remaining[id] else {
                issues.append("\(transfer.id) posts \(id), not a pending transfer")
                continue
            }
            if !postedPending.insert(id).inserted { issues.append("\(id) posted twice") }
            if open != transfer.amount {
                issues.append("\(transfer.id) posts \(transfer.amount) of \(id), \(open) open")
            }
            remaining[id] = 0
            if let b = budget(original.debit) {
                flows[b, default: Flow()].pending -= transfer.amount
                flows[b, default: Flow()].spent += transfer.amount
            }
        case .voidPending(let id):
            guard let original = byID[id], let open = remaining[id] else {
                issues.append("\(transfer.id) voids \(id), not a pending transfer")
                continue
            }
            if transfer.amount > open {
                issues.append("\(transfer.id) voids \(transfer.amount) of \(id), \(open) open")
            }
            remaining[id] = open - transfer.amount
            if let b = budget(original.debit) { flows[b, default: Flow()].pending -= transfer.amount }
        }
    }
    for (account, flow) in flows {
        let balance = ledger.balance(of: account)
        let left = balance.available
        if flow.funded != flow.spent + left + flow.pending || balance.debitsPending != flow.pending {
            issues.append(
                "\(account): funded \(flow.funded), spent \(flow.spent), left \(left), pending \(flow.pending) "
                    + "(ledger pending \(balance.debitsPending))"
            )
        }
        if left < 0 { issues.append("\(account) below zero: \(left)") }
    }
    return issues
}

func outcome(
    _ body: () async throws(FissionError) -> EngineOutcome
) async -> Result<EngineOutcome, FissionError> {
    do throws(FissionError) { return .success(try await body()) } catch { return .failure(error) }
}

struct MultiEngineSQLiteTests {
    static let seeds = propertySeeds(from: 41_000, ciCount: 6)

    final class Slot {
        var store: SQLiteStore
        var engine: FissionEngine
        init(store: SQLiteStore, engine: FissionEngine) {
            self.store = store
            self.engine = engine
        }
    }

    /// Engines submit in turn (never at once): each catches up first, so the shared file must be
    /// the journal of one engine that got everything, result for result.
    @Test(arguments: seeds) func interleavedEnginesOnOneFileMatchOneEngine(seed: UInt64) async throws {
        var random = SeededGenerator(seed: seed &* 7 &+ 1)
        var stream = EngineStream(seed: seed)
        let batches = try stream.batches(count: 70)
        let policies = [
            BindingPolicy(),
            BindingPolicy(moment: .firstOrder),
            BindingPolicy(duration: .lastTouch),
            BindingPolicy(scope: .newMembersOnly, duration: .protectionWindow(days: 2)),
        ]
        let policy = policies[Int(seed % 4)]
        func configuration(_ interval: Int?) -> FissionEngine.Configuration {
            // A layering policy that moves members: the stream's evaluations catch up across engines.
            FissionEngine.Configuration(
                bindingPolicy: policy,
                layeringPolicy: EngineLayeringTests.policy,
                snapshotInterval: interval
            )
        }
        let reference = try FissionEngine(store: InMemoryStore(), configuration: configuration(nil))
        let path = sharedFilePath("interleave-\(seed)")
        defer { removeSharedFile(path) }
        func open() throws -> Slot {
            let interval: Int? = random.next(below: 3) == 0 ? nil : 1 + Int(random.next(below: 6))
            let store = try SQLiteStore(path: path)
            return Slot(store: store, engine: try FissionEngine(store: store, configuration: configuration(interval)))
        }
        var slots = [try open(), try open(), try open()]
        var accepted: [EventID: (command: EngineCommand, outcome: EngineOutcome)] = [:]
        var log: [String] = []

        func check(
            _ ours: Result<EngineOutcome, FissionError>,
            _ theirs: Result<EngineOutcome, FissionError>,
            _ what: String
        ) {
            switch (ours, theirs) {
            case (.success(let one), .success(let other)):
                #expect(
                    one == other,
                    "seed \(seed): \(what): \(one) vs reference \(other)\n\(log.suffix(8).joined(separator: "\n"))"
                )
            case (.failure(let one), .failure(let other)):
                #expect(
                    one.code == other.code,
                    "seed \(seed): \(what): \(one) vs reference \(other)\n\(log.suffix(8).joined(separator: "\n"))"
                )
            default:
                Issue.record(
                    "seed \(seed): \(what): \(ours) vs reference \(theirs)\n\(log.suffix(8).joined(separator: "\n"))"
                )
            }
        }

        for (number, batch) in batches.enumerated() {
            var commands = batch.commands.map { stream.resolve($0, accepted: accepted) }
            // Repeated keys inside a batch: the same command again, or another under the key.
            if commands.count > 1, random.next(below: 4) == 0 {
                let from = Int(random.next(below: UInt64(commands.count)))
                let other = Int(random.next(below: UInt64(commands.count)))
                let command = random.next(below: 2) == 0 ? commands[from].command : commands[other].command
                commands.insert((commands[from].key, command), at: Int(random.next(below: UInt64(commands.count + 1))))
            }
            let results: [Result<EngineOutcome, FissionError>]
            let expected: [Result<EngineOutcome, FissionError>]
            if random.next(below: 2) == 0 {
                let slot = Int(random.next(below: UInt64(slots.count)))
                log.append("batch \(number) to engine \(slot): \(commands.map { "\($0.key)" })")
                results = try await slots[slot].engine.submit(batch: commands, at: batch.at)
                expected = try await reference.submit(batch: commands, at: batch.at)
            } else {
                var ours: [Result<EngineOutcome, FissionError>] = []
                var theirs: [Result<EngineOutcome, FissionError>] = []
                for (key, command) in commands {
                    let slot = Int(random.next(below: UInt64(slots.count)))
                    log.append("batch \(number): \(key) to engine \(slot)")
                    do throws(FissionError) {
                        ours.append(.success(try await slots[slot].engine.submit(command, key: key, at: batch.at)))
                    } catch { ours.append(.failure(error)) }
                    do throws(FissionError) {
                        theirs.append(.success(try await reference.submit(command, key: key, at: batch.at)))
                    } catch { theirs.append(.failure(error)) }
                }
                results = ours
                expected = theirs
            }
            #expect(results.count == expected.count)
            for (index, (ours, theirs)) in zip(results, expected).enumerated() {
                check(ours, theirs, "batch \(number) command \(index) (\(commands[index].key))")
                if case .success(let outcome) = theirs, accepted[commands[index].key] == nil, !outcome.isDuplicate {
                    accepted[commands[index].key] = (commands[index].command, outcome)
                }
            }
            // Arbitrary housekeeping from either engine.
            switch random.next(below: 12) {
            case 0, 1:
                let slot = Int(random.next(below: UInt64(slots.count)))
                log.append("checkpoint by engine \(slot)")
                try await slots[slot].engine.checkpoint()
            case 2, 3:
                let slot = Int(random.next(below: UInt64(slots.count)))
                log.append("refresh by engine \(slot)")
                try await slots[slot].engine.refresh()
                #expect(
                    await fingerprint(slots[slot].engine) == fingerprint(reference),
                    "seed \(seed): refresh \(number)"
                )
            case 4:
                let slot = Int(random.next(below: UInt64(slots.count)))
                log.append("reopen engine \(slot)")
                slots[slot].store.close()
                slots[slot] = try open()
                #expect(
                    await fingerprint(slots[slot].engine) == fingerprint(reference),
                    "seed \(seed): reopen \(number)"
                )
            case 5, 6:
                let slot = Int(random.next(below: UInt64(slots.count)))
                let to = try batch.at.adding(milliseconds: Int64(random.next(below: 5 * 24)) * 3_600_000)
                log.append("advance by engine \(slot) to \(to)")
                let engine = slots[slot].engine
                let ours = await outcome { () async throws(FissionError) in try await engine.advance(to: to) }
                let theirs = await outcome { () async throws(FissionError) in try await reference.advance(to: to) }
                check(ours, theirs, "advance after batch \(number)")
            default: break
            }
        }
        for slot in slots { try await slot.engine.refresh() }
        let expected = await fingerprint(reference)
        let expectedBytes = try await reference.state.snapshot()
        for (index, slot) in slots.enumerated() {
            #expect(await fingerprint(slot.engine) == expected, "seed \(seed): engine \(index)")
            #expect(
                try await slot.engine.state.snapshot() == expectedBytes,
                "seed \(seed): engine \(index) snapshot bytes"
            )
            #expect(await slot.engine.lastSequence == reference.lastSequence)
            #expect(await slot.engine.automaticCheckpointFailure == nil)
        }
        let reopenedStore = try SQLiteStore(path: path)
        let reopened = try FissionEngine(store: reopenedStore, configuration: configuration(nil))
        #expect(await fingerprint(reopened) == expected, "seed \(seed): reopened")
        #expect(try await reopened.state.snapshot() == expectedBytes, "seed \(seed): reopened snapshot bytes")
        // And from the journal alone, on an in-memory copy.
        let copy = InMemoryStore()
        var entries: [JournalEntry] = []
        while true {
            let page = try reopenedStore.entries(after: entries.last?.sequence ?? 0, limit: 1_000)
            if page.isEmpty { break }
            entries += page
        }
        try copy.append(entries, expectingLastSequence: 0)
        let replayed = try FissionEngine(store: copy, configuration: configuration(nil))
        #expect(try await replayed.state.snapshot() == expectedBytes, "seed \(seed): replayed snapshot bytes")
        let issues = conservationIssues(await reference.state)
        #expect(issues.isEmpty, "seed \(seed): \(issues)")
        #expect(try reopenedStore.integrityCheck() == ["ok"])
        for slot in slots { slot.store.close() }
        reopenedStore.close()
    }
}

/// What one submission gave, for the checks after a concurrent run.
struct SubmissionRecord: Sendable {
    let engine: Int
    let key: EventID
    let command: EngineCommand
    let result: Result<EngineOutcome, FissionError>
}

extension MultiEngineSQLiteTests {
    static let concurrentSeeds = propertySeeds(from: 52_000, ciCount: 4)

    /// Engines on one file submit at once (overlapping keys, other payloads under one key, repeats
    /// inside batches), checkpoint, refresh and advance whenever: nothing granted twice, every
    /// success is the journal's entry for its key, a key refused everywhere leaves no trace, and
    /// every engine ends equal to a fresh one on the file.
    @Test(arguments: concurrentSeeds) func concurrentEnginesOnOneFile(seed: UInt64) async throws {
        try await self.concurrentEngines(seed: seed, options: SQLiteStore.Options())
    }

    /// The same with a busy timeout of 0: writers collide on SQLite's lock and get `storeBusy`
    /// ("nothing was written", Storage.md).
    @Test(arguments: concurrentSeeds) func concurrentEnginesWithoutBusyWaiting(seed: UInt64) async throws {
        try await self.concurrentEngines(seed: seed, options: SQLiteStore.Options(busyTimeoutMilliseconds: 0))
    }

    func concurrentEngines(seed: UInt64, options: SQLiteStore.Options) async throws {
        var stream = EngineStream(seed: seed)
        let batches = try stream.batches(count: 60)
        let path = sharedFilePath("concurrent-\(seed)-busy\(options.busyTimeoutMilliseconds)")
        defer { removeSharedFile(path) }
        let engineCount = 2 + Int(seed % 2)
        var stores: [SQLiteStore] = []
        var engines: [FissionEngine] = []
        let appendLog = AppendLog()
        for index in 0..<engineCount {
            let store = try SQLiteStore(path: path, options: options)
            stores.append(store)
            engines.append(
                try FissionEngine(
                    store: LoggingStore(store, engine: index, log: appendLog),
                    configuration: .init(snapshotInterval: index == 0 ? nil : 2 + index)
                )
            )
        }
        // The setup first, from engine 0.
        let setup = batches[0].commands.map { stream.resolve($0, accepted: [:]) }
        _ = try await engines[0].submit(batch: setup, at: batches[0].at)
        // Every later command, as one plan both engines draw from in their own order.
        var plan: [(at: Timestamp, key: EventID, command: EngineCommand)] = []
        for batch in batches.dropFirst() {
            for planned in batch.commands {
                if case .new(let key, let command) = planned { plan.append((batch.at, key, command)) }
            }
        }
        let frozenPlan = plan
        let records = await withTaskGroup(of: [SubmissionRecord].self) { group in
            for index in 0..<engineCount {
                let engine = engines[index]
                group.addTask {
                    var random = SeededGenerator(seed: seed &* 31 &+ UInt64(index))
                    var records: [SubmissionRecord] = []
                    var position = 0
                    while position < frozenPlan.count {
                        let size = 1 + Int(random.next(below: 5))
                        var batch: [(key: EventID, command: EngineCommand)] = []
                        let at = frozenPlan[position].at
                        for item in frozenPlan[position..<min(position + size, frozenPlan.count)] {
                            // Sometimes another payload under the key (taken from elsewhere in the plan).
                            if random.next(below: 10) == 0 {
                                let other = frozenPlan[Int(random.next(below: UInt64(frozenPlan.count)))]
                                batch.append((item.key, other.command))
                            } else {
                                batch.append((item.key, item.command))
                            }
                        }
                        if batch.count > 1, random.next(below: 4) == 0 { batch.append(batch[0]) }
                        position += size
                        if random.next(below: 2) == 0 {
                            do throws(FissionError) {
                                let results = try await engine.submit(batch: batch, at: at)
                                for (pair, result) in zip(batch, results) {
                                    records.append(
                                        .init(engine: index, key: pair.key, command: pair.command, result: result)
                                    )
                                }
                            } catch {
                                for pair in batch {
                                    records.append(
                                        .init(
                                            engine: index,
                                            key: pair.key,
                                            command: pair.command,
                                            result: .failure(error)
                                        )
                                    )
                                }
                            }
                        } else {
                            for pair in batch {
                                let result = await outcome { () async throws(FissionError) in
                                    try await engine.submit(pair.command, key: pair.key, at: at)
                                }
                                records.append(
                                    .init(engine: index, key: pair.key, command: pair.command, result: result)
                                )
                            }
                        }
                        switch random.next(below: 10) {
                        case 0: try? await engine.checkpoint()
                        case 1: try? await engine.refresh()
                        case 2:
                            let to = try! at.adding(milliseconds: Int64(random.next(below: 96)) * 3_600_000)
                            let result = await outcome { () async throws(FissionError) in
                                try await engine.advance(to: to)
                            }
                            records.append(
                                .init(
                                    engine: index,
                                    key: try! EventID("advance@\(to.millisecondsSinceEpoch)"),
                                    command: .advance,
                                    result: result
                                )
                            )
                        default: break
                        }
                    }
                    return records
                }
            }
            var all: [SubmissionRecord] = []
            for await records in group { all += records }
            return all
        }
        for engine in engines { try await engine.refresh() }
        let freshStore = try SQLiteStore(path: path)
        let fresh = try FissionEngine(store: freshStore)

        let expected = await fingerprint(fresh)
        let expectedBytes = try await fresh.state.snapshot()
        for (index, engine) in engines.enumerated() {
            #expect(await fingerprint(engine) == expected, "seed \(seed): engine \(index)")
            #expect(try await engine.state.snapshot() == expectedBytes, "seed \(seed): engine \(index) bytes")
            if options.busyTimeoutMilliseconds > 0 {
                #expect(await engine.automaticCheckpointFailure == nil, "seed \(seed): engine \(index)")
            }
        }
        let issues = conservationIssues(await fresh.state)
        #expect(issues.isEmpty, "seed \(seed): \(issues)")

        // Per key: every success is the journal's entry; a key refused everywhere (for its input)
        // is not in the journal.
        // Only a failed write's outcome is unknown; storeConflict and storeBusy commit nothing.
        let unknownOutcome: Set<FissionError.Code> = [.storeCallFailed, .storeIOError]
        var byKey: [EventID: [SubmissionRecord]] = [:]
        for record in records { byKey[record.key, default: []].append(record) }
        for (key, submissions) in byKey {
            let entry = try stores[0].entry(forKey: key)
            var firsts = 0
            for submission in submissions {
                switch submission.result {
                case .success(let outcome):
                    if !outcome.isDuplicate { firsts += 1 }
                    #expect(
                        entry?.sequence == outcome.sequence,
                        "seed \(seed): \(key) succeeded at \(outcome.sequence), journal has \(String(describing: entry?.sequence))"
                    )
                    if let entry {
                        let stored = try EngineOutcome.decode(
                            entry.outcome,
                            sequence: entry.sequence,
                            isDuplicate: outcome.isDuplicate
                        )
                        #expect(stored == outcome, "seed \(seed): \(key)'s outcome differs from the journal's")
                    }
                case .failure:
                    break
                }
            }
            #expect(firsts <= 1, "seed \(seed): \(key) applied \(firsts) times")
            let allRefused = submissions.allSatisfy {
                if case .failure(let error) = $0.result { return !unknownOutcome.contains(error.code) }
                return false
            }
            if allRefused, !key.description.hasPrefix("advance@") {
                let lines = appendLog.lines.withLock { $0 }.filter {
                    $0.contains("[\(key)]") || $0.contains(" \(key),") || $0.contains("[\(key),")
                        || $0.contains(", \(key)]")
                }
                #expect(
                    entry == nil,
                    "appends: \(lines.joined(separator: "\n"))\nseed \(seed): \(key) refused everywhere but journaled at \(entry?.sequence ?? -1): \(submissions.map { "\($0.result)" })"
                )
            }
        }
        for store in stores { store.close() }
        freshStore.close()
    }
}

final class AppendLog: Sendable {
    let lines = Mutex<[String]>([])
}

/// Forwards to a store and logs every append and its result.
final class LoggingStore: FissionStore {
    let inner: any FissionStore
    let engine: Int
    let log: AppendLog
    init(_ inner: any FissionStore, engine: Int, log: AppendLog) {
        self.inner = inner
        self.engine = engine
        self.log = log
    }
    var maximumPageSize: Int { self.inner.maximumPageSize }
    func append(_ entries: [JournalEntry], expectingLastSequence: Int64) throws {
        let what =
            "engine \(self.engine) append after \(expectingLastSequence): \(entries.map { "\($0.sequence)=\($0.idempotencyKey)" }) keys \(entries.map(\.idempotencyKey))"
        do {
            try self.inner.append(entries, expectingLastSequence: expectingLastSequence)
            self.log.lines.withLock { $0.append("\(what) -> ok") }
        } catch {
            self.log.lines.withLock { $0.append("\(what) -> \(error)") }
            throw error
        }
    }
    func lastSequence() throws -> Int64 { try self.inner.lastSequence() }
    func entry(forKey key: EventID) throws -> JournalEntry? { try self.inner.entry(forKey: key) }
    func entries(forKeys keys: [EventID]) throws -> [JournalEntry?] { try self.inner.entries(forKeys: keys) }
    func entries(after sequence: Int64, limit: Int) throws -> [JournalEntry] {
        do { return try self.inner.entries(after: sequence, limit: limit) } catch {
            self.log.lines.withLock { $0.append("engine \(self.engine) read after \(sequence) -> \(error)") }
            throw error
        }
    }
    func saveSnapshot(_ snapshot: StoreSnapshot) throws { try self.inner.saveSnapshot(snapshot) }
    func latestSnapshot() throws -> StoreSnapshot? {
        do { return try self.inner.latestSnapshot() } catch {
            self.log.lines.withLock { $0.append("engine \(self.engine) latestSnapshot -> \(error)") }
            throw error
        }
    }
}
