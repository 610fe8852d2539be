import FissionStorage
import Synchronization
import Testing

@testable import Fission
@_spi(FissionCoding) @testable import FissionCore

/// A fault in stored bytes is reported as the kind of bytes it is in: a journal entry's as
/// `corruptJournal` naming the entry, a snapshot's as `corruptSnapshot`, whichever reader found it.
struct EngineDecodingFaultTests {
    /// A command that registers `member`, invited by the seeded scenario's carol, keyed `reg-<member>`.
    static func registering(_ member: MemberID) -> (key: EventID, command: EngineCommand) {
        (
            EventID(stringLiteral: "reg-\(member)"),
            .registerMember(member, invitedBy: "carol", campaign: nil, channel: nil)
        )
    }

    /// A seeded engine on a store whose reads can be made to fail, and its state before anything
    /// else.
    fileprivate static func seededOnAFailingStore() async throws -> (ReadFailingStore, FissionEngine, StateFingerprint)
    {
        let store = ReadFailingStore()
        let engine = try FissionEngine(store: store)
        try await seed(engine)
        return (store, engine, await fingerprint(engine))
    }

    /// Dave and erin registering: the batch the store-fault tests submit.
    static let daveAndErin = [registering("dave"), registering("erin")]

    /// The seeded scenario's journal in a new store, entry `index` spoiled by `spoil`, with the
    /// engine's snapshot of the whole journal if `checkpointed`; and the entry as it was.
    private func seededStore(
        spoiling index: Int,
        checkpointed: Bool = false,
        _ spoil: (JournalEntry) -> JournalEntry
    ) async throws -> (InMemoryStore, JournalEntry) {
        let engine = try await seededEngine(.memory)
        var entries = try engine.store.entries(after: 0, limit: 100)
        let victim = entries[index]
        entries[index] = spoil(victim)
        let store = InMemoryStore()
        try store.append(entries, expectingLastSequence: 0)
        if checkpointed {
            try await engine.checkpoint()
            try store.saveSnapshot(try #require(try engine.store.latestSnapshot()))
        }
        return (store, victim)
    }

    @Test func aSnapshotWithAClockOutOfRangeIsACorruptSnapshot() async throws {
        let state = try await runScenario(on: InMemoryStore(), moderated: false).state
        var bytes = try state.snapshot()
        // The clock follows the 4-byte version: milliseconds, little-endian.
        withUnsafeBytes(of: Int64.max.littleEndian) { bytes.replaceSubrange(4..<12, with: $0) }
        let spoiled = EngineState.sealedSnapshot(Array(bytes.dropLast(8)))  // behind a valid checksum
        let error = #expect(throws: FissionError.self) { try EngineState(snapshot: spoiled, configuration: .init()) }
        #expect(error?.code == .corruptSnapshot)
        #expect(error?.reason.hasPrefix("engine snapshot: ") == true, "\(error?.reason ?? "")")
        #expect(error?.reason.contains("timestamp") == true, "\(error?.reason ?? "")")
    }

    @Test func aSnapshotWithUndecodableGroupsIsACorruptSnapshot() async throws {
        let state = try await runScenario(on: InMemoryStore(), moderated: false).state
        var bytes = try state.snapshot()
        let groups = JSONCoding.encode(state.groups.settings)
        let at = try #require(
            bytes.indices.dropLast(groups.count - 1).first { Array(bytes[$0..<($0 + groups.count)]) == groups }
        )
        bytes[at] = UInt8(ascii: "x")
        let spoiled = EngineState.sealedSnapshot(Array(bytes.dropLast(8)))  // behind a valid checksum
        let error = #expect(throws: FissionError.self) { try EngineState(snapshot: spoiled, configuration: .init()) }
        #expect(error?.code == .corruptSnapshot)
        #expect(error?.reason.contains("GroupDirectory") == true, "\(error?.reason ?? "")")
    }

    @Test func aSnapshotWithADamagedByteIsACorruptSnapshotEvenWhereTheByteStillDecodes() async throws {
        let state = try await runScenario(on: InMemoryStore(), moderated: false).state
        let bytes = try state.snapshot()
        #expect(try EngineState(snapshot: bytes, configuration: .init()).snapshot() == bytes)
        // Any one byte, flipped: a clock one millisecond later still decodes, for one.
        for offset in [4, bytes.count / 2, bytes.count - 9, bytes.count - 1] {
            var damaged = bytes
            damaged[offset] ^= 1
            let error = #expect(throws: FissionError.self) {
                try EngineState(snapshot: damaged, configuration: .init())
            }
            #expect(error?.code == .corruptSnapshot)
            #expect(error?.reason.contains("checksum does not match") == true, "\(error?.reason ?? "")")
        }
        // Versions 2 and 3 of a state without groups still restore: the same bytes with the
        // groups and the check-in board as JSON, without version 4's sections (no series, no group
        // boards: two counts of 0) and, for version 2, without the checksum.
        let seededState = try await seededEngine(.memory).state
        let seeded = try seededState.snapshot()
        let sections: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0]
        #expect(seeded.dropLast(8).suffix(sections.count) == sections[...])
        let body = try Self.withJSONGroupsAndBoard(
            Array(seeded.dropFirst(4).dropLast(8 + sections.count)),
            of: seededState
        )
        let versionTwo = [2, 0, 0, 0] + body
        #expect(try EngineState(snapshot: versionTwo, configuration: .init()).snapshot() == seeded)
        let versionThree = EngineState.sealedSnapshot([3, 0, 0, 0] + body)
        #expect(try EngineState(snapshot: versionThree, configuration: .init()).snapshot() == seeded)
    }

    /// `body` (a version-5 snapshot of `state` without its version and checksum) with the groups'
    /// settings, their logs and the binary check-in board replaced by the groups' and the board's
    /// JSON, as versions 1 to 4 wrote them.
    static func withJSONGroupsAndBoard(_ body: [UInt8], of state: EngineState) throws -> [UInt8] {
        var binary = ByteWriter(capacity: 256)
        let settings = JSONCoding.encode(state.groups.settings)
        binary.append(UInt32(settings.count))
        binary.append(contentsOf: settings)
        state.groups.encodeLogs(into: &binary)
        try state.checkIns.encode(into: &binary)
        let written = binary.finish()
        let at = try #require(
            body.indices.dropLast(written.count - 1).first { Array(body[$0..<($0 + written.count)]) == written }
        )
        var legacy = ByteWriter(capacity: 256)
        for json in [JSONCoding.encode(state.groups), JSONCoding.encode(state.checkIns)] {
            legacy.append(UInt32(json.count))
            legacy.append(contentsOf: json)
        }
        return Array(body[..<at]) + legacy.finish() + Array(body[(at + written.count)...])
    }

    @Test func aTruncatedJournalEntryIsACorruptJournalNamingTheEntry() async throws {
        let (store, victim) = try await self.seededStore(spoiling: 5) {
            $0.replacing(command: Array($0.command.prefix(10)))
        }
        let error = #expect(throws: FissionError.self) { try FissionEngine(store: store) }
        // The byte reader calls a truncation a corrupt snapshot; this one is in the journal.
        #expect(error?.code == .corruptJournal)
        #expect(error?.reason.hasPrefix("journal entry \(victim.sequence): ") == true, "\(error?.reason ?? "")")
    }

    @Test func aJournalEntryWhoseCommandDoesNotMatchItsDigestIsACorruptJournal() async throws {
        let (store, victim) = try await self.seededStore(spoiling: 2) {
            $0.replacing(payloadDigest: $0.payloadDigest &+ 1)
        }
        let error = #expect(throws: FissionError.self) { try FissionEngine(store: store) }
        #expect(error?.code == .corruptJournal)
        #expect(error?.reason == "journal entry \(victim.sequence): the command does not match its digest")
    }

    @Test func aRetryWhoseStoredOutcomeIsTruncatedIsACorruptJournal() async throws {
        // A store whose journal holds a spoiled outcome behind a good snapshot: opening needs no
        // replay, and the retry reads the outcome back.
        let (store, victim) = try await self.seededStore(spoiling: 4, checkpointed: true) {
            $0.replacing(outcome: [9, 0])
        }
        let reopened = try FissionEngine(store: store)
        let step = try seedCommands()[4]
        #expect(step.key == victim.idempotencyKey)
        let error = await #expect(throws: FissionError.self) {
            try await reopened.submit(step.command, key: step.key, at: at(hours: 1))
        }
        #expect(error?.code == .corruptJournal)
        let reason = error?.reason ?? ""
        #expect(reason.hasPrefix("journal entry \(victim.sequence)'s outcome: "), "\(reason)")
        #expect(await reopened.lastSequence == Int64(try seedCommands().count))
    }

    @Test func aModelPayloadThatDoesNotDecodeIsAnInvalidCommandNotACorruptJournal() async throws {
        let engine = try await seededEngine(.memory)
        let before = await fingerprint(engine)
        for payload: [UInt8] in [[7], [], [2, 1]] {
            let error = await #expect(throws: FissionError.self) {
                try await engine.submit(
                    .model(ModelCommand(model: MutualShareModel.name, payload: payload)),
                    key: "bad-share",
                    at: at(hours: 2)
                )
            }
            #expect(error?.code == .invalidModelCommand)
            #expect(error?.reason.hasPrefix("the payload does not decode: mutual-share command: ") == true)
        }
        #expect(await fingerprint(engine) == before)
        #expect(await engine.lastSequence == Int64(try seedCommands().count))
    }

    @Test func aBatchWithAnUnreadableRetryFailsThatCommandAndCommitsTheRest() async throws {
        let (store, victim) = try await self.seededStore(spoiling: 4, checkpointed: true) {
            $0.replacing(outcome: [9, 0])
        }
        let engine = try FissionEngine(store: store)
        let retry = try seedCommands()[4]
        let dave = Self.registering("dave")
        let results = try await engine.submit(batch: [dave, retry], at: at(hours: 2))
        #expect(try results[0].get().sequence == Int64(try seedCommands().count) + 1)
        let error = #expect(throws: FissionError.self) { try results[1].get() }
        #expect(error?.code == .corruptJournal)
        #expect(error?.reason.hasPrefix("journal entry \(victim.sequence)'s outcome: ") == true)
        // What the engine shows is what the store holds.
        #expect(await fingerprint(engine) == (try await committedFingerprint(store)))
    }

    @Test func aStoreThatCannotBeReadMidBatchLeavesTheStateAsCommitted() async throws {
        let (store, engine, before) = try await Self.seededOnAFailingStore()
        // The batch cannot look erin's key up (the engine reads every key before applying any).
        store.failKeyLookup(after: 1)
        let error = await #expect(throws: FissionError.self) {
            try await engine.submit(batch: Self.daveAndErin, at: at(hours: 2))
        }
        #expect(error?.code == .storeCallFailed)
        #expect(await fingerprint(engine) == before, "nothing of the batch is shown")
        // Nothing of the batch was committed, so it applies in full when resubmitted.
        let results = try await engine.submit(batch: Self.daveAndErin, at: at(hours: 2))
        #expect(results.allSatisfy { (try? $0.get().isDuplicate) == false })
        #expect(await fingerprint(engine) == (try await committedFingerprint(store)))
    }
}

extension EngineDecodingFaultTests {
    @Test func aStoreThatAnswersTooFewKeysFailsTheBatchUntouched() async throws {
        let (store, engine, before) = try await Self.seededOnAFailingStore()
        store.dropAnAnswer(true)
        let error = await #expect(throws: FissionError.self) {
            try await engine.submit(batch: Self.daveAndErin, at: at(hours: 2))
        }
        #expect(error?.code == .storeCallFailed)
        #expect(error?.reason == "the store returned 1 entries for 2 keys")
        #expect(await fingerprint(engine) == before)
        store.dropAnAnswer(false)
        let results = try await engine.submit(batch: Self.daveAndErin, at: at(hours: 2))
        #expect(results.allSatisfy { (try? $0.get().isDuplicate) == false })
        #expect(await fingerprint(engine) == (try await committedFingerprint(store)))
    }

    @Test func anEngineThatLosesEveryRaceShowsTheCommittedState() async throws {
        let (store, engine, before) = try await Self.seededOnAFailingStore()
        store.loseEveryRace(true)
        let error = await #expect(throws: FissionError.self) {
            try await engine.submit(
                .registerMember("dave", invitedBy: "carol", campaign: nil, channel: nil),
                key: "reg-dave",
                at: at(hours: 2)
            )
        }
        #expect(error?.code == .storeConflict)
        #expect(await fingerprint(engine) == before, "dave was applied in memory, never stored")
        store.loseEveryRace(false)
        #expect(
            try await engine.submit(
                .registerMember("dave", invitedBy: "carol", campaign: nil, channel: nil),
                key: "reg-dave",
                at: at(hours: 2)
            ).isDuplicate == false
        )
        #expect(await fingerprint(engine) == (try await committedFingerprint(store)))
    }
}

/// An in-memory store whose key lookups fail on demand, as a store whose connection drops would,
/// whose appends can be made to lose every race, as if other engines always appended first, and
/// which can answer a batch's keys one short, as a broken host store might.
private final class ReadFailingStore: FissionStore, Sendable {
    private let wrapped = InMemoryStore()
    /// How many more key lookups succeed before they fail; `nil` for never.
    private let lookupsLeft = Mutex<Int?>(nil)
    private let appendsConflict = Mutex(false)
    private let dropsAnAnswer = Mutex(false)

    func failKeyLookup(after successes: Int) { self.lookupsLeft.withLock { $0 = successes } }
    func dropAnAnswer(_ drop: Bool) { self.dropsAnAnswer.withLock { $0 = drop } }
    func loseEveryRace(_ lose: Bool) { self.appendsConflict.withLock { $0 = lose } }

    var maximumPageSize: Int { self.wrapped.maximumPageSize }
    func append(_ entries: [JournalEntry], expectingLastSequence: Int64) throws {
        if self.appendsConflict.withLock({ $0 }) {
            throw FissionError(code: .storeConflict, reason: "another writer appended first")
        }
        try self.wrapped.append(entries, expectingLastSequence: expectingLastSequence)
    }
    func lastSequence() throws -> Int64 { self.wrapped.lastSequence() }
    func entry(forKey key: EventID) throws -> JournalEntry? {
        let fails = self.lookupsLeft.withLock { left -> Bool in
            guard let remaining = left else { return false }
            if remaining == 0 {
                left = nil
                return true
            }
            left = remaining - 1
            return false
        }
        if fails { throw ConnectionLost() }
        return self.wrapped.entry(forKey: key)
    }
    /// One at a time, so a lookup set to fail fails here too; one answer short when set.
    func entries(forKeys keys: [EventID]) throws -> [JournalEntry?] {
        let found = try keys.map { try self.entry(forKey: $0) }
        return self.dropsAnAnswer.withLock { $0 } ? Array(found.dropLast()) : found
    }
    func entries(after sequence: Int64, limit: Int) throws -> [JournalEntry] {
        try self.wrapped.entries(after: sequence, limit: limit)
    }
    func saveSnapshot(_ snapshot: StoreSnapshot) throws { try self.wrapped.saveSnapshot(snapshot) }
    func latestSnapshot() throws -> StoreSnapshot? { self.wrapped.latestSnapshot() }

    struct ConnectionLost: Error {}
}
