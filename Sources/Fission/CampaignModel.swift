public import FissionCore
public import FissionGraph
public import FissionRewards

/// A campaign model's command: a value with a stable binary form, so it can be journaled,
/// compared for idempotency and replayed.
///
/// Equal commands must encode to equal bytes, and decoding what ``encoded()`` wrote must give the
/// command back.
public protocol CampaignModelCommand: Hashable, Sendable {
    /// The command's bytes, the same in every process.
    func encoded() -> [UInt8]

    /// Decodes what ``encoded()`` wrote.
    ///
    /// - Throws: ``FissionError/Code/corruptJournal`` for bytes no command encodes to.
    init(encoded bytes: [UInt8]) throws(FissionError)
}

/// The seam for campaign models (bargain helps, card draws, group buys, shares...): a model is its
/// command type and a deterministic state machine. Everything else (idempotency keys, the journal,
/// replay, snapshots, failure handling, the ledger) comes from the engine, the same as for the
/// engine's own commands.
///
/// To add a model, declare its state as a value conforming to this protocol, pass its type in
/// ``FissionEngine/Configuration/models``, and submit its commands with
/// ``EngineCommand/model(_:of:)``. ``MutualShareModel`` is the first.
///
/// **Contract.** ``apply(_:context:)`` is a pure function of the state, the command and the
/// context (no clock, no randomness except a seeded generator kept in the state): a replay must
/// reach the same state and return the same step. It checks everything before it changes
/// anything: when it throws, the state is unchanged. The rewards it asks for in
/// ``CampaignModelStep/rewardEvents`` are settled by the engine after it returns, under the
/// campaigns' rules.
///
/// The engine relies on the contract rather than paying to check it on every command. A model
/// that breaks it can leave the engine's state ahead of its store (a change made before a throw
/// stays in memory until the next rebuild) or make its journal fail to replay
/// (``FissionError/Code/journalMismatch``). Debug builds check the first: a model that changes
/// its state and then throws stops the process with an assertion naming it. When a later command
/// of a batch forces a rebuild, the engine applies the batch's earlier commands again and commits
/// none of the batch if one gives another result.
public protocol CampaignModel: Sendable {
    /// The model's command.
    associatedtype Command: CampaignModelCommand

    /// The model's name in the journal; never change it once entries carry it.
    static var name: String { get }

    /// The empty state a new engine starts from.
    init()

    /// Applies one command.
    ///
    /// - Returns: The reward events to settle and the model's own effects.
    /// - Throws: A ``FissionError`` for a command the state refuses; the state is unchanged then.
    mutating func apply(_ command: Command, context: CampaignModelContext) throws(FissionError) -> CampaignModelStep

    /// The state's bytes, for engine snapshots.
    func snapshot() -> [UInt8]

    /// Restores a state from ``snapshot()``.
    ///
    /// - Throws: ``FissionError/Code/corruptSnapshot`` for bytes no state encodes to.
    init(snapshot bytes: [UInt8]) throws(FissionError)
}

/// What a model may read while it applies a command.
public struct CampaignModelContext: Sendable {
    /// The command's time (the engine's clock, never earlier than a previous command's).
    public let now: Timestamp
    /// The command's idempotency key: use it as the id of anything the command creates.
    public let key: EventID
    /// The invite graph, as of before the command.
    public let graph: InviteGraph
    /// The settlement, as of before the command: campaigns, budgets, what was granted.
    public let settlement: Settlement
    /// The campaigns that are published, live at ``now`` and not paused, in the order they were
    /// published: an array, so that a model that goes through them does so in the same order in
    /// every process (a `Set`'s order changes with each process's hashing seed).
    public let earningCampaigns: [CampaignID]
}

/// What applying a model's command produced.
public struct CampaignModelStep: Hashable, Sendable {
    /// Reward events for the engine to settle, each in its campaign (only campaigns that are
    /// earning settle; the others are skipped).
    public var rewardEvents: [ModelRewardEvent]
    /// The model's own effects for the host, as bytes the model defines.
    public var effects: [[UInt8]]

    /// Creates a step.
    public init(rewardEvents: [ModelRewardEvent] = [], effects: [[UInt8]] = []) {
        self.rewardEvents = rewardEvents
        self.effects = effects
    }
}

/// A reward event a model asks the engine to settle in one campaign.
public struct ModelRewardEvent: Hashable, Sendable {
    /// The campaign whose rules apply.
    public let campaign: CampaignID
    /// What happened.
    public let event: RewardEvent

    /// Creates one.
    public init(campaign: CampaignID, event: RewardEvent) {
        self.campaign = campaign
        self.event = event
    }
}

/// A type-erased model state inside the engine, with the one generic entry point that opens it.
struct ModelSlot: Sendable {
    var state: any CampaignModel

    mutating func apply(payload: [UInt8], context: CampaignModelContext) throws(FissionError) -> CampaignModelStep {
        try Self.apply(&self.state, payload: payload, context: context)
    }

    private static func apply<Model: CampaignModel>(
        _ model: inout Model,
        payload: [UInt8],
        context: CampaignModelContext
    ) throws(FissionError) -> CampaignModelStep {
        let command: Model.Command
        do {
            command = try Model.Command(encoded: payload)
        } catch {
            // A host's payload, not stored bytes: a journaled one that no longer decodes (a
            // model whose command format changed) makes replay fail with journalMismatch.
            throw FissionError(
                code: .invalidModelCommand,
                reason: "the payload does not decode: \(error.reason)"
            )
        }
        #if DEBUG
        // The contract says a model that throws has not changed its state; the engine trusts it,
        // since checking would cost a copy of the state per command. Debug builds check, so a
        // model's own tests find a breach before it leaves the engine's memory ahead of its store.
        let before = model
        do {
            return try model.apply(command, context: context)
        } catch {
            assert(
                before.snapshot() == model.snapshot(),
                "campaign model \(Model.name) changed its state and then threw \(error): "
                    + "CampaignModel.apply(_:context:) must leave the state unchanged when it throws"
            )
            throw error
        }
        #else
        return try model.apply(command, context: context)
        #endif
    }
}
