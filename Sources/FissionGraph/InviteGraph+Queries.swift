public import FissionCore

/// A member's ancestors up to ``InviteGraph/maximumDepth`` levels, nearest first, held inline.
///
/// A fixed-size value rather than an array, so that asking for ancestors allocates nothing.
public struct Ancestors: RandomAccessCollection, Hashable, Sendable {
    private let first: Int32
    private let second: Int32
    private let third: Int32
    /// The number of ancestors found, `0...3`.
    public let count: Int

    @usableFromInline
    init(_ first: Int32, _ second: Int32, _ third: Int32, count: Int) {
        self.first = first
        self.second = second
        self.third = third
        self.count = count
    }

    /// The position of the nearest ancestor (the inviter): 0.
    public var startIndex: Int { 0 }
    /// One past the farthest ancestor found.
    public var endIndex: Int { self.count }

    /// The ancestor `position + 1` levels up.
    public subscript(position: Int) -> MemberIndex {
        precondition(position >= 0 && position < self.count, "ancestor \(position) of \(self.count)")
        switch position {
        case 0: return MemberIndex(rawValue: self.first)
        case 1: return MemberIndex(rawValue: self.second)
        default: return MemberIndex(rawValue: self.third)
        }
    }
}

extension InviteGraph {
    // MARK: Inviter and ancestors

    /// The member's current inviter, or `nil`.
    ///
    /// - Precondition: `index` is in `0..<count`.
    public func inviter(of index: MemberIndex) -> MemberIndex? {
        let inviter = self.parent[self.checked(index)]
        return inviter < 0 ? nil : MemberIndex(rawValue: inviter)
    }

    /// The member's current inviter, or `nil`.
    ///
    /// - Throws: ``FissionError/Code/unknownMember``.
    public func inviter(of member: MemberID) throws(FissionError) -> MemberID? {
        let inviter = self.parent[try self.requireIndex(member)]
        return inviter < 0 ? nil : self.table.id(at: Int(inviter))
    }

    /// The member's ancestors up to `levels` levels, nearest first; fewer when the chain ends sooner.
    ///
    /// - Parameter levels: How far up to look, `1...3`.
    /// - Throws: ``FissionError/Code/invalidDepth`` for `levels` outside `1...3`.
    /// - Precondition: `index` is in `0..<count`.
    /// - Complexity: O(1), no allocation. Inlinable: the hottest query, where a call's overhead
    ///   measurably cut how many independent lookups the processor overlaps (Performance.md).
    @inlinable
    public func ancestors(of index: MemberIndex, upTo levels: Int) throws(FissionError) -> Ancestors {
        guard levels >= 1 && levels <= Self.maximumDepth else { throw Self.depthError(levels) }
        let first = self.parent[self.checked(index)]
        if first < 0 { return Ancestors(-1, -1, -1, count: 0) }
        if levels == 1 { return Ancestors(first, -1, -1, count: 1) }
        let second = self.parent[Int(first)]
        if second < 0 { return Ancestors(first, -1, -1, count: 1) }
        if levels == 2 { return Ancestors(first, second, -1, count: 2) }
        let third = self.parent[Int(second)]
        if third < 0 { return Ancestors(first, second, -1, count: 2) }
        return Ancestors(first, second, third, count: 3)
    }

    /// The member's ancestors up to `levels` levels, nearest first.
    ///
    /// - Throws: ``FissionError/Code/unknownMember``, ``FissionError/Code/invalidDepth``.
    public func ancestors(of member: MemberID, upTo levels: Int) throws(FissionError) -> [MemberID] {
        let found = try self.ancestors(of: MemberIndex(rawValue: Int32(self.requireIndex(member))), upTo: levels)
        return found.map { self.table.id(at: $0.position) }
    }

    /// The member's way to the root of their tree, nearest first, at most `limit` members long.
    ///
    /// - Parameter limit: The most ancestors to return, at least 1.
    /// - Throws: ``FissionError/Code/unknownMember``, ``FissionError/Code/invalidLimit`` for `limit < 1`.
    /// - Complexity: O(min(depth, limit)).
    public func pathToRoot(from member: MemberID, limit: Int) throws(FissionError) -> PathToRoot {
        guard limit >= 1 else {
            throw FissionError(code: .invalidLimit, reason: "a path limit must be at least 1, not \(limit)")
        }
        var members: [MemberID] = []
        var ancestor = self.parent[try self.requireIndex(member)]
        while ancestor >= 0 && members.count < limit {
            members.append(self.table.id(at: Int(ancestor)))
            ancestor = self.parent[Int(ancestor)]
        }
        return PathToRoot(members: members, reachedRoot: ancestor < 0)
    }

    // MARK: Counts

    /// The counts kept up to date on every binding: direct, second level and team size.
    ///
    /// - Precondition: `index` is in `0..<count`.
    /// - Complexity: O(1): one read of three counters side by side. Inlinable, like ancestors.
    @inlinable
    public func inviteCounts(of index: MemberIndex) -> InviteCounts {
        let position = self.checked(index)
        return InviteCounts(
            direct: Int(self.counters[position].direct),
            secondLevel: Int(self.counters[position].secondLevel),
            team: Int(self.counters[position].team)
        )
    }

    /// The counts kept up to date on every binding: direct, second level and team size.
    ///
    /// - Throws: ``FissionError/Code/unknownMember``.
    public func inviteCounts(of member: MemberID) throws(FissionError) -> InviteCounts {
        try self.inviteCounts(of: MemberIndex(rawValue: Int32(self.requireIndex(member))))
    }

    /// The member's current direct invitees who were bound through `campaign`.
    ///
    /// - Throws: ``FissionError/Code/unknownMember``.
    public func inviteCount(of member: MemberID, in campaign: CampaignID) throws(FissionError) -> Int {
        let inviter = try self.requireIndex(member)
        guard let slot = self.campaignSlots[campaign] else { return 0 }
        return Int(self.campaignInviteCounts[campaignKey(slot, Int32(inviter))] ?? 0)
    }

    /// The member's current direct invitees whose binding was made inside `window`.
    ///
    /// - Throws: ``FissionError/Code/unknownMember``.
    /// - Complexity: O(direct invitees).
    public func inviteCount(of member: MemberID, boundDuring window: Range<Timestamp>) throws(FissionError) -> Int {
        self.countInvitees(of: Int32(try self.requireIndex(member)), boundDuring: window)
    }

    func countInvitees(of inviter: Int32, boundDuring window: Range<Timestamp>) -> Int {
        let lower = window.lowerBound.millisecondsSinceEpoch
        let upper = window.upperBound.millisecondsSinceEpoch
        return self.withInvitees(of: Int(inviter)) { invitees in
            var count = 0
            for invitee in invitees {
                let time = self.boundAt[Int(invitee)]
                if time >= lower && time < upper { count += 1 }
            }
            return count
        }
    }

    // MARK: Invitees

    /// Calls `body` with each current direct invitee, newest binding first.
    ///
    /// - Precondition: `index` is in `0..<count`.
    /// - Complexity: O(direct invitees).
    public func forEachInvitee(of index: MemberIndex, _ body: (MemberIndex) -> Void) {
        self.withInvitees(of: self.checked(index)) { invitees in
            for invitee in invitees.reversed() {
                body(MemberIndex(rawValue: invitee))
            }
        }
    }

    /// The member's current direct invitees, newest binding first.
    ///
    /// - Throws: ``FissionError/Code/unknownMember``.
    /// - Complexity: O(direct invitees).
    public func invitees(of member: MemberID) throws(FissionError) -> [MemberID] {
        let index = MemberIndex(rawValue: Int32(try self.requireIndex(member)))
        var invitees: [MemberID] = []
        invitees.reserveCapacity(Int(self.counters[index.position].direct))
        self.forEachInvitee(of: index) { invitees.append(self.table.id(at: $0.position)) }
        return invitees
    }

    @usableFromInline
    static func depthError(_ levels: Int) -> FissionError {
        FissionError(code: .invalidDepth, reason: "depth \(levels) is outside 1...\(Self.maximumDepth)")
    }
}
