import FissionStorage
import Testing

@testable import Fission

/// A campaign model that does nothing and has no state; its types differ only in their names.
private protocol NoOpModel: CampaignModel where Command == NoOpCommand {
    init()
}

private enum NoOpCommand: UInt8, CampaignModelCommand {
    case noop = 1
    func encoded() -> [UInt8] { [self.rawValue] }
    init(encoded bytes: [UInt8]) throws(FissionError) {
        guard bytes == [1] else { throw FissionError(code: .corruptJournal, reason: "no such command") }
        self = .noop
    }
}

extension NoOpModel {
    mutating func apply(_ command: NoOpCommand, context: CampaignModelContext) throws(FissionError) -> CampaignModelStep
    {
        CampaignModelStep()
    }
    func snapshot() -> [UInt8] { [] }
    init(snapshot bytes: [UInt8]) throws(FissionError) { self.init() }
}

/// Two do-nothing campaign models whose names are distinct strings that `String`'s `<` does not
/// order either way: U+0915 DEVANAGARI KA, and U+0958 DEVANAGARI QA, which decomposes to KA and a
/// nukta.
private struct ModelKa: NoOpModel {
    static var name: String { "\u{915}" }
}

private struct ModelQa: NoOpModel {
    static var name: String { "\u{958}" }
}

struct EngineModelNameOrderTests {
    @Test("a checkpoint of models whose names String's < does not order reopens")
    func modelsOrderedByBytes() async throws {
        #expect(ModelKa.name != ModelQa.name)
        #expect(!(ModelKa.name < ModelQa.name) && !(ModelQa.name < ModelKa.name))
        let configuration = FissionEngine.Configuration(models: [MutualShareModel.self, ModelKa.self, ModelQa.self])
        let store = InMemoryStore()
        let engine = try FissionEngine(store: store, configuration: configuration)
        try await engine.submit(.model(.noop, of: ModelKa.self), key: "k1", at: start)
        try await engine.checkpoint()
        let reopened = try FissionEngine(store: store, configuration: configuration)
        #expect(await reopened.lastSequence == 1)
        // The same state writes the same bytes, whatever order the models were configured in.
        let reordered = FissionEngine.Configuration(models: [ModelQa.self, ModelKa.self, MutualShareModel.self])
        #expect(
            try await FissionEngine(store: store, configuration: reordered).state.snapshot()
                == engine.state.snapshot()
        )
    }
}

extension EngineModelNameOrderTests {
    @Test("a snapshot whose two models the earlier writer put in either order still reads")
    func earlierOrderReads() async throws {
        let configuration = FissionEngine.Configuration(models: [MutualShareModel.self, ModelKa.self, ModelQa.self])
        let written = try await FissionEngine(store: InMemoryStore(), configuration: configuration).state.snapshot()
        // The two names' entries (length, bytes, an empty snapshot's length), swapped.
        var body = Array(written.dropLast(8))
        let ka: [UInt8] = [3, 0, 0xE0, 0xA4, 0x95]
        let qa: [UInt8] = [3, 0, 0xE0, 0xA5, 0x98]
        func find(_ needle: [UInt8]) -> [Int] {
            (0...(body.count - needle.count)).filter { body[$0..<($0 + needle.count)].elementsEqual(needle) }
        }
        let kaAt = find(ka)
        let qaAt = find(qa)
        try #require(kaAt.count == 1 && qaAt.count == 1 && qaAt[0] == kaAt[0] + ka.count + 4)
        body.replaceSubrange(kaAt[0]..<(kaAt[0] + 5), with: qa)
        body.replaceSubrange(qaAt[0]..<(qaAt[0] + 5), with: ka)
        let swapped = EngineState.sealedSnapshot(body)
        let restored = try EngineState(snapshot: swapped, configuration: configuration)
        #expect(try restored.snapshot() == written, "read in the earlier order, written in the new one")
        // A name twice is still refused.
        var repeated = body
        repeated.replaceSubrange(qaAt[0]..<(qaAt[0] + 5), with: qa)
        #expect(throws: FissionError.self) {
            try EngineState(snapshot: EngineState.sealedSnapshot(repeated), configuration: configuration)
        }
    }
}

struct EngineMessageLimitTests {
    @Test("a message over 1 MiB is messageTooLong in a group without moderation too, and nothing is journaled")
    func longMessagesAreRefusedEverywhere() async throws {
        let engine = try await seededEngine(.memory)
        let series = try GroupSeries(id: "open", name: "Open", purpose: .acquisition, maximumGroups: 2)
        try await engine.submit(.addGroupSeries(series), key: "series-open", at: at(hours: 2))
        try await engine.submit(
            .joinGroup("alice", into: .series("open"), invitedBy: nil, channel: nil),
            key: "join",
            at: at(hours: 2)
        )
        let before = await engine.lastSequence
        let long = String(repeating: "a", count: ModerationRules.maximumTextUTF8Length + 1)
        let error = await #expect(throws: FissionError.self) {
            try await engine.submit(.messagePosted("alice", group: "open-1", text: long), key: "long", at: at(hours: 3))
        }
        #expect(error?.code == .messageTooLong)
        #expect(await engine.lastSequence == before)
        let most = String(repeating: "a", count: ModerationRules.maximumTextUTF8Length)
        try await engine.submit(.messagePosted("alice", group: "open-1", text: most), key: "most", at: at(hours: 3))
    }
}
