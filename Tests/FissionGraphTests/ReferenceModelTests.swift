import FissionCore
import FissionGraph
import Testing

/// Random operation sequences, valid and invalid, applied to the graph and to the brute-force
/// reference; every query must agree, and a failed operation must leave the graph unchanged.
struct ReferenceModelTests {
    static let policies: [BindingPolicy] = [
        BindingPolicy(),
        BindingPolicy(moment: .registration, scope: .allMembers, duration: .lastTouch),
        BindingPolicy(moment: .registration, scope: .allMembers, duration: .protectionWindow(days: 2)),
        BindingPolicy(moment: .registration, scope: .newMembersOnly, duration: .permanent),
        BindingPolicy(moment: .firstOrder, scope: .allMembers, duration: .permanent),
        BindingPolicy(moment: .firstOrder, scope: .allMembers, duration: .lastTouch),
        BindingPolicy(moment: .firstOrder, scope: .newMembersOnly, duration: .protectionWindow(days: 1)),
    ]

    @Test("random operations match the reference", arguments: Self.policies, propertySeeds(from: 1, ciCount: 4))
    func randomOperations(policy: BindingPolicy, seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        var graph = try InviteGraph(policy: policy, maximumMemberCount: 120)
        var reference = ReferenceGraph(policy: policy)
        let campaigns: [CampaignID?] = [nil, 7, "spring", "autumn"]
        var time: Int64 = 1_700_000_000_000
        let context = "seed \(seed), policy \(policy)"

        for step in 0..<500 {
            // Mostly forward in time by up to a day; now and then a step backwards, which must fail.
            time += Int64(random.next(below: 3)) == 0 ? -1 : Int64(random.next(below: 86_400_000 / 2))
            let stamp = try Timestamp(millisecondsSinceEpoch: time)
            let member = Self.randomMember(&random, known: reference.members)
            let other = Self.randomMember(&random, known: reference.members)
            let campaign = campaigns[Int(random.next(below: UInt64(campaigns.count)))]
            let before = graph
            let expected: Result<String, FissionError>
            let actual: Result<String, FissionError>
            switch random.next(below: 10) {
            case 0..<4:
                let inviter: MemberID? = random.next(below: 4) == 0 ? nil : other
                var model = reference
                expected = Result { () throws(FissionError) in
                    try model.register(member, at: time, invitedBy: inviter, campaign: campaign)
                    return "registered"
                }
                if case .success = expected { reference = model }
                actual = Result { () throws(FissionError) in
                    try graph.register(member, at: stamp, invitedBy: inviter, campaign: campaign)
                    return "registered"
                }
            case 4..<8:
                var model = reference
                expected = Result { () throws(FissionError) in
                    "\(try model.bind(member, to: other, at: time, campaign: campaign))"
                }
                if case .success = expected { reference = model }
                actual = Result { () throws(FissionError) in
                    "\(try graph.bind(member, to: other, at: stamp, campaign: campaign))"
                }
            default:
                var model = reference
                expected = Result { () throws(FissionError) in
                    "\(String(describing: try model.attributeOrder(placedBy: member, at: time)))"
                }
                if case .success = expected { reference = model }
                actual = Result { () throws(FissionError) in
                    "\(String(describing: try graph.attributeOrder(placedBy: member, at: stamp)))"
                }
            }
            #expect(actual == expected, "\(context), step \(step)")
            if case .failure = actual {
                #expect(graph == before, "a failed operation changed the graph; \(context), step \(step)")
            }
            if step % 50 == 49 || step == 499 {
                try Self.compare(graph, reference, time: time, random: &random, context: "\(context), step \(step)")
            }
        }
        #expect(reference.members.count >= 25, "the sequence should grow a real graph; \(context)")
    }

    static func randomMember(_ random: inout SeededGenerator, known: [MemberID]) -> MemberID {
        if !known.isEmpty && random.next(below: 3) != 0 {
            return known[Int(random.next(below: UInt64(known.count)))]
        }
        let number = Int64(random.next(below: 150))
        return number.isMultiple(of: 3) ? (try! MemberID("m\(number)")) : MemberID(number)
    }

    static func compare(
        _ graph: InviteGraph,
        _ reference: ReferenceGraph,
        time: Int64,
        random: inout SeededGenerator,
        context: String
    ) throws {
        #expect(graph.count == reference.members.count, "\(context)")
        #expect(graph.boundMemberCount == reference.parent.count, "\(context)")
        var buffer = TraversalBuffer()
        for member in reference.members {
            let index = try #require(graph.index(of: member), "\(context)")
            #expect(graph.member(at: index) == member, "\(context)")
            #expect(try graph.inviter(of: member) == reference.parent[member], "\(context) \(member)")
            for levels in 1...3 {
                #expect(
                    try graph.ancestors(of: member, upTo: levels) == reference.ancestors(of: member, upTo: levels),
                    "\(context) \(member)"
                )
                #expect(
                    try graph.invitees(of: member, perLevelUpTo: levels)
                        == reference.perLevel(of: member, upTo: levels),
                    "\(context) \(member)"
                )
            }
            #expect(try graph.invitees(of: member) == reference.invitees(of: member), "\(context) \(member)")
            #expect(try graph.inviteCounts(of: member) == reference.counts(of: member), "\(context) \(member)")
            #expect(try graph.descendants(of: member) == reference.descendants(of: member), "\(context) \(member)")
            var visited: [MemberID] = []
            graph.forEachDescendant(of: index, using: &buffer) { visited.append(graph.member(at: $0)) }
            #expect(visited == reference.descendants(of: member), "\(context) \(member) with a reused buffer")
            let path = try graph.pathToRoot(from: member, limit: 1_000)
            #expect(path.members == reference.ancestors(of: member, upTo: 1_000) && path.reachedRoot, "\(context)")
            for campaign in [CampaignID(7), "spring"] {
                #expect(
                    try graph.inviteCount(of: member, in: campaign)
                        == reference.count(of: member, by: .campaign(campaign)),
                    "\(context) \(member)"
                )
            }
            let history = try graph.bindingHistory(of: member).map {
                ReferenceGraph.Edge(
                    inviter: $0.inviter,
                    campaign: $0.campaign,
                    validFrom: $0.validFrom.millisecondsSinceEpoch,
                    validTo: $0.validTo?.millisecondsSinceEpoch
                )
            }
            #expect(history == reference.history(of: member), "\(context) \(member)")
            for _ in 0..<3 {
                let instant = time - Int64(random.next(below: 86_400_000 * 20))
                #expect(
                    try graph.inviter(of: member, asOf: Timestamp(millisecondsSinceEpoch: instant))
                        == reference.inviter(of: member, asOf: instant),
                    "\(context) \(member) at \(instant)"
                )
            }
        }
        let window =
            try Timestamp(
                millisecondsSinceEpoch: time - 86_400_000 * 10
            )..<Timestamp(
                millisecondsSinceEpoch: time - 86_400_000 * 3
            )
        let kinds: [InviteCountKind] = [
            .direct, .secondLevel, .team, .campaign(7), .campaign("spring"), .boundDuring(window),
        ]
        for kind in kinds {
            for limit in [1, 3, 1_000] {
                let top = try graph.topInviters(limit: limit, by: kind)
                let expected = reference.top(limit: limit, by: kind)
                #expect(top.map(\.member) == expected.map(\.0), "\(context) \(kind) \(limit)")
                #expect(top.map(\.count) == expected.map(\.1), "\(context) \(kind) \(limit)")
            }
        }
        let restored = try InviteGraph(snapshot: graph.snapshot())
        #expect(restored == graph, "snapshot round trip; \(context)")
        #expect(restored.snapshot() == graph.snapshot(), "snapshot bytes; \(context)")
    }
}
