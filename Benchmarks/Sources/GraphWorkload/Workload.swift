import FissionCore
public import FissionGraph

/// SplitMix64: the generator the research probes used, so every tree here is the same tree.
public struct SplitMix64: Sendable {
    private var state: UInt64

    /// A generator starting from `seed`.
    public init(seed: UInt64) {
        self.state = seed
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = self.state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

/// The seeded inputs every benchmark and every peer runs on.
public struct Workload: Sendable {
    /// The inviter of each member, -1 for the root (member 0): a preferential-attachment tree.
    public let parents: [Int32]
    /// Random members to query, as indices.
    public let queries: [Int32]

    /// Builds the tree of research/performance.md: each new member's inviter is an endpoint of a
    /// uniformly random earlier edge (Barabási–Albert with m = 1), SplitMix64 seed 42; queries use seed 7.
    public init(members: Int, queryCount: Int = 100_000) {
        var random = SplitMix64(seed: 42)
        var parents = [Int32](repeating: -1, count: members)
        var endpoints: [Int32] = [0]
        endpoints.reserveCapacity(2 * members)
        for member in 1..<max(members, 1) {
            let inviter = endpoints[Int(random.next() % UInt64(endpoints.count))]
            parents[member] = inviter
            endpoints.append(inviter)
            endpoints.append(Int32(member))
        }
        var queryRandom = SplitMix64(seed: 7)
        self.parents = parents
        self.queries = (0..<queryCount).map { _ in Int32(queryRandom.next() % UInt64(members)) }
    }

    /// The time every registration is stamped with.
    public static let registrationTime = try! Timestamp(millisecondsSinceEpoch: 1_750_000_000_000)

    /// Registers every member with integer id = index, through the public API (id map included).
    public func buildGraph(reserve: Bool = false) -> InviteGraph {
        var graph = InviteGraph()
        if reserve { graph.reserveCapacity(self.parents.count) }
        Self.register(self.parents, into: &graph)
        return graph
    }

    /// Scattered integer ids, one per member (a SplitMix64 stream, seed 99): ids that never form a
    /// sequential run, so every lookup goes through the id map's hash table.
    public func scatteredIDs() -> [Int64] {
        var random = SplitMix64(seed: 99)
        return self.parents.indices.map { _ in Int64(bitPattern: random.next()) }
    }

    /// The insert loop with the member at index `i` registered as `ids[i]`.
    public static func register(_ parents: [Int32], ids: [Int64], into graph: inout InviteGraph) {
        let time = Self.registrationTime
        for member in parents.indices {
            let inviter = parents[member]
            do {
                try graph.register(
                    MemberID(ids[member]),
                    at: time,
                    invitedBy: inviter < 0 ? nil : MemberID(ids[Int(inviter)])
                )
            } catch {
                fatalError("the workload is valid: \(error)")
            }
        }
    }

    /// The insert loop the benchmarks time.
    public static func register(_ parents: [Int32], into graph: inout InviteGraph) {
        let time = Self.registrationTime
        for member in parents.indices {
            let inviter = parents[member]
            do {
                try graph.register(
                    MemberID(Int64(member)),
                    at: time,
                    invitedBy: inviter < 0 ? nil : MemberID(Int64(inviter))
                )
            } catch {
                fatalError("the workload is valid: \(error)")
            }
        }
    }
}
