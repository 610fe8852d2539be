import Fission
import FissionStorageTesting
import Synchronization
import Testing

struct EngineFaultTests {
    static let timings: [FaultInjectingStore.Timing] = [.beforeWrite, .afterWrite]

    /// For every write of the scenario, fail it (before or after it reaches the store): the engine
    /// ends up equal to what the store committed, the resubmitted command applies exactly once,
    /// and resubmitting everything afterwards changes nothing.
    @Test(arguments: timings) func everyFailedWriteLeavesTheEngineEqualToTheStore(
        _ timing: FaultInjectingStore.Timing
    ) async throws {
        let steps = try scenario(moderated: false)
        let clean = try await runScenario(on: InMemoryStore(), moderated: false)
        let expected = await fingerprint(clean)
        let committed = await clean.lastSequence
        #expect(committed == Int64(steps.count))
        for write in 1...steps.count {
            let inner = InMemoryStore()
            let store = FaultInjectingStore(wrapping: inner)
            store.failWrite(write, timing: timing)
            let engine = try FissionEngine(store: store)
            var failures = 0
            for step in steps {
                do {
                    try await engine.submit(step.command, key: step.key, at: step.at)
                } catch {
                    failures += 1
                    #expect(error.code == .storeCallFailed, "write \(write) \(timing): \(error)")
                    #expect(try await fingerprint(engine) == committedFingerprint(inner), "write \(write) \(timing)")
                    #expect(await engine.lastSequence == inner.lastSequence())
                    let retry = try await engine.submit(step.command, key: step.key, at: step.at)
                    #expect(retry.isDuplicate == (timing == .afterWrite), "write \(write) \(timing)")
                }
            }
            #expect(failures == 1, "write \(write) \(timing)")
            for step in steps {
                let again = try await engine.submit(step.command, key: step.key, at: step.at)
                #expect(again.isDuplicate, "write \(write) \(timing): \(step.key)")
            }
            #expect(await fingerprint(engine) == expected, "write \(write) \(timing)")
            #expect(inner.lastSequence() == committed, "write \(write) \(timing)")
        }
    }

    @Test(arguments: timings) func aFailedBatchIsCommittedWholeOrNotAtAll(
        _ timing: FaultInjectingStore.Timing
    ) async throws {
        let inner = InMemoryStore()
        let store = FaultInjectingStore(wrapping: inner)
        let engine = try FissionEngine(store: store)
        try await seed(engine)
        let batch: [(key: EventID, command: EngineCommand)] = (0..<10).map { index in
            (EventID(index), .orderPaid(order: OrderID(index), buyer: "carol", kind: .regular, lines: [line(10)]))
        }
        store.failWrite(store.writeCount + 1, timing: timing)
        let error = await #expect(throws: FissionError.self) { try await engine.submit(batch: batch, at: at(days: 1)) }
        #expect(error?.code == .storeCallFailed)
        #expect(inner.lastSequence() == (timing == .afterWrite ? 17 : 7))
        #expect(try await fingerprint(engine) == committedFingerprint(inner))
        let retried = try await engine.submit(batch: batch, at: at(days: 1))
        #expect(try retried.map { try $0.get().isDuplicate } == Array(repeating: timing == .afterWrite, count: 10))
        #expect(inner.lastSequence() == 17)
        #expect(await engine.state.paidOrderCount(of: "carol") == 10)
    }

    @Test func anEngineThatCannotReadItsStoreShowsNothingUncommitted() async throws {
        let store = UnreadableAfterFailureStore()
        let engine = try FissionEngine(store: store)
        try await seed(engine)
        store.breakAtNextAppend()
        await #expect(throws: FissionError.self) {
            try await engine.submit(.advance, key: "a", at: at(days: 1))
        }
        // The rebuild could not read the store: the state is empty, never ahead of the store.
        #expect(await engine.state.registeredMembers.isEmpty)
        store.repair()
        try await engine.submit(.advance, key: "a", at: at(days: 1))
        #expect(await engine.state.registeredMembers.count == 3)
    }

    /// An automatic snapshot that fails to save loses nothing and is reported; the engine tries
    /// again after another interval, and a snapshot that saves clears the report.
    @Test func aFailedAutomaticSnapshotIsReportedAndTriedAgain() async throws {
        let inner = InMemoryStore()
        let store = FaultInjectingStore(wrapping: inner)
        let engine = try FissionEngine(store: store, configuration: .init(snapshotInterval: 1))
        try await seed(engine)
        #expect(await engine.automaticCheckpointFailure == nil)
        // The next command's append is write n + 1, its snapshot write n + 2.
        store.failWrite(store.writeCount + 2)
        let paid = try await engine.submit(
            .orderPaid(order: "o-1", buyer: "carol", kind: .regular, lines: [line(100)]),
            key: "paid-1",
            at: at(days: 1)
        )
        #expect(!paid.isDuplicate)
        #expect(await engine.automaticCheckpointFailure?.code == .storeCallFailed)
        #expect(inner.latestSnapshot()?.sequence == 7)
        #expect(inner.lastSequence() == 8)
        try await engine.submit(
            .orderPaid(order: "o-2", buyer: "carol", kind: .regular, lines: [line(100)]),
            key: "paid-2",
            at: at(days: 1)
        )
        #expect(await engine.automaticCheckpointFailure == nil)
        #expect(inner.latestSnapshot()?.sequence == 9)
    }
}

/// A store whose next append fails, and every call after it until `repair()`.
final class UnreadableAfterFailureStore: FissionStore {
    private let inner = InMemoryStore()
    private let broken = Mutex(false)
    private let breaksAtNextAppend = Mutex(false)

    struct Broken: Error {}

    func breakAtNextAppend() { self.breaksAtNextAppend.withLock { $0 = true } }
    func repair() { self.broken.withLock { $0 = false } }

    private func check() throws { if self.broken.withLock({ $0 }) { throw Broken() } }

    var maximumPageSize: Int { self.inner.maximumPageSize }
    func append(_ entries: [JournalEntry], expectingLastSequence: Int64) throws {
        if self.breaksAtNextAppend.withLock({ $0 }) {
            self.breaksAtNextAppend.withLock { $0 = false }
            self.broken.withLock { $0 = true }
        }
        try self.check()
        try self.inner.append(entries, expectingLastSequence: expectingLastSequence)
    }
    func lastSequence() throws -> Int64 {
        try self.check()
        return self.inner.lastSequence()
    }
    func entry(forKey key: EventID) throws -> JournalEntry? {
        try self.check()
        return self.inner.entry(forKey: key)
    }
    func entries(after sequence: Int64, limit: Int) throws -> [JournalEntry] {
        try self.check()
        return try self.inner.entries(after: sequence, limit: limit)
    }
    func saveSnapshot(_ snapshot: StoreSnapshot) throws {
        try self.check()
        try self.inner.saveSnapshot(snapshot)
    }
    func latestSnapshot() throws -> StoreSnapshot? {
        try self.check()
        return self.inner.latestSnapshot()
    }
}
