import Fission
import Testing

/// `submit(batch:)` with a time per command: one append, each command applied at its own time (or
/// the engine's clock, if later), exactly as submitting them one by one would.
struct EngineTimedBatchTests {
    @Test(arguments: StoreKind.allCases)
    func aTimedBatchIsTheSameAsSubmittingOneByOne(kind: StoreKind) async throws {
        let steps = try scenario(moderated: false)
        let oneByOne = try FissionEngine(store: try kind.make())
        var expected: [Result<EngineOutcome, FissionError>] = []
        for step in steps {
            do {
                expected.append(.success(try await oneByOne.submit(step.command, key: step.key, at: step.at)))
            } catch {
                expected.append(.failure(error))
            }
        }
        let store = try kind.make()
        let batched = try FissionEngine(store: store)
        let results = try await batched.submit(batch: steps)
        #expect(results.count == expected.count)
        for (result, wanted) in zip(results, expected) { #expect(result == wanted) }
        #expect(await fingerprint(batched) == fingerprint(oneByOne))
        // One append: every entry applied at its step's time (the scenario's times increase).
        let records = try await batched.journal(after: 0, limit: 100)
        #expect(records.map(\.appliedAt) == steps.map(\.at))
        #expect(await fingerprint(try FissionEngine(store: store)) == fingerprint(oneByOne))
    }

    @Test func aTimeBeforeTheClockIsAppliedAtTheClockWithinTheBatch() async throws {
        let engine = try await seededEngine(.memory)
        let results = try await engine.submit(batch: [
            ("o1", .orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)]), at(days: 2)),
            ("o2", .orderPaid(order: "o2", buyer: "bob", kind: .regular, lines: [line(100)]), at(days: 1)),
        ])
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        let records = try await engine.journal(after: await engine.lastSequence - 2, limit: 2)
        #expect(records.map(\.appliedAt) == [at(days: 2), at(days: 2)])
        #expect(try await engine.submit(batch: []).isEmpty)
    }

    /// When a command poisons the state mid-batch, the engine rebuilds and applies the batch's
    /// earlier commands again, each at its own time: at another time their transfers would differ
    /// from their entries, and the batch would fail as `journalMismatch`.
    @Test func aPoisonedBatchReappliesEachEarlierCommandAtItsOwnTime() async throws {
        let configuration = FissionEngine.Configuration(models: [ContractBreakingModel.self])
        let store = InMemoryStore()
        let engine = try FissionEngine(store: store, configuration: configuration)
        try await seed(engine)
        let batch: [(key: EventID, command: EngineCommand, at: Timestamp)] = [
            ("reg-dave", .registerMember("dave", invitedBy: "carol", campaign: nil, channel: nil), at(days: 1)),
            ("o1", .orderPaid(order: "o1", buyer: "dave", kind: .regular, lines: [line(100)]), at(days: 2)),
            ("poison", .model(.poison, of: ContractBreakingModel.self), at(days: 3)),
            ("o2", .orderPaid(order: "o2", buyer: "dave", kind: .regular, lines: [line(50)]), at(days: 4)),
        ]
        let results = try await engine.submit(batch: batch)
        #expect(results.map { (try? $0.get()) != nil } == [true, true, false, true])
        let records = try await engine.journal(after: await engine.lastSequence - 3, limit: 3)
        #expect(records.map(\.key) == ["reg-dave", "o1", "o2"])
        #expect(records.map(\.appliedAt) == [at(days: 1), at(days: 2), at(days: 4)])
        #expect(await fingerprint(try FissionEngine(store: store, configuration: configuration)) == fingerprint(engine))
    }
}
