import Fission
import FissionStorageTesting
import Testing

/// Moderation rules, built once: building (or decoding) them takes a debug build about 0.15 s.
let spamRules = Result { try ModerationRules(sensitiveWords: ["spam"], ads: lightAdRules()) }

/// A scenario touching every kind of command, with keys, in order, at increasing times.
///
/// - Parameter moderated: Whether to include the moderation command, whose rules take a debug
///   build 0.15 s to decode on every reopening.
func scenario(moderated: Bool = true) throws -> [(key: EventID, command: EngineCommand, at: Timestamp)] {
    let series = try GroupSeries(
        id: "welcome",
        name: "Welcome",
        purpose: .acquisition,
        capacity: 2,
        tags: [],
        entryRule: nil,
        offset: .chinaStandardTime,
        maximumGroups: 5
    )
    let rules = try spamRules.get()
    var steps = try seedCommands(coupon: true).map { (key: $0.key, command: $0.command, at: at(hours: 1)) }
    steps += [
        ("series", .addGroupSeries(series), at(hours: 2)),
        ("join-alice", .joinGroup("alice", into: .series("welcome"), invitedBy: nil, channel: nil), at(hours: 3)),
        ("moderation", .setModeration("welcome-1", rules: rules, policy: .standard), at(hours: 3)),
        ("join-bob", .joinGroup("bob", into: .series("welcome"), invitedBy: "alice", channel: nil), at(hours: 3)),
        ("join-carol", .joinGroup("carol", into: .series("welcome"), invitedBy: nil, channel: nil), at(hours: 3)),
        ("check-alice", .checkIn("alice", activity: "run", group: "welcome-1"), at(hours: 4)),
        ("msg-bob", .messagePosted("bob", group: "welcome-1", text: "spam"), at(hours: 4)),
        ("reg-dave", .registerMember("dave", invitedBy: nil, campaign: nil, channel: nil), at(hours: 5)),
        ("bind-dave", .bind("dave", to: "carol", campaign: spring), at(hours: 5)),
        ("o1:paid", .orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)]), at(days: 1)),
        (
            "o2:paid", .orderPaid(order: "o2", buyer: "dave", kind: .regular, lines: [line(80), line(20, sku: "b")]),
            at(days: 1)
        ),
        ("o1:refund", .orderRefunded(order: "o1", amount: yuan(40)), at(days: 2)),
        ("pause", .pauseCampaign(spring), at(days: 2)),
        ("o3:paid", .orderPaid(order: "o3", buyer: "carol", kind: .regular, lines: [line(50)]), at(days: 2)),
        ("resume", .resumeCampaign(spring), at(days: 3)),
        (
            "share", .model(.open(share: "s1", sharer: "alice", campaign: spring, goal: 2), of: MutualShareModel.self),
            at(days: 3)
        ),
        ("help-bob", .model(.help(share: "s1", helper: "bob"), of: MutualShareModel.self), at(days: 3)),
        ("help-carol", .model(.help(share: "s1", helper: "carol"), of: MutualShareModel.self), at(days: 3)),
        ("leave-carol", .leaveGroup("carol", group: "welcome-2"), at(days: 4)),
        ("advance-9", .advance, at(days: 9)),
        ("o2:refund", .orderRefunded(order: "o2", amount: yuan(100)), at(days: 10)),
    ]
    return moderated ? steps : steps.filter { $0.key != "moderation" }
}

/// Runs the scenario on a fresh engine over `store`, returning the engine.
func runScenario(on store: any FissionStore, moderated: Bool = true) async throws -> FissionEngine {
    let engine = try FissionEngine(store: store)
    for step in try scenario(moderated: moderated) { try await engine.submit(step.command, key: step.key, at: step.at) }
    return engine
}

struct EngineIdempotencyTests {
    @Test(arguments: StoreKind.allCases) func aRetryWithTheSamePayloadReturnsTheStoredOutcome(
        _ kind: StoreKind
    ) async throws {
        let engine = try await seededEngine(kind)
        let command = EngineCommand.orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)])
        let first = try await engine.submit(command, key: "o1:paid", at: at(days: 1))
        let before = await fingerprint(engine)
        let retry = try await engine.submit(command, key: "o1:paid", at: at(days: 1, hours: 5))
        #expect(retry.isDuplicate && !first.isDuplicate)
        #expect(retry.effects == first.effects && retry.sequence == first.sequence)
        #expect(await fingerprint(engine) == before)
        #expect(await engine.lastSequence == first.sequence)
    }

    @Test(arguments: StoreKind.allCases) func aReusedKeyWithAnotherPayloadIsAConflict(_ kind: StoreKind) async throws {
        let engine = try await seededEngine(kind)
        try await engine.submit(
            .orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)]),
            key: "o1:paid",
            at: at(days: 1)
        )
        let before = await fingerprint(engine)
        let error = await #expect(throws: FissionError.self) {
            try await engine.submit(
                .orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(99)]),
                key: "o1:paid",
                at: at(days: 1)
            )
        }
        #expect(error?.code == .idempotencyConflict)
        #expect(await fingerprint(engine) == before)
    }

    @Test(arguments: StoreKind.allCases) func keysStaySpentAfterReopening(_ kind: StoreKind) async throws {
        let store = try kind.make()
        let first = try FissionEngine(store: store)
        try await seed(first)
        let command = EngineCommand.orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)])
        let original = try await first.submit(command, key: "o1:paid", at: at(days: 1))
        let reopened = try FissionEngine(store: store)
        let retry = try await reopened.submit(command, key: "o1:paid", at: at(days: 2))
        #expect(retry.isDuplicate && retry.effects == original.effects)
        let error = await #expect(throws: FissionError.self) {
            try await reopened.submit(.advance, key: "o1:paid", at: at(days: 2))
        }
        #expect(error?.code == .idempotencyConflict)
        #expect(await reopened.lastSequence == original.sequence)
    }

    @Test func aKeyRepeatedInOneBatchIsARetryOfTheFirst() async throws {
        let engine = try await seededEngine(.memory)
        let command = EngineCommand.orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)])
        let results = try await engine.submit(
            batch: [("o1:paid", command), ("o1:paid", command), ("o1:paid", .advance)],
            at: at(days: 1)
        )
        let first = try results[0].get()
        let second = try results[1].get()
        #expect(second.isDuplicate && second.effects == first.effects && second.sequence == first.sequence)
        #expect(throws: FissionError.self) { try results[2].get() }
        #expect(await engine.lastSequence == first.sequence)
    }

    @Test func repeatsInALongBatchAnswerForTheirOwnFirstOccurrence() async throws {
        let engine = try await seededEngine(.memory)
        var batch: [(key: EventID, command: EngineCommand)] = []
        for index in 0..<40 {
            let lines = [line(100 + Int64(index))]
            batch.append(
                (
                    try EventID("o\(index):paid"),
                    .orderPaid(order: OrderID(Int64(index)), buyer: "carol", kind: .regular, lines: lines)
                )
            )
        }
        batch.append(batch[7])
        batch.append(batch[31])
        batch.append((batch[12].key, .advance))
        let results = try await engine.submit(batch: batch, at: at(days: 1))
        for (repeated, original) in [(40, 7), (41, 31)] {
            let first = try results[original].get()
            let again = try results[repeated].get()
            #expect(again.isDuplicate && again.sequence == first.sequence && again.effects == first.effects)
        }
        #expect(throws: FissionError.self) { try results[42].get() }
        if case .failure(let error) = results[42] { #expect(error.code == .idempotencyConflict) }
        #expect(await engine.lastSequence == (try results[39].get()).sequence)
    }
}

struct EngineBatchTests {
    @Test(arguments: StoreKind.allCases) func aBatchIsOneAppendWithAResultPerCommand(_ kind: StoreKind) async throws {
        let store = FaultInjectingStore(wrapping: try kind.make())
        let engine = try FissionEngine(store: store)
        try await seed(engine)
        let writes = store.writeCount
        let results = try await engine.submit(
            batch: [
                ("o1:paid", .orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)])),
                ("o2:paid", .orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)])),
                ("reg-dave", .registerMember("dave", invitedBy: "carol", campaign: nil, channel: nil)),
            ],
            at: at(days: 1)
        )
        #expect(store.writeCount == writes + 1)
        #expect(try results[0].get().sequence == 8)
        #expect(throws: FissionError.self) { try results[1].get() }
        #expect(try results[2].get().sequence == 9)
        // The same commands one by one give the same state.
        let single = try await seededEngine(kind)
        try await single.submit(
            .orderPaid(order: "o1", buyer: "carol", kind: .regular, lines: [line(100)]),
            key: "o1:paid",
            at: at(days: 1)
        )
        try await single.submit(
            .registerMember("dave", invitedBy: "carol", campaign: nil, channel: nil),
            key: "reg-dave",
            at: at(days: 1)
        )
        #expect(await fingerprint(single) == fingerprint(engine))
    }
}

struct EnginePersistenceTests {
    @Test(arguments: StoreKind.allCases) func reopeningRestoresExactlyTheCommittedState(_ kind: StoreKind) async throws
    {
        let store = try kind.make()
        let engine = try await runScenario(on: store)
        let expected = await fingerprint(engine)
        #expect(expected.transfers.count > 20)
        #expect(expected.shares["s1"]?.isComplete == true)
        let reopened = try FissionEngine(store: store)
        #expect(await fingerprint(reopened) == expected)
        #expect(await reopened.lastSequence == engine.lastSequence)
        #expect(await reopened.state.settlement.ledger.audit().isEmpty)
        // The journal's transfers are the ledger's, in order.
        var journaled: [Transfer] = []
        var after: Int64 = 0
        while case let page = try store.entries(after: after, limit: 100), !page.isEmpty {
            journaled += page.flatMap(\.transfers)
            after = page.last!.sequence
        }
        #expect(journaled == expected.transfers)
    }

    @Test func everyStoreGivesTheSameLedgerAndJournalForTheSameCommands() async throws {
        var fingerprints: [StateFingerprint] = []
        var journals: [[JournalEntry]] = []
        for kind in StoreKind.allCases {
            let store = try kind.make()
            let engine = try await runScenario(on: store)
            fingerprints.append(try await committedFingerprint(store))
            #expect(fingerprints.last == (await fingerprint(engine)), "\(kind)")
            journals.append(try store.entries(after: 0, limit: 1_000))
        }
        #expect(Set(fingerprints.map(\.transfers)).count == 1)
        #expect(fingerprints.dropFirst().allSatisfy { $0 == fingerprints[0] })
        #expect(journals.dropFirst().allSatisfy { $0 == journals[0] })
    }

    @Test func replayRefusesAnEntryWhoseOutcomeWasChanged() async throws {
        let store = InMemoryStore()
        let engine = try await seededEngine(.memory)
        // Copy the journal, altering one stored outcome.
        let entries = try engine.store.entries(after: 0, limit: 100)
        var altered = entries
        altered[5] = altered[5].replacing(outcome: [0, 0, 0, 0])
        try store.append(altered, expectingLastSequence: 0)
        let error = #expect(throws: FissionError.self) { try FissionEngine(store: store) }
        #expect(error?.code == .journalMismatch)
    }

    @Test func anEntryThatFailsToReplayLeavesNoStateAheadOfTheStore() async throws {
        // Another writer appends an entry this engine cannot replay (its outcome was altered).
        let store = InMemoryStore()
        let engine = try FissionEngine(store: store)
        try await seed(engine)
        let other = try await seededEngine(.memory)
        try await other.submit(
            .orderPaid(order: "o-1", buyer: "carol", kind: .regular, lines: [line(100)]),
            key: "paid",
            at: at(days: 1)
        )
        let next = try #require(try other.store.entries(after: 7, limit: 1).first)
        try store.append([next.replacing(outcome: [0, 0, 0, 0])], expectingLastSequence: 7)
        let error = await #expect(throws: FissionError.self) { try await engine.refresh() }
        #expect(error?.code == .journalMismatch)
        // The order's grants were applied before the outcome was compared: none of it shows.
        #expect(await engine.lastSequence == 0)
        #expect(await engine.state.settlement.ledger.transferCount == 0)
        #expect(await engine.state.registeredMembers.isEmpty)
    }

    @Test(arguments: StoreKind.allCases) func aCheckpointRestoresTheSameStateAndReplaysOnlyWhatFollows(
        _ kind: StoreKind
    ) async throws {
        let store = FaultInjectingStore(wrapping: try kind.make())
        let engine = try FissionEngine(store: store)
        let steps = try scenario()
        for step in steps.prefix(20) { try await engine.submit(step.command, key: step.key, at: step.at) }
        try await engine.checkpoint()
        #expect(try store.latestSnapshot()?.sequence == 20)
        for step in steps.dropFirst(20) { try await engine.submit(step.command, key: step.key, at: step.at) }
        let reopened = try FissionEngine(store: store)
        #expect(await fingerprint(reopened) == fingerprint(engine))
        #expect(await reopened.lastSequence == Int64(steps.count))
        // Keys from before the snapshot stay spent: they are found in the store.
        let retry = try await reopened.submit(steps[8].command, key: steps[8].key, at: steps[8].at)
        #expect(retry.isDuplicate)
        // Equal states give equal snapshots.
        try await reopened.checkpoint()
        let first = try #require(try store.latestSnapshot())
        let other = InMemoryStore()
        let twin = try await runScenario(on: other)
        try await twin.checkpoint()
        #expect(other.latestSnapshot()?.state == first.state)
    }

    @Test func automaticSnapshotsKeepTheJournalShortToReplay() async throws {
        let store = FaultInjectingStore(wrapping: InMemoryStore())
        let engine = try FissionEngine(store: store, configuration: .init(snapshotInterval: 5))
        let steps = try scenario(moderated: false)
        for step in steps { try await engine.submit(step.command, key: step.key, at: step.at) }
        let snapshot = try #require(try store.latestSnapshot())
        #expect(snapshot.sequence == Int64(steps.count / 5 * 5))
        #expect(await fingerprint(try FissionEngine(store: store)) == fingerprint(engine))
        // A snapshot that fails to save does not fail the command that triggered it.
        // The next snapshot comes after the append that brings the count since the last one to 5.
        let appendsToSnapshot = 5 - steps.count % 5
        store.failWrite(store.writeCount + appendsToSnapshot + 1)
        for index in 0..<5 {
            try await engine.submit(.advance, key: EventID(Int64(9_000 + index)), at: at(days: 20))
        }
        #expect(await engine.lastSequence == Int64(steps.count + 5))
        // The failed snapshot is not stored; the next command takes one again.
        #expect(try store.latestSnapshot()?.sequence != Int64(steps.count + appendsToSnapshot))
        #expect(await fingerprint(try FissionEngine(store: store)) == fingerprint(engine))
    }

    @Test func openingOnAnUnreadableSnapshotFailsLoudly() async throws {
        let store = InMemoryStore()
        let engine = try FissionEngine(store: store)
        try await seed(engine)
        try store.saveSnapshot(StoreSnapshot(sequence: 3, state: [1, 2, 3]))
        let error = #expect(throws: FissionError.self) { try FissionEngine(store: store) }
        #expect(error?.code == .corruptSnapshot)
    }
}

struct EngineModelTests {
    @Test func theShareModelGoesThroughTheJournalAndTheLedger() async throws {
        let store = InMemoryStore()
        let engine = try FissionEngine(store: store)
        try await seed(engine)
        let open = EngineCommand.model(
            .open(share: "s1", sharer: "alice", campaign: spring, goal: 2),
            of: MutualShareModel.self
        )
        try await engine.submit(open, key: "share-1", at: at(days: 1))
        let help = try await engine.submit(
            .model(.help(share: "s1", helper: "bob"), of: MutualShareModel.self),
            key: "help-bob",
            at: at(days: 1)
        )
        #expect(help.effects.count == 2)
        let done = try await engine.submit(
            .model(.help(share: "s1", helper: "carol"), of: MutualShareModel.self),
            key: "help-carol",
            at: at(days: 1)
        )
        #expect(
            done.effects.last == .model(name: MutualShareModel.name, payload: MutualShareModel.completionEffect("s1"))
        )
        #expect(wallet(await engine.state, "alice").available == 500 + 400)
        #expect(wallet(await engine.state, "bob", .points).available == 10)
        // Idempotent like every command, and refused when the state refuses it.
        let retry = try await engine.submit(
            .model(.help(share: "s1", helper: "bob"), of: MutualShareModel.self),
            key: "help-bob",
            at: at(days: 2)
        )
        #expect(retry.isDuplicate)
        let error = await #expect(throws: FissionError.self) {
            try await engine.submit(
                .model(.help(share: "s1", helper: "bob"), of: MutualShareModel.self),
                key: "help-bob-2",
                at: at(days: 2)
            )
        }
        #expect(error?.code == .invalidShare)
        // Replayed on reopening.
        let reopened = try FissionEngine(store: store)
        #expect(await fingerprint(reopened) == fingerprint(engine))
    }

    @Test func commandsRoundTripThroughTheirBytes() throws {
        let commands: [MutualShareModel.Command] = [
            .open(share: "s1", sharer: "alice", campaign: spring, goal: 3), .help(share: 7, helper: "bob"),
        ]
        for command in commands { #expect(try MutualShareModel.Command(encoded: command.encoded()) == command) }
        #expect(throws: FissionError.self) { try MutualShareModel.Command(encoded: [9]) }
    }
}
