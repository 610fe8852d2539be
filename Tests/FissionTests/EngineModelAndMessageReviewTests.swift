import FissionStorage
import Testing

@testable import Fission

/// Two do-nothing campaign models whose names are distinct strings that `String`'s `<` does not
/// order either way: U+0915 DEVANAGARI KA, and U+0958 DEVANAGARI QA, which decomposes to KA and a
/// nukta.
private struct ModelKa: CampaignModel {
    enum Command: UInt8, CampaignModelCommand {
        case noop = 1
        func encoded() -> [UInt8] { [self.rawValue] }
        init(encoded bytes: [UInt8]) throws(FissionError) {
            guard bytes == [1] else { throw FissionError(code: .corruptJournal, reason: "no such command") }
            self = .noop
        }
    }
    static var name: String { "\u{915}" }
    init() {}
    mutating func apply(_ command: Command, context: CampaignModelContext) throws(FissionError) -> CampaignModelStep {
        CampaignModelStep()
    }
    func snapshot() -> [UInt8] { [] }
    init(snapshot bytes: [UInt8]) throws(FissionError) {}
}

private struct ModelQa: CampaignModel {
    typealias Command = ModelKa.Command
    static var name: String { "\u{958}" }
    init() {}
    mutating func apply(_ command: Command, context: CampaignModelContext) throws(FissionError) -> CampaignModelStep {
        CampaignModelStep()
    }
    func snapshot() -> [UInt8] { [] }
    init(snapshot bytes: [UInt8]) throws(FissionError) {}
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
