import FissionStorage
import Testing

@testable import Fission
@_spi(FissionCoding) @testable import FissionCore

/// A fault in stored bytes is reported as the kind of bytes it is in: a journal entry's as
/// `corruptJournal` naming the entry, a snapshot's as `corruptSnapshot`, whichever reader found it.
struct EngineDecodingFaultTests {
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
        let engine = try await seededEngine(.memory)
        var entries = try engine.store.entries(after: 0, limit: 100)
        let victim = entries[5]
        entries[5] = JournalEntry(
            sequence: victim.sequence,
            idempotencyKey: victim.idempotencyKey,
            payloadDigest: victim.payloadDigest,
            command: Array(victim.command.prefix(10)),
            outcome: victim.outcome,
            transfers: victim.transfers
        )
        let store = InMemoryStore()
        try store.append(entries, expectingLastSequence: 0)
        let error = #expect(throws: FissionError.self) { try FissionEngine(store: store) }
        // The byte reader calls a truncation a corrupt snapshot; this one is in the journal.
        #expect(error?.code == .corruptJournal)
        #expect(error?.reason.hasPrefix("journal entry \(victim.sequence): ") == true, "\(error?.reason ?? "")")
    }

    @Test func aJournalEntryWhoseCommandDoesNotMatchItsDigestIsACorruptJournal() async throws {
        let engine = try await seededEngine(.memory)
        var entries = try engine.store.entries(after: 0, limit: 100)
        let victim = entries[2]
        entries[2] = JournalEntry(
            sequence: victim.sequence,
            idempotencyKey: victim.idempotencyKey,
            payloadDigest: victim.payloadDigest &+ 1,
            command: victim.command,
            outcome: victim.outcome,
            transfers: victim.transfers
        )
        let store = InMemoryStore()
        try store.append(entries, expectingLastSequence: 0)
        let error = #expect(throws: FissionError.self) { try FissionEngine(store: store) }
        #expect(error?.code == .corruptJournal)
        #expect(error?.reason == "journal entry \(victim.sequence): the command does not match its digest")
    }

    @Test func aRetryWhoseStoredOutcomeIsTruncatedIsACorruptJournal() async throws {
        let engine = try await seededEngine(.memory)
        try await engine.checkpoint()
        // A store whose journal holds a spoiled outcome behind a good snapshot: opening needs no
        // replay, and the retry reads the outcome back.
        var entries = try engine.store.entries(after: 0, limit: 100)
        let victim = entries[4]
        entries[4] = JournalEntry(
            sequence: victim.sequence,
            idempotencyKey: victim.idempotencyKey,
            payloadDigest: victim.payloadDigest,
            command: victim.command,
            outcome: [9, 0],
            transfers: victim.transfers
        )
        let store = InMemoryStore()
        try store.append(entries, expectingLastSequence: 0)
        try store.saveSnapshot(try #require(try engine.store.latestSnapshot()))
        let reopened = try FissionEngine(store: store)
        let step = try seedCommands()[4]
        #expect(step.key == victim.idempotencyKey)
        let error = await #expect(throws: FissionError.self) {
            try await reopened.submit(step.command, key: step.key, at: at(hours: 1))
        }
        #expect(error?.code == .corruptJournal)
        let reason = error?.reason ?? ""
        #expect(reason.hasPrefix("journal entry \(victim.sequence)'s outcome: "), "\(reason)")
        #expect(await reopened.lastSequence == Int64(entries.count))
    }
}
