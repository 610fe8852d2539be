import Testing

@testable import Fission

/// The snapshot writes members in binary (version 2): every field a member can carry comes back,
/// and a member the format cannot hold is refused as a corrupt snapshot.
struct EngineSnapshotMemberTests {
    /// The scenario's state with its members given tags, layers and risk signals, which no engine
    /// command sets today but a member value can hold.
    private func decoratedState() async throws -> EngineState {
        var state = try await runScenario(on: InMemoryStore(), moderated: false).state
        let phone = try Fingerprint(hex: String(repeating: "ab12", count: 8))
        let device = try Fingerprint(hex: String(repeating: "CD34", count: 16))
        for index in state.registeredMembers.indices where index % 2 == 0 {
            var member = state.registeredMembers[index]
            member.tags = try TagSet([MemberTag(category: "city", value: "上海"), MemberTag(category: "vip", value: "1")])
            member.layer = index == 0 ? .kol : try Layer("night-owls")
            member.riskSignals = try RiskSignals(phoneHashes: [phone], deviceHashes: [device, phone])
            state.registeredMembers[index] = member
        }
        return state
    }

    @Test func everyMemberFieldSurvivesASnapshot() async throws {
        let state = try await self.decoratedState()
        #expect(state.registeredMembers.contains { $0.source.channel != nil && $0.source.invitedBy != nil })
        #expect(state.registeredMembers.contains { !$0.tags.isEmpty })
        let bytes = state.snapshot()
        #expect(bytes.prefix(4) == [2, 0, 0, 0])
        let restored = try EngineState(snapshot: bytes, configuration: .init())
        #expect(restored.registeredMembers == state.registeredMembers)
        #expect(restored.snapshot() == bytes)
    }

    @Test func aMemberWithAnInvalidLayerNameIsACorruptSnapshot() async throws {
        let state = try await self.decoratedState()
        var bytes = state.snapshot()
        // Spoil the first layer name written ("kol", after its two-byte length) with a control
        // character: only a corrupt file can hold one.
        let name = Array("kol".utf8)
        let at = try #require(
            bytes.indices.dropLast(4).first {
                bytes[$0] == 3 && bytes[$0 + 1] == 0 && Array(bytes[($0 + 2)..<($0 + 5)]) == name
            }
        )
        bytes[at + 3] = 0x07
        let error = #expect(throws: FissionError.self) { try EngineState(snapshot: bytes, configuration: .init()) }
        #expect(error?.code == .corruptSnapshot)
        #expect(error?.reason.contains("member") == true)
    }
}
