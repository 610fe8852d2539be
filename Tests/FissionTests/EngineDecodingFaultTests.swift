import FissionStorage
import Testing

@testable import Fission
@_spi(FissionCoding) @testable import FissionCore

/// A fault in stored bytes is reported as the kind of bytes it is in: a journal entry's as
/// `corruptJournal` naming the entry, a snapshot's as `corruptSnapshot`, whichever reader found it.
struct EngineDecodingFaultTests {
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
        var bytes = state.snapshot()
        // The clock follows the 4-byte version: milliseconds, little-endian.
        withUnsafeBytes(of: Int64.max.littleEndian) { bytes.replaceSubrange(4..<12, with: $0) }
        let error = #expect(throws: FissionError.self) { try EngineState(snapshot: bytes, configuration: .init()) }
        #expect(error?.code == .corruptSnapshot)
        #expect(error?.reason.hasPrefix("engine snapshot: ") == true, "\(error?.reason ?? "")")
        #expect(error?.reason.contains("timestamp") == true, "\(error?.reason ?? "")")
    }

    @Test func aSnapshotWithUndecodableGroupsIsACorruptSnapshot() async throws {
        let state = try await runScenario(on: InMemoryStore(), moderated: false).state
        var bytes = state.snapshot()
        let groups = JSONCoding.encode(state.groups)
        let at = try #require(
            bytes.indices.dropLast(groups.count - 1).first { Array(bytes[$0..<($0 + groups.count)]) == groups }
        )
        bytes[at] = UInt8(ascii: "x")
        let error = #expect(throws: FissionError.self) { try EngineState(snapshot: bytes, configuration: .init()) }
        #expect(error?.code == .corruptSnapshot)
        #expect(error?.reason.contains("GroupDirectory") == true, "\(error?.reason ?? "")")
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
}
