import Fission
import Testing

/// `import Fission` alone must give a host every module's types.
struct UmbrellaTests {
    @Test func oneImportReachesEveryModule() throws {
        let member: MemberID = 1
        var graph = InviteGraph()
        let now = try Timestamp(millisecondsSinceEpoch: 0)
        try graph.register(member, at: now)
        #expect(graph.contains(member))
        #expect(Layer.core.name == "core")
        #expect(GroupPurpose.core.name == "core")
        #expect(LedgerUnit.money(.cny) != .points)
    }
}
