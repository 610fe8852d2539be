import FissionCore
import FissionGraph
import Testing

/// Shapes that break recursive code: a very deep chain and a very wide fan-out.
struct ScaleTests {
    static let start = try! Timestamp(millisecondsSinceEpoch: 1_750_000_000_000)

    @Test func tenThousandDeepChain() throws {
        let depth = 10_000
        var graph = InviteGraph()
        try graph.register(0, at: Self.start)
        for member in 1..<Int64(depth) {
            try graph.register(MemberID(member), at: Self.start, invitedBy: MemberID(member - 1))
        }
        let bottom = MemberID(Int64(depth - 1))
        #expect(try graph.inviteCounts(of: 0) == InviteCounts(direct: 1, secondLevel: 1, team: depth - 1))
        #expect(try graph.ancestors(of: bottom, upTo: 3) == [9_998, 9_997, 9_996])
        let full = try graph.pathToRoot(from: bottom, limit: 20_000)
        #expect(full.members.count == depth - 1 && full.reachedRoot && full.members.last == 0)
        let cut = try graph.pathToRoot(from: bottom, limit: 100)
        #expect(cut.members.count == 100 && !cut.reachedRoot)
        #expect(try graph.descendants(of: 0).count == depth - 1)
        #expect(try graph.descendants(of: 5_000).first == 5_001)
        #expect(try graph.invitees(of: 0, perLevelUpTo: 3) == [[1], [2], [3]])
        #expect(try graph.topInviters(limit: 2, by: .team).map(\.member) == [0, 1])
        #expect(try InviteGraph(snapshot: graph.snapshot()) == graph)
    }

    @Test func hundredThousandWideFanOut() throws {
        let width = 100_000
        var graph = try InviteGraph(policy: BindingPolicy(duration: .lastTouch))
        try graph.register("root", at: Self.start)
        try graph.register("rival", at: Self.start)
        for member in 0..<Int64(width) {
            try graph.register(MemberID(member), at: Self.start, invitedBy: "root", campaign: "launch")
        }
        #expect(try graph.inviteCounts(of: "root") == InviteCounts(direct: width, secondLevel: 0, team: width))
        #expect(try graph.invitees(of: "root").first == MemberID(Int64(width - 1)))
        #expect(try graph.invitees(of: "root", perLevelUpTo: 2)[1].isEmpty)
        #expect(try graph.descendants(of: "root").count == width)
        // Rebinding one member from the middle of the list walks it without recursion.
        let later = try Self.start.adding(days: 1)
        #expect(try graph.bind(50_000, to: "rival", at: later) == .rebound)
        #expect(try graph.inviteCount(of: "root", in: "launch") == width - 1)
        #expect(try graph.inviteCount(of: "rival", boundDuring: later..<later.adding(days: 1)) == 1)
        let top = try graph.topInviters(limit: 3, by: .direct)
        #expect(top.map(\.member) == ["root", "rival"] && top.map(\.count) == [width - 1, 1])
        #expect(try InviteGraph(snapshot: graph.snapshot()) == graph)
    }

    @Test func tiesGoToTheMemberReachedFirst() throws {
        var graph = InviteGraph()
        for name in ["a", "b", "c"] { try graph.register(MemberID(stringLiteral: name), at: Self.start) }
        for (invitee, inviter) in [("x", "c"), ("y", "a"), ("z", "b")] {
            try graph.register(
                MemberID(stringLiteral: invitee),
                at: Self.start,
                invitedBy: MemberID(stringLiteral: inviter)
            )
        }
        #expect(try graph.topInviters(limit: 2, by: .direct).map(\.member) == ["a", "b"])
    }
}

/// Snapshots: round trips are exact and damaged bytes are refused, never trusted.
struct SnapshotTests {
    static func sample() throws -> InviteGraph {
        var graph = try InviteGraph(policy: BindingPolicy(moment: .firstOrder, duration: .lastTouch))
        let start = try Timestamp(millisecondsSinceEpoch: 1_750_000_000_000)
        try graph.register("root", at: start)
        try graph.register(1, at: start, invitedBy: "root", campaign: 9)
        try graph.register("tü", at: start, invitedBy: 1, campaign: "c")
        try graph.register(3, at: start, invitedBy: "root")
        try graph.attributeOrder(placedBy: 1, at: start.adding(days: 1))
        try graph.attributeOrder(placedBy: "tü", at: start.adding(days: 1))
        try graph.bind("tü", to: "root", at: start.adding(days: 2))
        return graph
    }

    @Test func roundTripIsExact() throws {
        let graph = try Self.sample()
        let bytes = graph.snapshot()
        let restored = try InviteGraph(snapshot: bytes)
        #expect(restored == graph)
        #expect(restored.snapshot() == bytes)
        #expect(try restored.bindingHistory(of: "tü") == graph.bindingHistory(of: "tü"))
        #expect(try restored.pendingInviter(of: 3) == "root")
    }

    @Test func truncatedSnapshotsAreRefused() throws {
        let bytes = try Self.sample().snapshot()
        for length in 0..<bytes.count {
            #expect(throws: FissionError(code: .corruptSnapshot), "length \(length)") {
                try InviteGraph(snapshot: Array(bytes[0..<length]))
            }
        }
        #expect(throws: FissionError(code: .corruptSnapshot)) { try InviteGraph(snapshot: bytes + [0]) }
    }

    /// Writes `value` little-endian at `offset`, as the snapshot stores integers.
    static func put<Value: FixedWidthInteger>(_ value: Value, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for (position, byte) in raw.enumerated() { bytes[offset + position] = byte }
        }
    }

    /// a and b joined on day 0, c through a's invitation; on day 1 c was rebound to b; d joined on
    /// day 5. The snapshot ends with c's closed binding: 32 bytes, `validTo` last.
    static func rebound(_ policy: BindingPolicy) throws -> (graph: InviteGraph, validTo: Int) {
        let start = try Timestamp(millisecondsSinceEpoch: 1_750_000_000_000)
        var graph = try InviteGraph(policy: policy)
        try graph.register("a", at: start)
        try graph.register("b", at: start)
        try graph.register("c", at: start, invitedBy: "a")
        #expect(try graph.bind("c", to: "b", at: start.adding(days: 1)) == .rebound)
        try graph.register("d", at: start.adding(days: 5))
        return (graph, graph.snapshot().count - 8)
    }

    @Test func aHistoryThatOverlapsOrLeavesAGapIsRefused() throws {
        let (graph, validTo) = try Self.rebound(BindingPolicy(duration: .lastTouch))
        let start = try Timestamp(millisecondsSinceEpoch: 1_750_000_000_000)
        #expect(try InviteGraph(snapshot: graph.snapshot()) == graph)
        // The binding to a ended when the one to b began (day 1); end it on day 4, or on day 0.
        for end in [try start.adding(days: 4), try start.adding(milliseconds: 1)] {
            var bytes = graph.snapshot()
            Self.put(end.millisecondsSinceEpoch, at: validTo, in: &bytes)
            #expect(throws: FissionError(code: .corruptSnapshot), "ends at \(end)") { try InviteGraph(snapshot: bytes) }
        }

        // Two rebindings: the second closed binding must begin where the first ended.
        var twice = graph
        #expect(try twice.bind("c", to: "a", at: start.adding(days: 6)) == .rebound)
        var bytes = twice.snapshot()
        let secondValidFrom = bytes.count - 16
        Self.put(try start.adding(days: 2).millisecondsSinceEpoch, at: secondValidFrom, in: &bytes)
        #expect(throws: FissionError(code: .corruptSnapshot)) { try InviteGraph(snapshot: bytes) }
    }

    @Test func rebindingsUnderAPolicyThatNeverRebindsAreRefused() throws {
        let (graph, _) = try Self.rebound(BindingPolicy(duration: .lastTouch))
        // After "FSNG" and the version: moment, scope, then the duration's kind and days.
        let refused: [(scope: UInt8, kind: UInt8, days: UInt32, what: String)] = [
            (0, 0, 0, "permanent"),
            (1, 2, 0, "new members only"),
            (0, 1, 2, "closed after 1 day of a 2-day protection window"),
        ]
        for policy in refused {
            var bytes = graph.snapshot()
            bytes[9] = policy.scope
            bytes[10] = policy.kind
            Self.put(policy.days, at: 11, in: &bytes)
            #expect(throws: FissionError(code: .corruptSnapshot), "\(policy.what)") { try InviteGraph(snapshot: bytes) }
        }
        // A 1-day window gives way after exactly 1 day, so that history is possible.
        var bytes = graph.snapshot()
        bytes[10] = 1
        Self.put(UInt32(1), at: 11, in: &bytes)
        let windowed = try InviteGraph(snapshot: bytes)
        #expect(windowed.policy.duration == .protectionWindow(days: 1))
        #expect(try windowed.bindingHistory(of: "c") == graph.bindingHistory(of: "c"))
    }

    @Test func aPendingInvitationBeforeYear1IsRefused() throws {
        var graph = try InviteGraph(policy: BindingPolicy(moment: .firstOrder))
        try graph.register("a", at: .earliest)
        try graph.register("b", at: .earliest, invitedBy: "a")
        let restored = try InviteGraph(snapshot: graph.snapshot())
        #expect(try restored.pendingInviter(of: "b") == "a")
        // The pending invitation's time sits just before the closed-binding count at the end.
        var bytes = graph.snapshot()
        Self.put(Timestamp.earliest.millisecondsSinceEpoch - 1, at: bytes.count - 16, in: &bytes)
        #expect(throws: FissionError(code: .corruptSnapshot)) { try InviteGraph(snapshot: bytes) }
    }

    @Test func damagedBytesAreRefusedOrHarmless() throws {
        let graph = try Self.sample()
        let bytes = graph.snapshot()
        var refused = 0
        for position in bytes.indices {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var damaged = bytes
                damaged[position] ^= flip
                do {
                    // A change that still describes a valid graph must restore to a consistent one.
                    let restored = try InviteGraph(snapshot: damaged)
                    #expect(try InviteGraph(snapshot: restored.snapshot()) == restored, "byte \(position)")
                } catch {
                    #expect(error.code == .corruptSnapshot, "byte \(position)")
                    refused += 1
                }
            }
        }
        #expect(refused > bytes.count)
    }
}
