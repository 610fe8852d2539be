import Fission
import Foundation
import Testing

/// `FissionEngine.journal(after:limit:)`: a host reads committed commands and their outcomes back
/// by sequence (an outbox), including other engines' commands, and nothing else.
struct EngineJournalReadingTests {
    @Test(arguments: StoreKind.allCases)
    func theJournalReadsBackEveryCommittedCommandAndItsFirstOutcome(kind: StoreKind) async throws {
        let store = try kind.make()
        let engine = try FissionEngine(store: store)
        var submitted: [(key: EventID, command: EngineCommand, outcome: EngineOutcome)] = []
        for step in try scenario(moderated: false) {
            let outcome = try await engine.submit(step.command, key: step.key, at: step.at)
            submitted.append((step.key, step.command, outcome))
        }
        // A refused command and a retry add nothing to the journal.
        await #expect(throws: FissionError.self) {
            try await engine.submit(.orderRefunded(order: "o1", amount: yuan(1_000)), key: "too-much", at: at(days: 11))
        }
        #expect(try await engine.submit(submitted[3].command, key: submitted[3].key, at: at(days: 11)).isDuplicate)

        var records: [FissionEngine.JournalRecord] = []
        var last: Int64 = 0
        while true {
            let page = try await engine.journal(after: last, limit: 7)
            guard let end = page.last else { break }
            #expect(page.count <= 7)
            records += page
            last = end.sequence
        }
        #expect(records.map(\.sequence) == Array(1...Int64(submitted.count)))
        for (record, first) in zip(records, submitted) {
            #expect(record.key == first.key)
            #expect(record.command == first.command, "\(first.key)")
            #expect(record.outcome == first.outcome, "\(first.key)")
            #expect(!record.outcome.isDuplicate)
        }
        // Each record carries the time its command was applied at: the last, o2's refund, day 10.
        #expect(records.last?.appliedAt == at(days: 10))
        #expect(try await engine.journal(after: last, limit: 7).isEmpty)
        #expect(try await engine.journal(after: 5, limit: 1).map(\.sequence) == [6])
    }

    @Test func anotherEnginesCommandsAreReadBeforeCatchingUp() async throws {
        let store = InMemoryStore()
        let reader = try FissionEngine(store: store)
        let writer = try FissionEngine(store: store)
        try await seed(writer)
        let records = try await reader.journal(after: 0, limit: 100)
        #expect(records.count == Int(await writer.lastSequence))
        #expect(await reader.lastSequence == 0, "reading the journal does not apply it")
    }

    @Test func aLimitOutsideTheStoresPageSizeIsATypedError() async throws {
        let engine = try await seededEngine(.memory)
        for limit in [0, -1, InMemoryStore().maximumPageSize + 1] {
            let error = await #expect(throws: FissionError.self) { try await engine.journal(after: 0, limit: limit) }
            #expect(error?.code == .invalidPageSize, "\(limit)")
        }
    }

    @Test func anUnreadableOutcomeIsACorruptJournalNamingTheEntry() async throws {
        let source = try await seededEngine(.memory)
        var entries = try source.store.entries(after: 0, limit: 100)
        entries[2] = entries[2].replacing(outcome: [0xFF])
        // Another writer's entries, appended after this engine opened (it could not replay them).
        let store = InMemoryStore()
        let engine = try FissionEngine(store: store)
        try store.append(entries, expectingLastSequence: 0)
        let error = await #expect(throws: FissionError.self) { try await engine.journal(after: 0, limit: 10) }
        #expect(error?.code == .corruptJournal)
        #expect(error?.reason.contains("journal entry 3") == true, "\(String(describing: error))")
    }

    @Test func anEntryInAnEarlierFormSaysSo() async throws {
        let name = "engine-store-v6-session16-layers.bin"
        let file = try GoldenStore.read(
            Array(try Data(contentsOf: GoldenStoreTests.fixtures.appendingPathComponent(name)))
        )
        let engine = try FissionEngine(
            store: try file.store(.memory, withSnapshot: false),
            configuration: try GoldenStoreTests.configuration(for: name)
        )
        let records = try await engine.journal(after: 0, limit: 1_000)
        #expect(records.count == file.entries.count)
        // Session 16 journaled trackActivity as tag 35: tracking without refunds.
        #expect(records.filter(\.isEarlierForm).map(\.key) == ["track"])
        #expect(records.first { $0.key == "track" }?.command == .trackActivity)
    }
}
