import Fission
import Synchronization
import Testing

/// A campaign model that breaks its contract on purpose, one way per command:
/// - `.once` applies the first time this process applies it and refuses every later time;
/// - `.vary` names bob as the helper the first time and carol every later time, so applying it
///   again gives other transfers without throwing;
/// - `.poison` asks to settle an event its campaign refuses (alice registering in spring again)
///   after the state changed, so the command poisons the engine's state;
/// - `.countThenThrow` changes the state, then throws.
struct ContractBreakingModel: CampaignModel {
    enum Command: UInt8, CampaignModelCommand {
        case once = 1
        case vary
        case poison
        case countThenThrow

        func encoded() -> [UInt8] { [self.rawValue] }

        init(encoded bytes: [UInt8]) throws(FissionError) {
            guard bytes.count == 1, let command = Self(rawValue: bytes[0]) else {
                throw FissionError(code: .corruptJournal, reason: "no such command")
            }
            self = command
        }
    }

    static let name = "contract-breaking"
    /// How many times `.once` and `.vary` were applied in this process; each test that uses them
    /// starts by setting its count to 0.
    static let onceApplications = Mutex(0)
    static let varyApplications = Mutex(0)

    var applied = 0

    init() {}

    mutating func apply(_ command: Command, context: CampaignModelContext) throws(FissionError) -> CampaignModelStep {
        self.applied += 1
        switch command {
        case .once:
            let count = Self.onceApplications.withLock { count in
                count += 1
                return count
            }
            guard count == 1 else {
                self.applied -= 1  // this refusal keeps the contract: only the re-application breaks it
                throw FissionError(code: .invalidModelCommand, reason: "applied once already")
            }
            return CampaignModelStep(effects: [[1]])
        case .vary:
            let count = Self.varyApplications.withLock { count in
                count += 1
                return count
            }
            let event = RewardEvent.helped(sharer: "alice", helper: count == 1 ? "bob" : "carol", at: context.now)
            return CampaignModelStep(rewardEvents: [ModelRewardEvent(campaign: spring, event: event)])
        case .poison:
            let event = RewardEvent.memberRegistered(member: "alice", inviter: nil, at: context.now)
            return CampaignModelStep(rewardEvents: [ModelRewardEvent(campaign: spring, event: event)])
        case .countThenThrow:
            throw FissionError(code: .invalidModelCommand, reason: "refused after counting")
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

struct EngineReapplyTests {
    #if DEBUG
    /// The engine trusts a model not to change its state when it throws; a debug build checks.
    @Test func aModelThatChangesItsStateAndThenThrowsStopsADebugBuild() async {
        await #expect(processExitsWith: .failure) {
            let engine = try FissionEngine(
                store: InMemoryStore(),
                configuration: .init(models: [ContractBreakingModel.self])
            )
            _ = try? await engine.submit(.model(.countThenThrow, of: ContractBreakingModel.self), key: "f", at: at())
        }
    }
    #endif

    /// When a command in a batch poisons the state, the engine rebuilds the committed state and
    /// applies the batch's earlier commands again. If one of them no longer applies (`.once`), or
    /// applies with other transfers (`.vary`: a grant to bob journaled while the state holds one to
    /// carol, and a store that could no longer be opened), the engine must commit none of the
    /// batch rather than an entry its state does not reflect.
    @Test(arguments: [ContractBreakingModel.Command.once, .vary])
    func aBatchWhoseEarlierCommandDoesNotApplyAgainAlikeCommitsNothing(
        _ earlier: ContractBreakingModel.Command
    ) async throws {
        // Each argument alone applies its command.
        if earlier == .once {
            ContractBreakingModel.onceApplications.withLock { $0 = 0 }
        } else {
            ContractBreakingModel.varyApplications.withLock { $0 = 0 }
        }
        let store = InMemoryStore()
        let configuration = FissionEngine.Configuration(models: [ContractBreakingModel.self])
        let engine = try FissionEngine(store: store, configuration: configuration)
        try await seed(engine)
        let before = await fingerprint(engine)
        let sequence = store.lastSequence()
        let error = await #expect(throws: FissionError.self) {
            try await engine.submit(
                batch: [
                    ("earlier", .model(earlier, of: ContractBreakingModel.self)),
                    ("poison", .model(.poison, of: ContractBreakingModel.self)),
                ],
                at: at(days: 1)
            )
        }
        #expect(error?.code == .journalMismatch)
        #expect(error?.reason.contains("earlier") == true, "\(error?.reason ?? "")")
        #expect(store.lastSequence() == sequence)
        #expect(await engine.state.model(ContractBreakingModel.self)?.applied == 0)
        #expect(await fingerprint(engine) == before)
        #expect(wallet(await engine.state, "carol", .points).creditsPosted == 0)
        // The store still opens, to the same state.
        let reopened = try FissionEngine(store: store, configuration: configuration)
        #expect(await fingerprint(reopened) == before)
    }
}
