import Fission
import FissionStorageTesting
import Testing

/// The engine's batch path and its order book keep exactly-once: a key is spent only by an
/// accepted command, and paid orders are found again after a snapshot of hundreds of them.
struct EngineReviewTests {
    static func paid(_ order: OrderID, _ yuanPaid: Int64 = 100) -> EngineCommand {
        .orderPaid(order: order, buyer: "carol", kind: .regular, lines: [line(yuanPaid)])
    }

    @Test func aKeyWhoseFirstCommandFailedIsFreeLaterInTheSameBatch() async throws {
        let engine = try await seededEngine(.memory)
        let before = await engine.lastSequence
        let results = try await engine.submit(
            batch: [
                ("k", .orderPaid(order: "o1", buyer: "nobody", kind: .regular, lines: [line(100)])),
                ("k", Self.paid("o1")),
                ("k", Self.paid("o1")),
                ("k", Self.paid("o2")),
            ],
            at: at(days: 1)
        )
        #expect(throws: FissionError.self) { try results[0].get() }
        let accepted = try results[1].get()
        #expect(!accepted.isDuplicate && accepted.sequence == before + 1)
        let retry = try results[2].get()
        #expect(retry.isDuplicate && retry.sequence == accepted.sequence && retry.effects == accepted.effects)
        if case .failure(let error) = results[3] {
            #expect(error.code == .idempotencyConflict)
        } else {
            Issue.record("a repeated key with another payload was accepted")
        }
        #expect(await engine.lastSequence == before + 1)
        #expect(await engine.state.paidOrderCount(of: "carol") == 1)
    }

    @Test(arguments: StoreKind.allCases)
    func aStoredKeyRepeatedInABatchAnswersWithTheStoredOutcome(_ kind: StoreKind) async throws {
        let engine = try await seededEngine(kind)
        let original = try await engine.submit(Self.paid("o1"), key: "o1:paid", at: at(days: 1))
        let results = try await engine.submit(
            batch: [
                ("o1:paid", Self.paid("o1")), ("o2:paid", Self.paid("o2")), ("o1:paid", Self.paid("o1")),
                ("o1:paid", Self.paid("o9")),
            ],
            at: at(days: 1)
        )
        for index in [0, 2] {
            let again = try results[index].get()
            #expect(again.isDuplicate && again.sequence == original.sequence && again.effects == original.effects)
        }
        #expect(try results[1].get().sequence == original.sequence + 1)
        if case .failure(let error) = results[3] { #expect(error.code == .idempotencyConflict) }
        #expect(await engine.lastSequence == original.sequence + 1)
        #expect(await engine.state.paidOrderCount(of: "carol") == 2)
    }

    @Test func hundredsOfOrdersAreFoundAfterASnapshotAndReopening() async throws {
        let store = InMemoryStore()
        let engine = try FissionEngine(store: store)
        try await seed(engine)
        let batch: [(key: EventID, command: EngineCommand)] = try (0..<300).map { index in
            (
                try EventID("paid-\(index)"),
                Self.paid(index % 2 == 0 ? OrderID(Int64(index)) : try OrderID("o-\(index)"))
            )
        }
        let results = try await engine.submit(batch: batch, at: at(days: 1))
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        try await engine.checkpoint()
        let reopened = try FissionEngine(store: store)
        #expect(await fingerprint(reopened) == fingerprint(engine))
        for order: OrderID in [0, 150, 298, "o-1", "o-299"] {
            let repaid = await #expect(throws: FissionError.self) {
                try await reopened.submit(Self.paid(order), key: try EventID("again-\(order)"), at: at(days: 2))
            }
            #expect(repaid?.code == .duplicateOrder)
            try await reopened.submit(
                .orderRefunded(order: order, amount: yuan(10)),
                key: try EventID("refund-\(order)"),
                at: at(days: 2)
            )
        }
        let unknown = await #expect(throws: FissionError.self) {
            try await reopened.submit(.orderRefunded(order: 1, amount: yuan(10)), key: "refund-1", at: at(days: 2))
        }
        #expect(unknown?.code == .orderNotFound)
    }

    /// A 40-command batch (two 32-row inserts on SQLite) whose append fails before or after it is
    /// written, retried with its keys: each command is applied exactly once.
    @Test(arguments: StoreKind.allCases, [FaultInjectingStore.Timing.beforeWrite, .afterWrite])
    func aRetriedBatchAfterAFailedAppendIsAppliedOnce(
        _ kind: StoreKind,
        _ timing: FaultInjectingStore.Timing
    )
        async throws
    {
        let inner = try kind.make()
        let store = FaultInjectingStore(wrapping: inner)
        let engine = try FissionEngine(store: store)
        try await seed(engine)
        let before = try inner.lastSequence()
        let batch: [(key: EventID, command: EngineCommand)] = try (0..<40).map { index in
            (try EventID("paid-\(index)"), Self.paid(OrderID(Int64(index))))
        }
        store.failWrite(store.writeCount + 1, timing: timing)
        let error = await #expect(throws: FissionError.self) { try await engine.submit(batch: batch, at: at(days: 1)) }
        #expect(error?.code == .storeCallFailed)
        #expect(try inner.lastSequence() == before + (timing == .afterWrite ? 40 : 0))
        let retried = try await engine.submit(batch: batch, at: at(days: 1))
        #expect(try retried.map { try $0.get().isDuplicate } == Array(repeating: timing == .afterWrite, count: 40))
        #expect(try inner.lastSequence() == before + 40)
        #expect(await engine.state.paidOrderCount(of: "carol") == 40)
        #expect(try await fingerprint(engine) == committedFingerprint(inner))
    }
}
