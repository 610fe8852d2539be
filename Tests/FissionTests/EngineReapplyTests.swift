import Fission
import Synchronization
import Testing

/// A model that breaks the determinism contract on purpose: `.once` applies the first time this
/// process applies it and refuses every later time; `.poison` asks to settle an event its campaign
/// refuses (alice registering in spring again), after the model's state changed, so the command
/// poisons the engine's state.
struct ForgetfulModel: CampaignModel {
    enum Command: CampaignModelCommand {
        case once
        case poison

        func encoded() -> [UInt8] { [self == .once ? 1 : 2] }

        init(encoded bytes: [UInt8]) throws(FissionError) {
            switch bytes {
            case [1]: self = .once
            case [2]: self = .poison
            default: throw FissionError(code: .corruptJournal, reason: "no such command")
            }
        }
    }

    static let name = "forgetful"
    /// How many times `.once` was applied in this process.
    static let applications = Mutex(0)

    var applied = 0

    init() {}

    mutating func apply(_ command: Command, context: CampaignModelContext) throws(FissionError) -> CampaignModelStep {
        switch command {
        case .once:
            let count = Self.applications.withLock { count in
                count += 1
                return count
            }
            guard count == 1 else { throw FissionError(code: .invalidModelCommand, reason: "applied once already") }
            self.applied += 1
            return CampaignModelStep(effects: [[1]])
        case .poison:
            self.applied += 1
            let event = RewardEvent.memberRegistered(member: "alice", inviter: nil, at: context.now)
            return CampaignModelStep(rewardEvents: [ModelRewardEvent(campaign: spring, event: event)])
        }
    }

    func snapshot() -> [UInt8] { [UInt8(truncatingIfNeeded: self.applied)] }

    init(snapshot bytes: [UInt8]) throws(FissionError) {
        guard let first = bytes.first, bytes.count == 1 else {
            throw FissionError(code: .corruptSnapshot, reason: "one byte expected")
        }
        self.applied = Int(first)
    }
}

/// Another model that breaks the contract: `.vary` names bob as the helper the first time this
/// process applies it and carol every later time, so applying it again gives other transfers
/// without throwing; `.poison` is ``ForgetfulModel``'s.
struct DriftingModel: CampaignModel {
    enum Command: CampaignModelCommand {
        case vary
        case poison

        func encoded() -> [UInt8] { [self == .vary ? 1 : 2] }

        init(encoded bytes: [UInt8]) throws(FissionError) {
            switch bytes {
            case [1]: self = .vary
            case [2]: self = .poison
            default: throw FissionError(code: .corruptJournal, reason: "no such command")
            }
        }
    }

    static let name = "drifting"
    /// How many times `.vary` was applied in this process.
    static let applications = Mutex(0)

    var applied = 0

    init() {}

    mutating func apply(_ command: Command, context: CampaignModelContext) throws(FissionError) -> CampaignModelStep {
        self.applied += 1
        let event: RewardEvent
        switch command {
        case .vary:
            let count = Self.applications.withLock { count in
                count += 1
                return count
            }
            event = .helped(sharer: "alice", helper: count == 1 ? "bob" : "carol", at: context.now)
        case .poison:
            event = .memberRegistered(member: "alice", inviter: nil, at: context.now)
        }
        return CampaignModelStep(rewardEvents: [ModelRewardEvent(campaign: spring, event: event)])
    }

    func snapshot() -> [UInt8] { [UInt8(truncatingIfNeeded: self.applied)] }

    init(snapshot bytes: [UInt8]) throws(FissionError) {
        guard let first = bytes.first, bytes.count == 1 else {
            throw FissionError(code: .corruptSnapshot, reason: "one byte expected")
        }
        self.applied = Int(first)
    }
}

/// A model that breaks the contract the simplest way: it counts an attempt, then throws.
struct StickyModel: CampaignModel {
    struct Command: CampaignModelCommand {
        func encoded() -> [UInt8] { [1] }
        init() {}
        init(encoded bytes: [UInt8]) throws(FissionError) {
            guard bytes == [1] else { throw FissionError(code: .corruptJournal, reason: "no such command") }
        }
    }

    static let name = "sticky"
    var attempts = 0

    init() {}

    mutating func apply(_ command: Command, context: CampaignModelContext) throws(FissionError) -> CampaignModelStep {
        self.attempts += 1
        throw FissionError(code: .invalidModelCommand, reason: "refused after counting")
    }

    func snapshot() -> [UInt8] { [UInt8(truncatingIfNeeded: self.attempts)] }

    init(snapshot bytes: [UInt8]) throws(FissionError) {
        guard let first = bytes.first, bytes.count == 1 else {
            throw FissionError(code: .corruptSnapshot, reason: "one byte expected")
        }
        self.attempts = Int(first)
    }
}

struct EngineReapplyTests {
    #if DEBUG
    /// The engine trusts a model not to change its state when it throws; a debug build checks.
    @Test func aModelThatChangesItsStateAndThenThrowsStopsADebugBuild() async {
        await #expect(processExitsWith: .failure) {
            let engine = try FissionEngine(store: InMemoryStore(), configuration: .init(models: [StickyModel.self]))
            _ = try? await engine.submit(.model(StickyModel.Command(), of: StickyModel.self), key: "f", at: at())
        }
    }
    #endif

    /// When a command in a batch poisons the state, the engine rebuilds the committed state and
    /// applies the batch's earlier commands again. If one of them no longer applies (a model that
    /// breaks the contract), the engine must not commit an entry its state does not reflect.
    @Test func aBatchWhoseEarlierCommandNoLongerAppliesCommitsNothing() async throws {
        ForgetfulModel.applications.withLock { $0 = 0 }  // this test alone uses the model
        let store = InMemoryStore()
        let engine = try FissionEngine(store: store, configuration: .init(models: [ForgetfulModel.self]))
        try await seed(engine)
        let before = await fingerprint(engine)
        let sequence = store.lastSequence()
        let error = await #expect(throws: FissionError.self) {
            try await engine.submit(
                batch: [
                    ("once", .model(.once, of: ForgetfulModel.self)),
                    ("poison", .model(.poison, of: ForgetfulModel.self)),
                ],
                at: at(days: 1)
            )
        }
        #expect(error?.code == .journalMismatch)
        #expect(error?.reason.contains("once") == true, "\(error?.reason ?? "")")
        #expect(store.lastSequence() == sequence)
        #expect(await engine.state.model(ForgetfulModel.self)?.applied == 0)
        #expect(await fingerprint(engine) == before)
    }

    /// The same, for an earlier command that applies again without throwing but with other
    /// transfers: committing its first entry would journal a grant to bob while the state holds one
    /// to carol, and the store could no longer be opened.
    @Test func aBatchWhoseEarlierCommandAppliesDifferentlyCommitsNothing() async throws {
        DriftingModel.applications.withLock { $0 = 0 }  // this test alone uses the model
        let store = InMemoryStore()
        let configuration = FissionEngine.Configuration(models: [DriftingModel.self])
        let engine = try FissionEngine(store: store, configuration: configuration)
        try await seed(engine)
        let before = await fingerprint(engine)
        let sequence = store.lastSequence()
        let error = await #expect(throws: FissionError.self) {
            try await engine.submit(
                batch: [
                    ("vary", .model(.vary, of: DriftingModel.self)),
                    ("poison", .model(.poison, of: DriftingModel.self)),
                ],
                at: at(days: 1)
            )
        }
        #expect(error?.code == .journalMismatch)
        #expect(error?.reason.contains("vary") == true, "\(error?.reason ?? "")")
        #expect(store.lastSequence() == sequence)
        #expect(await fingerprint(engine) == before)
        #expect(wallet(await engine.state, "carol", .points).creditsPosted == 0)
        // The store still opens, to the same state.
        let reopened = try FissionEngine(store: store, configuration: configuration)
        #expect(await fingerprint(reopened) == before)
    }
}
