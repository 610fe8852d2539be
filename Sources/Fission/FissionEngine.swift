@_spi(FissionCoding) public import FissionCore
public import FissionGraph
public import FissionGroups
public import FissionMembers
@_spi(FissionCoding) import FissionRewards
@_spi(FissionIndexing) public import FissionStorage

/// The part a host service talks to: commands in, effects out, every accepted command persisted
/// through a store before its effects are handed back.
///
/// Open an engine on a store with ``init(store:configuration:)``: it restores the committed state
/// (the latest snapshot, then a replay of the journal after it). Submit commands with
/// ``submit(_:key:at:)`` or many at once with ``submit(batch:at:)``, move time with
/// ``advance(to:)``, and save a snapshot with ``checkpoint()``.
///
/// **Idempotency.** Every command carries a key the host derives from its own event id
/// (`"order-123:paid"`). Submitting a key again with the same payload returns the stored outcome
/// (``EngineOutcome/isDuplicate``) and changes nothing; with another payload it throws
/// ``FissionError/Code/idempotencyConflict``. Keys are checked against the store too, so they stay
/// spent across restarts and across engines sharing a store.
///
/// **Failures.** Bad input throws a typed ``FissionError`` and changes nothing. When the store
/// fails (``FissionError/Code/storeCallFailed``) the engine cannot know whether the write happened:
/// it discards its in-memory state and, before the next command, rebuilds it from the store, so
/// it always equals what was committed. Resubmitting the command with the same key then applies
/// it exactly once. When another engine appended first, the engine catches up with the store and
/// retries by itself.
///
/// **Concurrency.** An actor: safe to call from many tasks; one command is applied at a time.
public actor FissionEngine {
    /// What an engine is built with. Open a store with the configuration it was written with:
    /// the configuration is not journaled. A snapshot records the policies it was taken under,
    /// and opening a store whose snapshot disagrees with the configuration fails with
    /// ``FissionError/Code/configurationMismatch``.
    public struct Configuration: Sendable {
        /// How invitations bind in the invite graph.
        public var bindingPolicy: BindingPolicy
        /// How members are layered, for group entry rules.
        public var layeringPolicy: LayeringPolicy
        /// The UTC offset check-in days are counted in.
        public var checkInOffset: UTCOffset
        /// Check-in milestones and make-ups.
        public var checkInSettings: CheckInSettings
        /// The most member and activity pairs each check-in board tracks, the community's and each
        /// group's (``FissionGroups/CheckInBoard/capacity``); past it a new pair is
        /// ``FissionError/Code/checkInBoardFull``. Raise it for a community whose members check in
        /// without a group: about 350 bytes of memory a pair. Unlike the rest of the configuration
        /// it may differ between openings and between engines on one store: it limits only new
        /// check-ins, and replaying or restoring never refuses what the journal committed.
        public var checkInCapacity: Int
        /// The campaign models the engine applies commands for.
        public var models: [any CampaignModel.Type]
        /// Save a snapshot automatically after this many journal entries; `nil` for never.
        public var snapshotInterval: Int?

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - bindingPolicy: How invitations bind; by default at registration, permanently.
        ///   - layeringPolicy: How members are layered; by default everyone is ordinary.
        ///   - checkInOffset: The offset for check-in days; China Standard Time by default.
        ///   - checkInSettings: Check-in milestones and make-ups.
        ///   - checkInCapacity: The most member and activity pairs a check-in board tracks, 1 or
        ///     more; ``FissionGroups/CheckInBoard/maximumStreaks`` by default.
        ///   - models: The campaign models; ``MutualShareModel`` by default.
        ///   - snapshotInterval: Entries between automatic snapshots, 1 or more; `nil` for never.
        ///
        /// The engine checks the configuration when it opens (``FissionEngine/init(store:configuration:)``).
        public init(
            bindingPolicy: BindingPolicy = BindingPolicy(),
            layeringPolicy: LayeringPolicy? = nil,
            checkInOffset: UTCOffset = .chinaStandardTime,
            checkInSettings: CheckInSettings = .standard,
            checkInCapacity: Int = CheckInBoard.maximumStreaks,
            models: [any CampaignModel.Type] = [MutualShareModel.self],
            snapshotInterval: Int? = nil
        ) {
            self.bindingPolicy = bindingPolicy
            self.layeringPolicy = layeringPolicy ?? Self.everyoneOrdinary
            self.checkInOffset = checkInOffset
            self.checkInSettings = checkInSettings
            self.checkInCapacity = checkInCapacity
            self.models = models
            self.snapshotInterval = snapshotInterval
        }

        private static var everyoneOrdinary: LayeringPolicy {
            do {
                return try LayeringPolicy(tiers: [], fallback: .ordinary, windowDays: 30, graceDays: 0, currency: .cny)
            } catch {
                preconditionFailure("the default layering policy is valid: \(error)")
            }
        }

        /// Throws ``FissionError/Code/invalidConfiguration`` (or the graph's
        /// ``FissionError/Code/invalidPolicy``) for a configuration no engine can run with.
        func validate() throws(FissionError) {
            guard self.checkInCapacity >= 1 else {
                throw FissionError(
                    code: .invalidConfiguration,
                    reason: "checkInCapacity is \(self.checkInCapacity); it must be 1 or more"
                )
            }
            if let interval = self.snapshotInterval, interval < 1 {
                throw FissionError(
                    code: .invalidConfiguration,
                    reason: "snapshotInterval is \(interval); it must be 1 or more, or nil for never"
                )
            }
            var names: Set<String> = []
            for model in self.models {
                guard names.insert(model.name).inserted else {
                    throw FissionError(
                        code: .invalidConfiguration,
                        reason: "two campaign models are named \(model.name); a model's name keys its journal and state"
                    )
                }
                // The journal and the snapshot write the name as a string of at most 65,535 bytes.
                guard model.name.utf8.count <= Int(UInt16.max) else {
                    throw FissionError(
                        code: .invalidConfiguration,
                        reason: "a campaign model's name is \(model.name.utf8.count) UTF-8 bytes; at most 65,535"
                    )
                }
            }
            _ = try InviteGraph(policy: self.bindingPolicy)
        }

        func makeGraph() -> InviteGraph {
            do {
                return try InviteGraph(policy: self.bindingPolicy)
            } catch {
                preconditionFailure("validate() accepted a binding policy the graph refuses: \(error)")
            }
        }
    }

    /// How many times a submission catches up and retries when other engines keep appending first.
    public static var maximumConflictRetries: Int { 16 }

    /// The store everything is persisted in.
    public nonisolated let store: any FissionStore
    /// The configuration.
    public nonisolated let configuration: Configuration
    private var core: JournaledEngine

    /// The committed state (the engine never exposes a state the store does not hold).
    public var state: EngineState { self.core.state }
    /// The sequence of the last journal entry the state includes.
    public var lastSequence: Int64 { self.core.lastSequence }
    /// Why the latest automatic snapshot (``Configuration/snapshotInterval``) failed to save, or
    /// `nil` if none has failed since one last saved.
    ///
    /// A snapshot that fails to save loses nothing: its commands are committed, and reopening
    /// replays from the snapshot before. The engine tries again after another interval of
    /// entries, and clears this when a snapshot, automatic or from ``checkpoint()``, saves. Watch
    /// it in the host's health checks: while snapshots fail, reopening takes longer and longer.
    public var automaticCheckpointFailure: FissionError? { self.core.automaticCheckpointFailure }

    /// Opens an engine on a store and restores its committed state.
    ///
    /// - Throws: ``FissionError/Code/invalidConfiguration`` (or ``FissionError/Code/invalidPolicy``
    ///   for the binding policy) for a configuration no engine can run with;
    ///   ``FissionError/Code/storeCallFailed`` if the store cannot be read;
    ///   ``FissionError/Code/configurationMismatch`` if the store's latest snapshot was taken
    ///   under another binding policy, layering policy, check-in calendar or set of models;
    ///   ``FissionError/Code/journalMismatch`` if replaying a journal entry does not give the
    ///   outcome and transfers stored with it (the store was written by another configuration or
    ///   another version of the rules); ``FissionError/Code/corruptJournal`` for a journal entry
    ///   that does not decode (its reason names the entry), ``FissionError/Code/corruptSnapshot``
    ///   for a snapshot that does not.
    public init(store: any FissionStore, configuration: Configuration = Configuration()) throws(FissionError) {
        try configuration.validate()
        self.store = store
        self.configuration = configuration
        var core = JournaledEngine(store: store, configuration: configuration)
        try core.rebuild()
        self.core = core
    }

    // MARK: - Submitting

    /// Applies one command, persists it, and returns its outcome.
    ///
    /// - Parameters:
    ///   - command: What happened.
    ///   - key: The idempotency key, derived from the host's event id.
    ///   - now: The host's clock. A time before the engine's clock (an earlier command's) is
    ///     taken as the engine's clock, so time never goes backwards.
    /// - Returns: The outcome; for a key submitted before with the same payload, the stored one.
    /// - Throws: The command's own ``FissionError`` for bad input (nothing changes);
    ///   ``FissionError/Code/idempotencyConflict`` for a key used with another payload;
    ///   ``FissionError/Code/storeCallFailed`` when the store failed (resubmit the same key);
    ///   ``FissionError/Code/storeConflict`` after ``maximumConflictRetries`` lost races.
    @discardableResult
    public func submit(_ command: EngineCommand, key: EventID, at now: Timestamp) throws(FissionError) -> EngineOutcome
    {
        let results = try self.submit(batch: [(key, command)], at: now)
        return try results[0].get()
    }

    /// Moves the engine's clock to `now`: held rewards whose hold has ended post.
    ///
    /// Idempotent: advancing again to the same or an earlier time posts nothing new. A time before
    /// the engine's clock (a command dated later moved it ahead) advances to the clock. The key is
    /// derived from the time (`"advance@<ms>"`), so a retried advance is recognised.
    ///
    /// - Throws: ``FissionError/Code/storeCallFailed``; ``FissionError/Code/storeConflict``;
    ///   ``FissionError/Code/idempotencyConflict`` if the host used the key `"advance@<ms>"` of
    ///   this time for another command.
    @discardableResult
    public func advance(to now: Timestamp) throws(FissionError) -> EngineOutcome {
        // A literal string of at most 26 characters is always a valid identifier.
        let key = (try? EventID("advance@\(now.millisecondsSinceEpoch)")) ?? EventID(now.millisecondsSinceEpoch)
        return try self.submit(.advance, key: key, at: now)
    }

    /// Applies many commands in order and persists them in one atomic append: one transaction.
    ///
    /// Each command succeeds or fails on its own, as ``submit(_:key:at:)`` would; a failed one
    /// leaves no trace. A key repeated within the batch is a retry of the first.
    ///
    /// A retry whose stored outcome cannot be decoded fails on its own with
    /// ``FissionError/Code/corruptJournal``; the rest of the batch goes on.
    ///
    /// - Returns: One result per command, in order.
    /// - Throws: ``FissionError/Code/storeCallFailed`` (or the store's own ``FissionError``) when
    ///   the store failed. If reading the batch's keys failed, nothing was applied or committed; if
    ///   the append failed, none of the batch may be committed, or all of it. Resubmit the batch
    ///   with the same keys. ``FissionError/Code/storeConflict`` after ``maximumConflictRetries``
    ///   lost races, with nothing of the batch committed. ``FissionError/Code/journalMismatch``,
    ///   with nothing of the batch committed, when a command that failed after changing part of the
    ///   state made the engine rebuild it and one the batch had accepted earlier no longer applied
    ///   (a campaign model that breaks its determinism contract). In every case ``state`` is the
    ///   committed state afterwards, or empty when catching up with the store's journal found an
    ///   entry that does not replay (``FissionError/Code/journalMismatch``; see ``refresh()``).
    public func submit(
        batch: [(key: EventID, command: EngineCommand)],
        at now: Timestamp
    ) throws(FissionError) -> [Result<EngineOutcome, FissionError>] {
        try self.submit(batch, at: now, times: nil)
    }

    /// Applies many commands in order, each at its own time, and persists them in one atomic
    /// append: ``submit(batch:at:)`` for a queue of events that happened at different times (a
    /// backlog drained after an outage), so batching for throughput keeps each event's time.
    ///
    /// Each command is applied at its time, or at the engine's clock if that is later (the clock
    /// never goes back, also within a batch), exactly as submitting them one by one in this order
    /// would. Results, failures and what is committed are as for ``submit(batch:at:)``.
    ///
    /// - Returns: One result per command, in order.
    public func submit(
        batch: [(key: EventID, command: EngineCommand, at: Timestamp)]
    ) throws(FissionError) -> [Result<EngineOutcome, FissionError>] {
        guard let first = batch.first else { return [] }
        return try self.submit(batch.map { ($0.key, $0.command) }, at: first.at, times: batch.map(\.at))
    }

    private func submit(
        _ batch: [(key: EventID, command: EngineCommand)],
        at now: Timestamp,
        times: [Timestamp]?
    ) throws(FissionError) -> [Result<EngineOutcome, FissionError>] {
        for _ in 0..<Self.maximumConflictRetries {
            if let results = try self.core.attempt(batch, at: now, times: times) { return results }
        }
        // The last attempt applied the batch in memory and could not append it: show the
        // committed state again (or none, if the store cannot be read; the next call retries).
        try? self.core.rebuildIfNeeded()
        throw FissionError(
            code: .storeConflict,
            reason: "other writers appended first \(Self.maximumConflictRetries) times in a row"
        )
    }

    /// Saves a snapshot of the committed state, so reopening replays only the entries after it.
    ///
    /// The snapshot is written in the current snapshot version (5 since 2026-12-06: check-in boards
    /// and the groups' membership logs in binary; 7 once the engine tracks members' activity, with
    /// that activity and each order's paid day, or 6 while it tracks without counting refunds,
    /// Documentation/Engine.md "Layers"); an engine opens snapshots of this and earlier
    /// versions, an older Fission refuses newer ones with ``FissionError/Code/corruptSnapshot``
    /// (Documentation/Engine.md, "Opening"). With 1M
    /// members and 100,000 orders a checkpoint takes about 2.6 s and reopening from it about 2 s.
    ///
    /// - Throws: ``FissionError/Code/storeCallFailed``.
    public func checkpoint() throws(FissionError) {
        try self.core.checkpoint()
    }

    /// A committed command as the journal holds it: for reading effects back by sequence.
    public struct JournalRecord: Hashable, Sendable {
        /// The journal entry's sequence (``EngineOutcome/sequence``).
        public let sequence: Int64
        /// The command's idempotency key.
        public let key: EventID
        /// The time the command was applied at: the engine's clock then, never before an earlier
        /// command's.
        public let appliedAt: Timestamp
        /// The command.
        public let command: EngineCommand
        /// What it did, as its first submission returned it (``EngineOutcome/isDuplicate`` is
        /// `false`).
        public let outcome: EngineOutcome
        /// Whether the entry holds ``command`` in an earlier form that applied otherwise than the
        /// command does now: an `addGroupSeries` journaled before groups had check-in boards of
        /// their own (its groups count check-ins on the community board), a `trackActivity`
        /// journaled before refunds counted (Documentation/Engine.md, "The journal format").
        /// Submitting ``command`` again elsewhere would not do what this entry did.
        public let isEarlierForm: Bool
    }

    /// The committed commands after `sequence`, oldest first, at most `limit`: those of every
    /// engine on the store, including ones this engine has not caught up with.
    ///
    /// This is how a host delivers effects exactly once from its own outbox: record the sequence of
    /// the last record whose effects it acted on (in its own database, with the action), and after
    /// a restart read on from there, instead of resubmitting every key it remembers. Reading
    /// changes nothing.
    ///
    /// - Parameters:
    ///   - sequence: The last sequence already handled; 0 reads from the first command.
    ///   - limit: How many records at most, 1 to the store's `maximumPageSize`.
    /// - Returns: The records, in sequence order; fewer than `limit` (or none) at the journal's end.
    /// - Throws: ``FissionError/Code/invalidPageSize`` for a limit out of range;
    ///   ``FissionError/Code/storeCallFailed`` if the store cannot be read;
    ///   ``FissionError/Code/corruptJournal`` naming an entry that does not decode.
    public func journal(after sequence: Int64, limit: Int) throws(FissionError) -> [JournalRecord] {
        guard (1...self.store.maximumPageSize).contains(limit) else {
            throw FissionError(
                code: .invalidPageSize,
                reason: "limit \(limit) is outside 1...\(self.store.maximumPageSize), the store's page size"
            )
        }
        let entries = try JournaledEngine.storeCall { try self.store.entries(after: max(sequence, 0), limit: limit) }
        var records: [JournalRecord] = []
        records.reserveCapacity(entries.count)
        for entry in entries {
            let (appliedAt, command, form) = try JournaledEngine.decodeCommand(of: entry)
            let outcome: EngineOutcome
            do {
                outcome = try EngineOutcome.decode(entry.outcome, sequence: entry.sequence, isDuplicate: false)
            } catch {
                throw error.decodingFault(as: .corruptJournal, in: "journal entry \(entry.sequence)'s outcome")
            }
            records.append(
                JournalRecord(
                    sequence: entry.sequence,
                    key: entry.idempotencyKey,
                    appliedAt: appliedAt,
                    command: command,
                    outcome: outcome,
                    isEarlierForm: !form.isEmpty
                )
            )
        }
        return records
    }

    /// Brings the engine up to the store's journal: replays what other engines appended.
    ///
    /// - Throws: ``FissionError/Code/storeCallFailed``; ``FissionError/Code/journalMismatch`` for
    ///   an entry that does not replay to its stored outcome and transfers (an engine with another
    ///   configuration, or a changed journal). The state is then left empty, never ahead of the
    ///   store, and the next call rebuilds it.
    public func refresh() throws(FissionError) {
        try self.core.refresh()
    }
}

/// The engine's synchronous inside: the state, the journal position, and the rules for keeping
/// them equal to the store. The actor serialises calls to it.
struct JournaledEngine: Sendable {
    let store: any FissionStore
    let configuration: FissionEngine.Configuration
    var state: EngineState
    var lastSequence: Int64 = 0
    var needsRebuild = false
    var entriesSinceSnapshot = 0
    /// Why the latest automatic snapshot failed to save; `nil` once one saves.
    var automaticCheckpointFailure: FissionError?

    init(store: any FissionStore, configuration: FissionEngine.Configuration) {
        self.store = store
        self.configuration = configuration
        self.state = EngineState(configuration: configuration)
    }

    mutating func checkpoint() throws(FissionError) {
        try self.rebuildIfNeeded()
        let bytes = try self.state.snapshot()
        let snapshot = StoreSnapshot(sequence: self.lastSequence, state: bytes)
        try Self.storeCall { try self.store.saveSnapshot(snapshot) }
        self.entriesSinceSnapshot = 0
        self.automaticCheckpointFailure = nil
    }

    mutating func refresh() throws(FissionError) {
        try self.rebuildIfNeeded()
        try self.catchUp()
    }

    /// One try at a batch; `nil` when another writer appended first and the batch must be retried.
    /// Each command is applied at `times[i]` when given (as many as commands), else at `now`.
    mutating func attempt(
        _ batch: [(key: EventID, command: EngineCommand)],
        at now: Timestamp,
        times: [Timestamp]? = nil
    ) throws(FissionError) -> [Result<EngineOutcome, FissionError>]? {
        precondition(times.map { $0.count == batch.count } ?? true, "a time for each command")
        return try batch.withUnsafeBufferPointer { (items) throws(FissionError) in
            try self.attempt(BatchItems(items), at: now, times: times)
        }
    }

    private mutating func attempt(
        _ batch: BatchItems,
        at now: Timestamp,
        times: [Timestamp]?
    ) throws(FissionError) -> [Result<EngineOutcome, FissionError>]? {
        try self.rebuildIfNeeded()
        try self.catchUp()
        var results: [Result<EngineOutcome, FissionError>] = []
        results.reserveCapacity(batch.count)
        var entries: [JournalEntry] = []
        entries.reserveCapacity(batch.count)
        /// The time each of `entries` was applied at.
        var appliedTimes: [Timestamp] = []
        appliedTimes.reserveCapacity(batch.count)
        /// The batch positions of the accepted commands, in the order of `entries`.
        var accepted: [Int] = []
        accepted.reserveCapacity(batch.count)
        /// The accepted keys, to recognise a key repeated within the batch: each key's fingerprint
        /// to its entry's position. A batch of one has no repeats to find.
        var batchKeys = batch.count > 1 ? FingerprintIndex(capacity: batch.count) : nil
        let seed = batchKeys == nil ? 0 : Fingerprint.seed
        // One writer for the batch: each accepted command's entry body (command, outcome,
        // transfers) is written into its room and copied out once, at its exact size.
        var writer = ByteWriter(capacity: 1_024)
        // Every key's entry, read before anything is applied: the store is the one place every
        // key is (this engine's, other engines', those from before the latest snapshot), and a
        // store that cannot be read fails the batch with the state untouched. Another writer
        // appending in between is caught by the append's expected sequence.
        let keys = (0..<batch.count).map { batch.key($0) }
        let storedEntries = try Self.storeCall { try self.store.entries(forKeys: keys) }
        guard storedEntries.count == keys.count else {
            throw FissionError(
                code: .storeCallFailed,
                reason: "the store returned \(storedEntries.count) entries for \(keys.count) keys"
            )
        }
        // A key another writer committed after the catch-up above: answering it as a retry while
        // the rest of the batch applies on a state without it would contradict it (its member
        // "not registered" by the next command). Nothing is applied yet: catch up and try again,
        // as after a race lost at the append (which a batch of retries and refusals never makes).
        guard storedEntries.allSatisfy({ ($0?.sequence ?? 0) <= self.lastSequence }) else { return nil }
        for position in 0..<batch.count {
            let key = keys[position]
            let command = batch.command(position)
            do throws(FissionError) {
                try command.requireEncodable()
            } catch {
                results.append(.failure(error))
                continue
            }
            // The entry's body (`JournalEntry.body`): the command's count and the time, both
            // written over below, then the command. The digest covers the command after the time.
            writer.reset()
            writer.append(UInt32(0))
            writer.append(self.state.clock.millisecondsSinceEpoch)
            command.encode(into: &writer)
            let digest = writer.withUnsafeBytes { stableDigest($0[12...]) }
            let fingerprint = batchKeys == nil ? 0 : Fingerprint.of(key, seed: seed)
            if let earlier = batchKeys?.find(fingerprint, matching: { entries[Int($0)].idempotencyKey == key }) {
                results.append(
                    entries[Int(earlier)].payloadDigest == digest
                        ? results[accepted[Int(earlier)]].map { outcome in
                            var duplicate = outcome
                            duplicate.isDuplicate = true
                            return duplicate
                        }
                        : .failure(Self.conflict(key))
                )
                continue
            }
            if let entry = storedEntries[position] {
                // A retry (or a reused key): an outcome that does not decode fails this command only.
                results.append(
                    Result { () throws(FissionError) in
                        try Self.storedOutcome(of: entry, command: command, digest: digest)
                    }
                )
                continue
            }
            let transfersBefore = self.state.settlement.ledger.transferCount
            let applied = max(times?[position] ?? now, self.state.clock)
            let effects: [EngineEffect]
            do {
                effects = try self.state.apply(command, key: key, at: applied)
            } catch {
                results.append(.failure(error))
                if self.state.isPoisoned {
                    // Rebuild the committed state, then re-apply what this batch accepted so far.
                    let expected = self.lastSequence
                    try self.rebuild()
                    guard self.lastSequence == expected else {
                        self.needsRebuild = true
                        return nil
                    }
                    // Each at the time it was applied at. Each must give its entry again, as it did
                    // on this same state a moment ago; anything else is a campaign model that
                    // breaks the determinism contract, and then none of the batch is committed
                    // rather than an entry the state does not reflect.
                    for (number, index) in accepted.enumerated() {
                        do {
                            try self.apply(batch.command(index), at: appliedTimes[number], matching: entries[number])
                        } catch {
                            self.needsRebuild = true
                            try? self.rebuild()
                            throw FissionError(
                                code: .journalMismatch,
                                reason: "command \(batch.key(index)) of the batch, applied again after a rebuild, "
                                    + "did not give what it gave the first time: \(error.reason)"
                            )
                        }
                    }
                }
                continue
            }
            writer.overwrite(UInt32(writer.count - 4), at: 0)
            writer.overwrite(applied.millisecondsSinceEpoch, at: 4)
            let sequence = self.lastSequence + Int64(entries.count) + 1
            let outcome = EngineOutcome(sequence: sequence, isDuplicate: false, effects: effects)
            let outcomeStart = writer.count
            writer.append(UInt32(0))
            outcome.encode(into: &writer)
            writer.overwrite(UInt32(writer.count - outcomeStart - 4), at: outcomeStart)
            // The transfers straight from the ledger's records into the entry's binary form:
            // making `Transfer` values only for the store to encode them cost about 2,400
            // instructions a command.
            self.state.settlement.ledger.encodeTransfers(after: transfersBefore, into: &writer)
            appliedTimes.append(applied)
            entries.append(
                JournalEntry(sequence: sequence, idempotencyKey: key, payloadDigest: digest, body: writer.bytes)
            )
            _ = batchKeys?.insert(fingerprint, position: UInt64(entries.count - 1)) { _ in false }
            accepted.append(position)
            results.append(.success(outcome))
        }
        guard !entries.isEmpty else { return results }
        do {
            try self.store.append(entries, expectingLastSequence: self.lastSequence)
        } catch let error as FissionError where error.code == .storeConflict {
            self.needsRebuild = true
            return nil
        } catch {
            // The write may or may not have happened: take the state back from the store now. If
            // the store cannot be read either, the state is left empty (never ahead of the store)
            // and the next call tries again.
            self.needsRebuild = true
            try? self.rebuild()
            throw Self.storeCallFailed(error)
        }
        self.lastSequence += Int64(entries.count)
        self.entriesSinceSnapshot += entries.count
        if let interval = self.configuration.snapshotInterval, self.entriesSinceSnapshot >= interval {
            // The commands are committed; a snapshot that fails to save is only a lost shortcut,
            // reported in `automaticCheckpointFailure` and tried again after another interval
            // (not after every batch: making a snapshot takes time in proportion to the state).
            do {
                try self.checkpoint()
            } catch {
                self.automaticCheckpointFailure = error
                self.entriesSinceSnapshot = 0
            }
        }
        return results
    }

    /// The outcome stored with `entry`, as a retry of its command sees it.
    ///
    /// - Throws: ``FissionError/Code/idempotencyConflict`` if the entry's payload is not the
    ///   command (`digest` is the digest of its bytes; a command journaled before its tag changed
    ///   is the same command under its earlier bytes); ``FissionError/Code/corruptJournal`` naming
    ///   the entry if its outcome does not decode.
    static func storedOutcome(
        of entry: JournalEntry,
        command: EngineCommand,
        digest: UInt64
    ) throws(FissionError) -> EngineOutcome {
        guard entry.payloadDigest == digest || command.earlierFormDigests().contains(entry.payloadDigest) else {
            throw Self.conflict(entry.idempotencyKey)
        }
        do {
            return try EngineOutcome.decode(entry.outcome, sequence: entry.sequence, isDuplicate: true)
        } catch {
            throw error.decodingFault(as: .corruptJournal, in: "journal entry \(entry.sequence)'s outcome")
        }
    }

    // MARK: - Restoring

    mutating func rebuildIfNeeded() throws(FissionError) {
        if self.needsRebuild { try self.rebuild() }
    }

    /// Discards the in-memory state and restores the committed one: snapshot, then replay.
    mutating func rebuild() throws(FissionError) {
        self.needsRebuild = true
        self.state = EngineState(configuration: self.configuration)
        self.lastSequence = 0
        if let snapshot = try Self.storeCall({ try self.store.latestSnapshot() }) {
            self.state = try EngineState(snapshot: snapshot.state, configuration: self.configuration)
            self.lastSequence = snapshot.sequence
        }
        try self.catchUp()
        self.entriesSinceSnapshot = 0
        self.needsRebuild = false
    }

    /// Replays the journal's entries after ``lastSequence``, checking each outcome.
    mutating func catchUp() throws(FissionError) {
        let pageSize = self.store.maximumPageSize
        while true {
            let after = self.lastSequence
            let page = try Self.storeCall { try self.store.entries(after: after, limit: pageSize) }
            guard !page.isEmpty else { return }
            for entry in page { try self.replay(entry) }
        }
    }

    mutating func replay(_ entry: JournalEntry) throws(FissionError) {
        guard entry.sequence == self.lastSequence + 1 else {
            throw FissionError(
                code: .journalMismatch,
                reason: "entry \(entry.sequence) follows \(self.lastSequence): the journal has a gap"
            )
        }
        let (applied, command, form) = try Self.decodeCommand(of: entry)
        do {
            try self.apply(command, at: applied, matching: entry, form: form)
        } catch {
            // The entry changed the state, or part of it, without being one the state includes:
            // leave the state empty, never ahead of the store, as a rebuild that fails does.
            self.state = EngineState(configuration: self.configuration)
            self.lastSequence = 0
            self.needsRebuild = true
            throw FissionError(
                code: .journalMismatch,
                reason: "replaying entry \(entry.sequence) (\(entry.idempotencyKey)): \(error.reason)"
            )
        }
        self.lastSequence = entry.sequence
    }

    /// Applies `command` (the command of `entry`) at `applied` and checks that it gives the
    /// entry's outcome and transfers, compared as bytes: transfers, like outcomes, are equal
    /// exactly when their encodings are.
    ///
    /// - Throws: The command's own error if it no longer applies; ``FissionError/Code/journalMismatch``
    ///   if it gives another outcome or other transfers. Either way the state may have changed:
    ///   the caller rebuilds it.
    private mutating func apply(
        _ command: EngineCommand,
        at applied: Timestamp,
        matching entry: JournalEntry,
        form: EngineCommand.JournaledForm = []
    ) throws(FissionError) {
        let transfersBefore = self.state.settlement.ledger.transferCount
        let effects = try self.state.apply(
            command,
            key: entry.idempotencyKey,
            at: applied,
            form: form,
            replaying: true
        )
        var writer = ByteWriter(capacity: entry.body.count)
        EngineOutcome(sequence: entry.sequence, effects: effects).encode(into: &writer)
        let sameOutcome = writer.withUnsafeBytes { made in entry.withOutcomeBytes { made.elementsEqual($0) } }
        writer.reset()
        self.state.settlement.ledger.encodeTransfers(after: transfersBefore, into: &writer)
        let sameTransfers = writer.withUnsafeBytes { made in entry.withTransferBytes { made.elementsEqual($0) } }
        guard sameOutcome, sameTransfers else {
            throw FissionError(code: .journalMismatch, reason: "it gave another outcome than stored")
        }
    }

    /// The time and command a journal entry holds; a fault is ``FissionError/Code/corruptJournal``
    /// naming the entry.
    static func decodeCommand(
        of entry: JournalEntry
    ) throws(FissionError) -> (Timestamp, EngineCommand, form: EngineCommand.JournaledForm) {
        do throws(FissionError) {
            let bytes = entry.command
            var reader = ByteReader(bytes: bytes)
            let time: Int64 = try reader.read()
            let applied = try reader.readTimestamp(at: time)
            let (command, form) = try EngineCommand.decodeJournaled(from: &reader)
            guard reader.isAtEnd, stableDigest(bytes[8...]) == entry.payloadDigest else {
                throw FissionError(code: .corruptJournal, reason: "the command does not match its digest")
            }
            return (applied, command, form)
        } catch {
            throw error.decodingFault(as: .corruptJournal, in: "journal entry \(entry.sequence)")
        }
    }

    // MARK: - Errors

    static func storeCall<Value>(_ body: () throws -> Value) throws(FissionError) -> Value {
        do {
            return try body()
        } catch {
            throw Self.storeCallFailed(error)
        }
    }

    private static func storeCallFailed(_ error: any Error) -> FissionError {
        if let error = error as? FissionError { return error }
        return FissionError(code: .storeCallFailed, reason: "the store failed: \(error)")
    }

    private static func conflict(_ key: EventID) -> FissionError {
        FissionError(code: .idempotencyConflict, reason: "key \(key) was submitted before with another payload")
    }
}

/// A batch of commands, read in place.
///
/// Iterating a `[(key: EventID, command: EngineCommand)]`, or reading `batch[i].key`, copies the
/// whole pair through the runtime's generic tuple copy, about 220 instructions a pair; the engine
/// read each pair three to four times. This reads one field at its offset in the pair, a copy of
/// that field alone. Valid only inside the `withUnsafeBufferPointer` call that made it.
private struct BatchItems {
    typealias Item = (key: EventID, command: EngineCommand)

    private let base: UnsafeRawPointer?
    let count: Int
    private let stride = MemoryLayout<Item>.stride
    private let keyOffset = MemoryLayout<Item>.offset(of: \Item.key).unsafelyUnwrapped
    private let commandOffset = MemoryLayout<Item>.offset(of: \Item.command).unsafelyUnwrapped

    init(_ items: UnsafeBufferPointer<Item>) {
        self.base = UnsafeRawPointer(items.baseAddress)
        self.count = items.count
    }

    func key(_ index: Int) -> EventID {
        precondition(index >= 0 && index < self.count, "batch position \(index) out of 0..<\(self.count)")
        return self.base.unsafelyUnwrapped.load(fromByteOffset: index * self.stride + self.keyOffset, as: EventID.self)
    }

    func command(_ index: Int) -> EngineCommand {
        precondition(index >= 0 && index < self.count, "batch position \(index) out of 0..<\(self.count)")
        return self.base.unsafelyUnwrapped.load(
            fromByteOffset: index * self.stride + self.commandOffset,
            as: EngineCommand.self
        )
    }
}

extension ByteReader {
    /// Turns a journaled time back into a timestamp.
    fileprivate func readTimestamp(at milliseconds: Int64) throws(FissionError) -> Timestamp {
        do {
            return try Timestamp(millisecondsSinceEpoch: milliseconds)
        } catch {
            throw Self.corrupt("a timestamp out of range")
        }
    }
}

extension FissionError.Code {
    /// A store call failed with an error that is not a ``FissionError`` (a write that may or may
    /// not have happened, or a read); the engine rebuilds its state from the store. Resubmit with
    /// the same key. A store's own ``FissionError``s (a busy SQLite file...) are passed through
    /// unchanged, with the same rebuild.
    public static let storeCallFailed = Self("storeCallFailed")
    /// Replaying the journal did not give what was stored, or the journal has a gap.
    public static let journalMismatch = Self("journalMismatch")
    /// The store's snapshot was taken under another configuration than the engine was opened
    /// with: open it with the configuration it was written with.
    public static let configurationMismatch = Self("configurationMismatch")
    /// An engine configuration no engine can run with (a snapshot interval below 1, two models
    /// with one name).
    public static let invalidConfiguration = Self("invalidConfiguration")
    /// Journal bytes that do not decode: an entry's command or stored outcome, or a command that
    /// does not match its payload digest. The reason names the entry.
    public static let corruptJournal = Self("corruptJournal")
}
