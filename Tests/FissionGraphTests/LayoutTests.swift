import FissionCore
import Testing

@testable import FissionGraph

/// The two structures behind the hot paths, checked against plain models: the id map's run of
/// sequential integer ids (which takes no table slot) and the contiguous invitee blocks (which
/// move as they grow and shrink).
struct LayoutTests {
    static let start = try! Timestamp(millisecondsSinceEpoch: 1_750_000_000_000)

    /// Id streams that start, break and restart the run: sequential from various bases, gaps,
    /// steps back, strings in between, extremes near `Int64.min` and `Int64.max`, and duplicates.
    static func idStream(seed: UInt64, count: Int) -> [MemberID] {
        var random = SeededGenerator(seed: seed)
        let bases: [Int64] = [0, 1, 1_000_000, -5, Int64.max - 40, Int64.min, Int64.min + 3, 7]
        var next = bases[Int(random.next(below: UInt64(bases.count)))]
        var ids: [MemberID] = []
        for _ in 0..<count {
            switch random.next(below: 20) {
            case 0: ids.append(try! MemberID("s\(random.next(below: 40))"))
            case 1: next = bases[Int(random.next(below: UInt64(bases.count)))]
            case 2: next = next &+ Int64(random.next(below: 5)) &- 2
            case 3: ids.append(MemberID(Int64(bitPattern: random.next())))
            default: break
            }
            ids.append(MemberID(next))
            next = next &+ 1
        }
        return ids
    }

    @Test("the id map agrees with a dictionary", arguments: [UInt64(1), 2, 3, 4, 5, 6])
    func idMapMatchesDictionary(seed: UInt64) throws {
        var graph = InviteGraph()
        var model: [MemberID: MemberIndex] = [:]
        var order: [MemberID] = []
        for (step, id) in Self.idStream(seed: seed, count: 600).enumerated() {
            let inviter = order.isEmpty ? nil : order[step % order.count]
            do {
                let index = try graph.register(id, at: Self.start, invitedBy: inviter)
                #expect(model[id] == nil && inviter != id, "seed \(seed), step \(step): \(id) registered twice")
                model[id] = index
                order.append(id)
            } catch {
                let expected: FissionError.Code = inviter == id ? .selfInvite : .memberAlreadyRegistered
                #expect(error.code == expected && model[id] != nil, "seed \(seed), step \(step)")
            }
            if step % 97 == 0 || step == 599 {
                for (member, index) in model {
                    #expect(graph.index(of: member) == index, "seed \(seed), step \(step): \(member)")
                    #expect(graph.member(at: index) == member, "seed \(seed), step \(step)")
                }
                // Ids next to registered ones (where a run's bounds are) and far from them.
                for member in order.suffix(30) {
                    guard let integer = member.integerValue else { continue }
                    for probe in [integer &- 1, integer &+ 1, integer &+ 1_000, ~integer] {
                        let id = MemberID(probe)
                        #expect(graph.contains(id) == (model[id] != nil), "seed \(seed), step \(step): \(probe)")
                    }
                }
            }
        }
        #expect(graph.count == model.count)
        let restored = try InviteGraph(snapshot: graph.snapshot())
        #expect(restored == graph, "seed \(seed)")
        for (member, index) in model {
            #expect(restored.index(of: member) == index, "seed \(seed): \(member) after restore")
        }
    }

    @Test func sequentialIdsRefuseDuplicatesAndSelfInvites() throws {
        var graph = InviteGraph()
        for member in 100..<Int64(200) {
            try graph.register(MemberID(member), at: Self.start, invitedBy: member == 100 ? nil : MemberID(member - 1))
        }
        let before = graph
        for duplicate in [Int64(100), 150, 199] {
            #expect(throws: FissionError.self) { try graph.register(MemberID(duplicate), at: Self.start) }
        }
        let selfInvite = #expect(throws: FissionError.self) {
            try graph.register(200, at: Self.start, invitedBy: 200)
        }
        #expect(selfInvite?.code == .selfInvite)
        let unknown = #expect(throws: FissionError.self) { try graph.register(201, at: Self.start, invitedBy: 99) }
        #expect(unknown?.code == .unknownMember)
        #expect(graph == before)
        #expect(graph.index(of: 99) == nil && graph.index(of: 200) == nil)
        #expect(graph.index(of: 150) == MemberIndex(rawValue: 50))
        // The run breaks (an older id, then a string) and a new one starts; earlier ids stay found.
        try graph.register(5, at: Self.start, invitedBy: 150)
        try graph.register("x", at: Self.start, invitedBy: 5)
        try graph.register(300, at: Self.start, invitedBy: "x")
        try graph.register(301, at: Self.start, invitedBy: 300)
        #expect(throws: FissionError.self) { try graph.register(150, at: Self.start) }
        #expect(throws: FissionError.self) { try graph.register(5, at: Self.start) }
        #expect(try graph.ancestors(of: 301, upTo: 3) == [300, "x", 5])
        for member in 100..<Int64(200) {
            #expect(graph.index(of: MemberID(member)) == MemberIndex(rawValue: Int32(member - 100)))
        }
    }

    @Test("invitee blocks under interleaved inserts, rebindings and queries", arguments: [UInt64(11), 12, 13])
    func inviteeBlocksMatchTheReference(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let policy = BindingPolicy(duration: .lastTouch)
        var graph = try InviteGraph(policy: policy)
        var reference = ReferenceGraph(policy: policy)
        var buffer = TraversalBuffer()
        var time: Int64 = 1_750_000_000_000
        var members: [MemberID] = []
        for step in 0..<800 {
            time += 1_000
            let stamp = try Timestamp(millisecondsSinceEpoch: time)
            // A few hubs collect most invitations, so blocks grow through many sizes and shrink back.
            let pick = { (random: inout SeededGenerator) -> MemberID in
                random.next(below: 2) == 0
                    ? members[Int(random.next(below: UInt64(min(members.count, 4))))]
                    : members[Int(random.next(below: UInt64(members.count)))]
            }
            if members.count < 2 || random.next(below: 3) != 0 {
                let member = MemberID(Int64(members.count))
                let inviter = members.isEmpty ? nil : pick(&random)
                try graph.register(member, at: stamp, invitedBy: inviter)
                try reference.register(member, at: time, invitedBy: inviter, campaign: nil)
                members.append(member)
            } else {
                let member = pick(&random)
                let inviter = pick(&random)
                var model = reference
                let expected = Result { () throws(FissionError) in
                    try model.bind(member, to: inviter, at: time, campaign: nil)
                }
                let actual = Result { () throws(FissionError) in try graph.bind(member, to: inviter, at: stamp) }
                #expect(actual == expected, "seed \(seed), step \(step)")
                if case .success = expected { reference = model }
            }
            if step % 100 == 0 || step == 799 {
                // The hubs, whose blocks moved most, and a sample of the rest (the reference is slow).
                let sample =
                    members.prefix(4) + (0..<24).map { _ in members[Int(random.next(below: UInt64(members.count)))] }
                for member in sample {
                    let index = try #require(graph.index(of: member))
                    #expect(try graph.invitees(of: member) == reference.invitees(of: member), "seed \(seed) \(member)")
                    var perLevel: [[MemberID]] = [[], [], []]
                    try graph.forEachInvitee(of: index, upTo: 3, using: &buffer) { invitee, level in
                        perLevel[level - 1].append(graph.member(at: invitee))
                    }
                    #expect(perLevel == reference.perLevel(of: member, upTo: 3), "seed \(seed), step \(step) \(member)")
                    #expect(try graph.descendants(of: member) == reference.descendants(of: member), "seed \(seed)")
                    #expect(try graph.inviteCounts(of: member) == reference.counts(of: member), "seed \(seed)")
                }
                let restored = try InviteGraph(snapshot: graph.snapshot())
                #expect(restored == graph, "seed \(seed), step \(step)")
                #expect(restored.snapshot() == graph.snapshot(), "seed \(seed), step \(step)")
            }
        }
        #expect(graph.closedBindingCount > 50, "the sequence should rebind often; seed \(seed)")
    }

    @Test func aHubThatGrowsAndShrinksReusesItsBlocks() throws {
        var graph = try InviteGraph(policy: BindingPolicy(duration: .lastTouch))
        try graph.register("hub", at: Self.start)
        try graph.register("other", at: Self.start)
        let width: Int64 = 3_000
        for member in 0..<width {
            try graph.register(MemberID(member), at: Self.start, invitedBy: "hub")
        }
        // Growing one by one left blocks of 2, 4, ..., 2048 behind (the first invitee sat inline),
        // next to the live one of 4096.
        #expect(graph.inviteeBlocks.usedCount == 8_190)
        // Move every invitee to the other inviter and back, several times: the blocks left behind
        // are reused. Without reuse each round would add about 8,000 slots.
        for round in 0..<4 {
            let target: MemberID = round.isMultiple(of: 2) ? "other" : "hub"
            for member in 0..<width {
                #expect(try graph.bind(MemberID(member), to: target, at: Self.start) == .rebound)
            }
            #expect(try graph.inviteCounts(of: target).direct == Int(width))
            #expect(try graph.invitees(of: target) == (0..<width).reversed().map { MemberID($0) })
        }
        #expect(try graph.inviteCounts(of: "other").direct == 0)
        #expect(graph.inviteeBlocks.usedCount <= 4 * Int(width), "the arena kept growing under churn")
        let restored = try InviteGraph(snapshot: graph.snapshot())
        #expect(restored == graph)
        #expect(try restored.invitees(of: "hub", perLevelUpTo: 1) == [(0..<width).reversed().map { MemberID($0) }])
    }

    /// A graph of two runs of sequential ids (1,300 ids, longer than the chunk the run's keys are
    /// written through, then 600 after a string broke the first run), and one of a single run.
    static func runGraphs() throws -> [InviteGraph] {
        var broken = InviteGraph()
        var time = Self.start.millisecondsSinceEpoch
        func next() throws -> Timestamp {
            time += 1
            return try Timestamp(millisecondsSinceEpoch: time)
        }
        for member in 0..<Int64(1_300) {
            try broken.register(MemberID(member), at: next(), invitedBy: member == 0 ? nil : MemberID((member - 1) / 2))
        }
        try broken.register("z", at: next(), invitedBy: 5)
        for member in 5_000..<Int64(5_600) {
            try broken.register(MemberID(member), at: next(), invitedBy: member == 5_000 ? "z" : MemberID(member - 1))
        }
        var single = InviteGraph()
        for member in 0..<Int64(1_300) {
            try single.register(
                MemberID(member + 77),
                at: Self.start,
                invitedBy: member == 0 ? nil : MemberID((member - 1) / 2 + 77)
            )
        }
        return [broken, single]
    }

    /// Run members store no key, so a snapshot writes their keys from the run: the bytes must be
    /// what format version 1 always held. The lengths and FNV-1a hashes were taken from the code
    /// before that change (main at ed45d10), which stored every key.
    @Test func snapshotsOfRunsKeepFormatVersion1() throws {
        let graphs = try Self.runGraphs()
        let expected: [(count: Int, hash: UInt64)] = [(61_394, 0x67aa_426f_1da6_12ce), (42_015, 0x1aa6_31e8_cc5f_7276)]
        for (graph, expected) in zip(graphs, expected) {
            let bytes = graph.snapshot()
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in bytes {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
            }
            #expect(bytes.count == expected.count)
            #expect(hash == expected.hash)
            let restored = try InviteGraph(snapshot: bytes)
            #expect(restored == graph)
            #expect(restored.snapshot() == bytes)
        }
        let broken = graphs[0]
        #expect(broken.index(of: 1_299) == MemberIndex(rawValue: 1_299))
        #expect(broken.member(at: MemberIndex(rawValue: 1_300)) == "z")
        #expect(broken.member(at: MemberIndex(rawValue: 1_301)) == 5_000)
        #expect(broken.index(of: 5_599) == MemberIndex(rawValue: 1_900))
        #expect(!broken.contains(1_300) && !broken.contains(4_999) && !broken.contains(5_600))
    }

    /// Equality compares each member's id, wherever the id map keeps it: in the run (not stored)
    /// or in the table (stored). Two graphs that differ in one id are unequal either way.
    @Test("equality compares ids in the run and in the table", arguments: [false, true])
    func equalityComparesEveryID(startsWithString: Bool) throws {
        func graph(lastID: Int64) throws -> InviteGraph {
            var graph = InviteGraph()
            if startsWithString { try graph.register("first", at: Self.start) }
            for member in 0..<Int64(99) {
                try graph.register(MemberID(member), at: Self.start)
            }
            try graph.register(MemberID(lastID), at: Self.start, invitedBy: 0)
            return graph
        }
        #expect(try graph(lastID: 99) == graph(lastID: 99))
        #expect(try graph(lastID: 99) != graph(lastID: 1_000))
        #expect(try graph(lastID: 1_000) == InviteGraph(snapshot: graph(lastID: 1_000).snapshot()))
    }
}
