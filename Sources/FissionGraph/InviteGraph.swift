public import FissionCore

/// The invite graph: who brought whom, as a forest kept in flat arrays.
///
/// Each member has at most one inviter, bound only to a member who joined earlier, never to
/// themselves; so the graph is a forest and no cycle can form, by construction rather than by a
/// check. Host ids map once to dense indices in join order (``MemberIndex``); everything hot lives
/// in contiguous arrays indexed by them: the inviter, the three counts kept up to date on every
/// binding (direct, second level, team), and each member's invitees side by side in one shared
/// arena (nothing is allocated per member).
///
/// ```swift
/// var graph = InviteGraph()
/// try graph.register("alice", at: now)
/// try graph.register("bob", at: now, invitedBy: "alice", campaign: "spring")
/// try graph.inviter(of: "bob")                 // "alice"
/// try graph.inviteCounts(of: "alice").direct   // 1
/// ```
///
/// The graph is a value: copy it, snapshot it (``snapshot()``), compare it. Every mutating call
/// takes the time from the caller, refuses a time earlier than the last change it applied, and
/// either applies completely or throws a ``FissionError`` and leaves the graph unchanged.
///
/// Every binding is an audited edge with a valid-from and, once a rebinding closes it, a valid-to
/// (``bindingHistory(of:)``, ``inviter(of:asOf:)``).
public struct InviteGraph: Sendable {
    /// The deepest ancestor or downline query: three levels. Deeper chains are pyramid selling.
    public static var maximumDepth: Int { 3 }
    /// The longest leaderboard a query may ask for.
    public static var maximumLeaderboardSize: Int { 10_000 }
    /// The most distinct campaigns one graph records.
    public static var maximumCampaignCount: Int { 1 << 20 }
    /// The most members any graph can hold, about 134 million (2^27 - 2): the id map packs an
    /// index into 27 bits of a 4-byte slot.
    public static var maximumMemberLimit: Int { MemberTable.capacityLimit }

    /// The binding policy every binding follows.
    public let policy: BindingPolicy
    /// The most members this graph accepts; registering one more throws ``FissionError/Code/capacityExceeded``.
    public let maximumMemberCount: Int
    /// The longest string member id this graph accepts, in UTF-8 bytes.
    public let maximumIdentifierUTF8Length: Int

    var table: MemberTable
    /// The current inviter's index, -1 for none. Always lower than the member's own index.
    @usableFromInline var parent: [Int32] = []
    /// Direct, second-level and team counts and where the invitees are, side by side: reading
    /// them costs one cache miss.
    @usableFromInline var counters: [Counters] = []
    /// Each member's current invitees, contiguous, oldest binding first.
    var inviteeBlocks = InviteeBlocks()
    /// When the current binding was made, in ms since 1970; unspecified while unbound.
    var boundAt: [Int64] = []
    /// The campaign (its dense slot) of the current binding, -1 for none.
    var bindingCampaign: [Int32] = []
    /// Members who have placed their first order.
    var hasOrdered = Bitset()
    var campaignIDs: [CampaignID] = []
    var campaignSlots: [CampaignID: Int32] = [:]
    /// Current direct invitees per (campaign slot, inviter), keyed `slot << 32 | inviter`.
    var campaignInviteCounts: [UInt64: Int32] = [:]
    /// Invitations waiting for the member's first order (``BindingPolicy/Moment/firstOrder``).
    var pendingTouches: [Int32: PendingTouch] = [:]
    /// Bindings a rebinding closed, oldest first.
    var closedEdges: [ClosedEdge] = []
    /// Per member, the position of their latest closed edge in `closedEdges`.
    var latestClosedEdge: [Int32: Int32] = [:]
    /// The time of the latest change applied, in ms since 1970.
    var latestChange: Int64 = Timestamp.earliest.millisecondsSinceEpoch
    var boundCount = 0

    /// Creates an empty graph with the default policy (bind on registration, any unbound member,
    /// permanently) and a limit of 100 million members.
    public init() {
        self.policy = BindingPolicy()
        self.maximumMemberCount = 100_000_000
        self.maximumIdentifierUTF8Length = MemberID.maximumUTF8Length
        self.table = MemberTable(seed: 0)
    }

    /// Creates an empty graph.
    ///
    /// - Parameters:
    ///   - policy: How invitations bind.
    ///   - maximumMemberCount: The most members to accept, `1...maximumMemberLimit`.
    ///   - maximumIdentifierUTF8Length: The longest string id to accept, `1...MemberID.maximumUTF8Length`.
    ///   - hashSeed: Seeds the id map's hash. Hosts that take ids from the outside can pass a secret
    ///     so that no one can choose ids that collide; results never depend on it.
    /// - Throws: ``FissionError/Code/invalidPolicy`` for a protection window outside
    ///   `1...BindingPolicy.maximumProtectionDays` or a limit outside its range.
    public init(
        policy: BindingPolicy,
        maximumMemberCount: Int = 100_000_000,
        maximumIdentifierUTF8Length: Int = MemberID.maximumUTF8Length,
        hashSeed: UInt64 = 0
    ) throws(FissionError) {
        if case .protectionWindow(let days) = policy.duration,
            !(1...BindingPolicy.maximumProtectionDays).contains(days)
        {
            throw FissionError(
                code: .invalidPolicy,
                reason: "a protection window of \(days) days is outside 1...\(BindingPolicy.maximumProtectionDays)"
            )
        }
        guard (1...Self.maximumMemberLimit).contains(maximumMemberCount) else {
            throw FissionError(
                code: .invalidPolicy,
                reason: "maximumMemberCount \(maximumMemberCount) is outside 1...\(Self.maximumMemberLimit)"
            )
        }
        guard (1...MemberID.maximumUTF8Length).contains(maximumIdentifierUTF8Length) else {
            throw FissionError(
                code: .invalidPolicy,
                reason: "maximumIdentifierUTF8Length \(maximumIdentifierUTF8Length) is outside 1...128"
            )
        }
        self.policy = policy
        self.maximumMemberCount = maximumMemberCount
        self.maximumIdentifierUTF8Length = maximumIdentifierUTF8Length
        self.table = MemberTable(seed: hashSeed)
    }

    /// The number of registered members.
    public var count: Int { self.table.count }

    /// The number of members who currently have an inviter.
    public var boundMemberCount: Int { self.boundCount }

    /// Bytes held by the graph's storage (array capacities and an estimate for its dictionaries).
    ///
    /// - Complexity: O(1).
    public var approximateMemoryBytes: Int {
        let perMemberArrays =
            (self.parent.capacity + self.bindingCampaign.capacity) * 4 + self.counters.capacity * 16
            + self.boundAt.capacity * 8 + self.inviteeBlocks.allocatedBytes
        // Dictionaries: about twice their count in buckets of key + value.
        let dictionaries =
            self.campaignSlots.capacity * 2 * 28 + self.campaignInviteCounts.capacity * 2 * 12
            + self.pendingTouches.capacity * 2 * 20 + self.latestClosedEdge.capacity * 2 * 8
        return self.table.allocatedBytes + perMemberArrays + self.hasOrdered.allocatedBytes
            + self.campaignIDs.capacity * 24 + self.closedEdges.capacity * 32 + dictionaries
    }

    /// Makes room for `memberCount` members, so that registering them does not grow the arrays.
    ///
    /// - Complexity: O(count) when the storage moves.
    public mutating func reserveCapacity(_ memberCount: Int) {
        let capacity = min(max(memberCount, 0), self.maximumMemberCount)
        self.table.reserveCapacity(capacity)
        self.parent.reserveCapacity(capacity)
        self.inviteeBlocks.reserveCapacity(capacity)
        self.counters.reserveCapacity(capacity)
        self.boundAt.reserveCapacity(capacity)
        self.bindingCampaign.reserveCapacity(capacity)
        self.hasOrdered.reserveCapacity(capacity)
    }

    // MARK: Ids and indices

    /// The index of `member`, or `nil` if the graph has not registered them.
    ///
    /// - Complexity: O(1) expected (a hash probe).
    public func index(of member: MemberID) -> MemberIndex? {
        self.table.find(member).map(MemberIndex.init(rawValue:))
    }

    /// The member at `index`.
    ///
    /// - Precondition: `index` is in `0..<count`.
    public func member(at index: MemberIndex) -> MemberID {
        self.table.id(at: self.checked(index))
    }

    /// Whether `member` is registered.
    public func contains(_ member: MemberID) -> Bool {
        self.table.find(member) != nil
    }

    /// The index of a registered member.
    ///
    /// - Throws: ``FissionError/Code/unknownMember`` if `member` is not registered.
    func requireIndex(_ member: MemberID) throws(FissionError) -> Int {
        guard let index = self.table.find(member) else {
            throw FissionError(code: .unknownMember, reason: "member \(member) is not registered")
        }
        return Int(index)
    }

    @inlinable
    func checked(_ index: MemberIndex) -> Int {
        let position = Int(index.rawValue)
        precondition(position >= 0 && position < self.parent.count, "member index \(index) is outside the graph")
        return position
    }
}

/// The counts kept up to date on every binding, for one member, and where their invitees are:
/// 16 bytes, so a member's entry never straddles two cache lines.
@usableFromInline
struct Counters: Sendable {
    @usableFromInline var direct: Int32 = 0
    @usableFromInline var secondLevel: Int32 = 0
    @usableFromInline var team: Int32 = 0
    /// The start of the member's block in ``InviteGraph/inviteeBlocks``, -1 while they have no invitees.
    var inviteeBlock: Int32 = -1

    init() {}

    /// Whether the counts agree (the block's place in the arena aside).
    func sameCounts(as other: Counters) -> Bool {
        self.direct == other.direct && self.secondLevel == other.secondLevel && self.team == other.team
    }
}

/// An invitation waiting for the member's first order.
struct PendingTouch: Hashable, Sendable {
    var inviter: Int32
    var campaign: Int32
    var time: Int64
}

/// A binding that a rebinding closed.
struct ClosedEdge: Hashable, Sendable {
    var member: Int32
    var inviter: Int32
    var campaign: Int32
    /// The member's previous closed edge, -1 for none: each member's edges form a list, newest first.
    var previous: Int32
    var validFrom: Int64
    var validTo: Int64
}

extension InviteGraph: Equatable {
    /// Two graphs are equal when they hold the same members, bindings, history and policy; the
    /// layout of the id map (which depends on its hash seed and growth) and of the invitee arena
    /// (which depends on the order of changes) is not compared.
    public static func == (lhs: InviteGraph, rhs: InviteGraph) -> Bool {
        lhs.policy == rhs.policy && lhs.maximumMemberCount == rhs.maximumMemberCount
            && lhs.maximumIdentifierUTF8Length == rhs.maximumIdentifierUTF8Length
            && lhs.table.sameIDs(as: rhs.table) && lhs.parent == rhs.parent
            && lhs.counters.elementsEqual(rhs.counters) { $0.sameCounts(as: $1) } && lhs.sameInvitees(as: rhs)
            && lhs.boundAt == rhs.boundAt
            && lhs.bindingCampaign == rhs.bindingCampaign && lhs.hasOrdered == rhs.hasOrdered
            && lhs.campaignIDs == rhs.campaignIDs && lhs.campaignInviteCounts == rhs.campaignInviteCounts
            && lhs.pendingTouches == rhs.pendingTouches && lhs.closedEdges == rhs.closedEdges
            && lhs.latestChange == rhs.latestChange && lhs.boundCount == rhs.boundCount
    }
}
