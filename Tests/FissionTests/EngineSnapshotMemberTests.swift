@_spi(FissionCoding) import FissionCore
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
        let bytes = try state.snapshot()
        #expect(bytes.prefix(4) == [5, 0, 0, 0])
        let restored = try EngineState(snapshot: bytes, configuration: .init())
        #expect(restored.registeredMembers == state.registeredMembers)
        #expect(try restored.snapshot() == bytes)
    }

    @Test func aMemberWithAnInvalidLayerNameIsACorruptSnapshot() async throws {
        let state = try await self.decoratedState()
        var bytes = try state.snapshot()
        // Spoil the first layer name written ("kol", after its two-byte length) with a control
        // character: only a corrupt file can hold one.
        let name = Array("kol".utf8)
        let at = try #require(
            bytes.indices.dropLast(4).first {
                bytes[$0] == 3 && bytes[$0 + 1] == 0 && Array(bytes[($0 + 2)..<($0 + 5)]) == name
            }
        )
        bytes[at + 3] = 0x07
        // Behind a valid checksum, so the members' own check is what refuses it.
        let spoiled = EngineState.sealedSnapshot(Array(bytes.dropLast(8)))
        let error = #expect(throws: FissionError.self) { try EngineState(snapshot: spoiled, configuration: .init()) }
        #expect(error?.code == .corruptSnapshot)
        #expect(error?.reason.contains("member") == true)
    }

    /// Where the members section starts (its count), and where the first member's flag byte is.
    private func memberOffsets(_ bytes: [UInt8]) throws -> (count: Int, firstFlag: Int) {
        var reader = ByteReader(bytes: bytes)
        reader.offset = 12  // the version and the clock
        for _ in 0..<2 { reader.offset += Int(try reader.read() as UInt32) }  // the graph and the settlement
        let count = reader.offset
        reader.offset += 4
        _ = try reader.readIdentifier(MemberID.self)
        reader.offset += 8  // joined at
        if try reader.read() as UInt8 == 1 { _ = try reader.readString() }  // the channel
        if try reader.read() as UInt8 == 1 { _ = try reader.readIdentifier(MemberID.self) }  // the inviter
        if try reader.read() as UInt8 == 1 { _ = try reader.readIdentifier(GroupID.self) }  // the group
        return (count, reader.offset)
    }

    @Test func aSpoiledMembersSectionIsACorruptSnapshotNamingWhatIsWrong() async throws {
        let bytes = try await self.decoratedState().snapshot()
        let offsets = try self.memberOffsets(bytes)
        #expect(bytes[offsets.firstFlag] <= 1)
        var cases: [(bytes: [UInt8], says: String)] = []
        var wrongCount = bytes
        wrongCount[offsets.count] &+= 1
        cases.append((wrongCount, "members; its graph holds"))
        var badFlag = bytes
        badFlag[offsets.firstFlag] = 2
        cases.append((badFlag, "member"))
        cases.append((Array(bytes[..<(offsets.firstFlag - 3)]), "member"))
        for (spoiled, says) in cases {
            // Behind a valid checksum, so the members' own checks are what refuse them.
            let sealed = EngineState.sealedSnapshot(Array(spoiled.dropLast(spoiled.count == bytes.count ? 8 : 0)))
            let error = #expect(throws: FissionError.self) {
                try EngineState(snapshot: sealed, configuration: .init())
            }
            #expect(error?.code == .corruptSnapshot)
            #expect(error?.reason.contains(says) == true, "\(error?.reason ?? "")")
        }
    }
}
