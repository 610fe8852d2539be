import FissionCore
import FissionGraph
import Testing

/// Under a first-order binding moment one invitation waits per member until their first order.
struct PendingTouchTests {
    static let start = try! Timestamp(millisecondsSinceEpoch: 1_750_000_000_000)

    /// alice and carol registered on their own; bob registered through alice's invitation.
    static func graph(_ duration: BindingPolicy.Duration) throws -> InviteGraph {
        var graph = try InviteGraph(policy: .init(moment: .firstOrder, duration: duration))
        try graph.register("alice", at: start)
        try graph.register("carol", at: start)
        try graph.register("bob", at: start, invitedBy: "alice", campaign: "spring")
        return graph
    }

    @Test(arguments: [BindingPolicy.Duration.permanent, .protectionWindow(days: 7)])
    func aLaterTouchIsIgnoredAndSaysNothingChanged(duration: BindingPolicy.Duration) throws {
        var graph = try Self.graph(duration)
        let before = graph
        let touch = try Self.start.adding(days: 1)
        // The first waiting invitation is kept; the touch changes nothing, so it is not `.pending`.
        #expect(try graph.bind("bob", to: "carol", at: touch, campaign: "autumn") == .unchanged)
        #expect(graph == before)
        #expect(try graph.pendingInviter(of: "bob") == "alice")
        // Nothing changed, so an earlier time is still accepted afterwards.
        #expect(try graph.attributeOrder(placedBy: "bob", at: Self.start) == "alice")
        #expect(try graph.inviteCount(of: "alice", in: "spring") == 1)
    }

    @Test(arguments: [BindingPolicy.Duration.permanent, .protectionWindow(days: 7)])
    func theFirstTouchWaitsWhenTheMemberRegisteredWithoutAnInvitation(duration: BindingPolicy.Duration) throws {
        var graph = try Self.graph(duration)
        try graph.register("dave", at: Self.start)
        let first = try Self.start.adding(days: 1)
        #expect(try graph.bind("dave", to: "alice", at: first) == .pending)
        #expect(try graph.bind("dave", to: "carol", at: first) == .unchanged)
        #expect(try graph.bind("dave", to: "alice", at: first) == .unchanged)
        #expect(try graph.pendingInviter(of: "dave") == "alice")
        #expect(try graph.attributeOrder(placedBy: "dave", at: first) == "alice")
    }

    @Test func underLastTouchTheLatestTouchReplacesTheWaitingOne() throws {
        var graph = try Self.graph(.lastTouch)
        let touch = try Self.start.adding(days: 1)
        #expect(try graph.bind("bob", to: "carol", at: touch, campaign: "autumn") == .pending)
        #expect(try graph.pendingInviter(of: "bob") == "carol")
        #expect(try graph.attributeOrder(placedBy: "bob", at: touch) == "carol")
        #expect(try graph.inviteCount(of: "carol", in: "autumn") == 1)
    }
}
