import FissionCore
import FissionGraph
import Testing

/// Every refusal is a typed error and leaves the graph exactly as it was.
struct BadInputTests {
    static let start = try! Timestamp(millisecondsSinceEpoch: 1_750_000_000_000)
    static let day: Int64 = 86_400_000

    /// alice (0) invited bob (1); carol (2) joined on her own; dave (3) is pending or bound per policy.
    static func graph(_ policy: BindingPolicy) throws -> InviteGraph {
        var graph = try InviteGraph(policy: policy, maximumMemberCount: 5, maximumIdentifierUTF8Length: 16)
        try graph.register("alice", at: start)
        try graph.register("bob", at: start, invitedBy: "alice")
        try graph.register("carol", at: start)
        return graph
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let policy: BindingPolicy
        let code: FissionError.Code
        var setup: @Sendable (inout InviteGraph) throws(FissionError) -> Void = { _ throws(FissionError) in }
        let change: @Sendable (inout InviteGraph) throws(FissionError) -> Void
        var testDescription: String { self.name }
    }

    static let cases: [Case] = [
        Case(name: "self-invite at registration", policy: .init(), code: .selfInvite) { graph throws(FissionError) in
            try graph.register("dave", at: start, invitedBy: "dave")
        },
        Case(name: "self-invite by touch", policy: .init(), code: .selfInvite) { graph throws(FissionError) in
            try graph.bind("carol", to: "carol", at: start)
        },
        Case(name: "unknown inviter", policy: .init(), code: .unknownMember) { graph throws(FissionError) in
            try graph.register("dave", at: start, invitedBy: "zed")
        },
        Case(name: "unknown member", policy: .init(), code: .unknownMember) { graph throws(FissionError) in
            try graph.bind("zed", to: "alice", at: start)
        },
        Case(name: "registered twice", policy: .init(), code: .memberAlreadyRegistered) { graph throws(FissionError) in
            try graph.register("bob", at: start, invitedBy: "carol")
        },
        Case(name: "inviting an earlier member", policy: .init(), code: .inviteeJoinedFirst) {
            graph throws(FissionError) in
            try graph.bind("alice", to: "carol", at: start)
        },
        Case(name: "touch under new-members-only", policy: .init(scope: .newMembersOnly), code: .bindingClosed) {
            graph throws(FissionError) in
            try graph.bind("carol", to: "alice", at: start)
        },
        Case(
            name: "rebinding a permanent binding",
            policy: .init(),
            code: .alreadyBound,
            setup: { graph throws(FissionError) in try graph.register("dave", at: start, invitedBy: "alice") },
            change: { graph throws(FissionError) in try graph.bind("dave", to: "bob", at: start) }
        ),
        Case(
            name: "rebinding inside the protection window",
            policy: .init(duration: .protectionWindow(days: 30)),
            code: .bindingProtected,
            setup: { graph throws(FissionError) in try graph.register("dave", at: start, invitedBy: "alice") },
            change: { graph throws(FissionError) in
                try graph.bind("dave", to: "bob", at: start.adding(milliseconds: 30 * day - 1))
            }
        ),
        Case(name: "time going backwards", policy: .init(), code: .timeWentBackwards) { graph throws(FissionError) in
            try graph.register("dave", at: start.adding(milliseconds: -1))
        },
        Case(name: "an id over the size limit", policy: .init(), code: .identifierTooLong) {
            graph throws(FissionError) in
            try graph.register(MemberID(String(repeating: "x", count: 17)), at: start)
        },
        Case(
            name: "more members than the limit",
            policy: .init(),
            code: .capacityExceeded,
            setup: { graph throws(FissionError) in
                try graph.register("dave", at: start)
                try graph.register("erin", at: start)
            },
            change: { graph throws(FissionError) in try graph.register("frank", at: start) }
        ),
    ]

    @Test("refusals are typed and change nothing", arguments: Self.cases)
    func refusal(_ badCase: Case) throws {
        var graph = try Self.graph(badCase.policy)
        try badCase.setup(&graph)
        let before = graph
        let error = #expect(throws: FissionError.self) { try badCase.change(&graph) }
        #expect(error?.code == badCase.code, "\(error?.description ?? "no error")")
        #expect(graph == before, "the failed call changed the graph")
        #expect(graph.snapshot() == before.snapshot())
    }

    @Test("k outside 1...3 is refused", arguments: [-1, 0, 4, 100])
    func depthOutOfRange(levels: Int) throws {
        let graph = try Self.graph(.init())
        #expect(throws: FissionError(code: .invalidDepth)) { try graph.ancestors(of: "bob", upTo: levels) }
        #expect(throws: FissionError(code: .invalidDepth)) { try graph.invitees(of: "alice", perLevelUpTo: levels) }
        var buffer = TraversalBuffer()
        #expect(throws: FissionError(code: .invalidDepth)) {
            try graph.forEachInvitee(of: MemberIndex(rawValue: 0), upTo: levels, using: &buffer) { _, _ in }
        }
    }

    @Test("limits outside their range are refused", arguments: [0, -5, InviteGraph.maximumLeaderboardSize + 1])
    func limitsOutOfRange(limit: Int) throws {
        let graph = try Self.graph(.init())
        #expect(throws: FissionError(code: .invalidLimit)) { try graph.topInviters(limit: limit, by: .direct) }
        if limit < 1 {
            #expect(throws: FissionError(code: .invalidLimit)) { try graph.pathToRoot(from: "bob", limit: limit) }
        }
    }

    @Test("policies and limits that make no sense are refused", arguments: [0, -1, 3_651])
    func badPolicy(days: Int) {
        #expect(throws: FissionError(code: .invalidPolicy)) {
            try InviteGraph(policy: .init(duration: .protectionWindow(days: days)))
        }
        #expect(throws: FissionError(code: .invalidPolicy)) { try InviteGraph(policy: .init(), maximumMemberCount: 0) }
    }

    @Test func aTouchFromTheInviterChangesNothingUnderNewMembersOnly() throws {
        var graph = try Self.graph(.init(scope: .newMembersOnly))
        let before = graph
        #expect(try graph.bind("bob", to: "alice", at: Self.start.adding(days: 1), campaign: "autumn") == .unchanged)
        #expect(graph == before)
        #expect(throws: FissionError(code: .bindingClosed)) {
            try graph.bind("carol", to: "bob", at: Self.start.adding(days: 1))
        }
        #expect(graph == before)
    }

    @Test func aTouchFromTheWaitingInviterChangesNothingUnderNewMembersOnly() throws {
        var graph = try Self.graph(.init(moment: .firstOrder, scope: .newMembersOnly))
        let before = graph
        // Bob's invitation from alice waits for his first order: her touch again changes nothing.
        #expect(try graph.bind("bob", to: "alice", at: Self.start.adding(days: 1)) == .unchanged)
        #expect(graph == before)
        #expect(throws: FissionError(code: .bindingClosed)) {
            try graph.bind("carol", to: "alice", at: Self.start.adding(days: 1))
        }
        #expect(graph == before)
    }

    @Test func protectionWindowEndsOnTime() throws {
        var graph = try Self.graph(.init(duration: .protectionWindow(days: 30)))
        try graph.register("dave", at: Self.start, invitedBy: "alice")
        let expiry = try Self.start.adding(days: 30)
        #expect(try graph.bind("dave", to: "bob", at: expiry) == .rebound)
        #expect(try graph.inviter(of: "dave") == "bob")
        #expect(try graph.inviter(of: "dave", asOf: expiry.adding(milliseconds: -1)) == "alice")
        #expect(try graph.inviter(of: "dave", asOf: expiry) == "bob")
        #expect(try graph.inviteCounts(of: "alice") == InviteCounts(direct: 1, secondLevel: 1, team: 2))
        #expect(try graph.bindingHistory(of: "dave").map(\.inviter) == ["alice", "bob"])
    }

    @Test func firstOrderBindsThePendingInvitation() throws {
        var graph = try InviteGraph(policy: .init(moment: .firstOrder))
        try graph.register("alice", at: Self.start)
        try graph.register("bob", at: Self.start, invitedBy: "alice", campaign: "spring")
        #expect(try graph.inviter(of: "bob") == nil)
        #expect(try graph.pendingInviter(of: "bob") == "alice")
        let paid = try Self.start.adding(days: 2)
        #expect(try graph.attributeOrder(placedBy: "bob", at: paid) == "alice")
        #expect(try graph.hasOrdered("bob"))
        #expect(try graph.inviteCount(of: "alice", in: "spring") == 1)
        #expect(try graph.bindingHistory(of: "bob").first?.validFrom == paid)
    }
}
