import Fission
import Testing

/// A configuration no engine can run with is refused when the engine opens, and a store whose
/// snapshot was taken under another configuration is refused rather than silently restored with
/// the snapshot's policies.
struct EngineConfigurationTests {
    @Test func aSnapshotIntervalBelowOneIsATypedError() throws {
        let error = #expect(throws: FissionError.self) {
            try FissionEngine(store: InMemoryStore(), configuration: .init(snapshotInterval: 0))
        }
        #expect(error?.code == .invalidConfiguration)
    }

    @Test func twoModelsWithOneNameAreATypedError() throws {
        let configuration = FissionEngine.Configuration(models: [MutualShareModel.self, MutualShareModel.self])
        let error = #expect(throws: FissionError.self) {
            try FissionEngine(store: InMemoryStore(), configuration: configuration)
        }
        #expect(error?.code == .invalidConfiguration)
    }

    @Test func aBindingPolicyTheGraphRefusesIsATypedError() throws {
        let configuration = FissionEngine.Configuration(
            bindingPolicy: BindingPolicy(duration: .protectionWindow(days: 0))
        )
        let error = #expect(throws: FissionError.self) {
            try FissionEngine(store: InMemoryStore(), configuration: configuration)
        }
        #expect(error?.code == .invalidPolicy)
    }

    @Test(arguments: [
        FissionEngine.Configuration(bindingPolicy: BindingPolicy(duration: .protectionWindow(days: 30))),
        FissionEngine.Configuration(checkInOffset: .utc),
        FissionEngine.Configuration(checkInSettings: try! CheckInSettings(milestones: [5], makeUpsPerMonth: 0)),
        FissionEngine.Configuration(models: []),
    ])
    func aSnapshotTakenUnderAnotherConfigurationIsRefused(other: FissionEngine.Configuration) async throws {
        let store = InMemoryStore()
        let engine = try FissionEngine(store: store)
        try await seed(engine)
        try await engine.checkpoint()
        let error = #expect(throws: FissionError.self) { try FissionEngine(store: store, configuration: other) }
        #expect(error?.code == .configurationMismatch)
        // The store is untouched: the configuration it was written with still opens it.
        #expect(await fingerprint(try FissionEngine(store: store)) == fingerprint(engine))
    }

    /// What Engine.md tells hosts: a checkpoint of a new, empty store records its configuration, so
    /// an engine opened by mistake under another one is refused before it can journal anything.
    @Test(arguments: [StoreKind.memory, .sqlite])
    func aNewStoreCheckpointedAtOnceRefusesAnotherConfiguration(kind: StoreKind) async throws {
        let store = try kind.make()
        let configuration = FissionEngine.Configuration(layeringPolicy: EngineLayeringTests.policy)
        try await FissionEngine(store: store, configuration: configuration).checkpoint()
        let error = #expect(throws: FissionError.self) { try FissionEngine(store: store) }
        #expect(error?.code == .configurationMismatch)
        let engine = try FissionEngine(store: store, configuration: configuration)
        try await seed(engine)
        #expect(await engine.lastSequence > 0)
    }
}
