public import FissionCore

/// A member's dense position in one ``InviteGraph``: its join order, starting at 0.
///
/// Indices are what the hot queries take and return: an array subscript, no hashing. An index is
/// meaningful only in the graph that issued it (or a graph restored from that graph's snapshot).
/// A lower index always means an earlier member, and an inviter always has a lower index than
/// the members bound to them.
public struct MemberIndex: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The position, `0..<graph.count`.
    public let rawValue: Int32

    /// Wraps a raw position. The graph checks it against its size when the index is used.
    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// The position as an `Int`.
    public var position: Int { Int(self.rawValue) }

    /// The position after a `#`, as in `#42`.
    public var description: String { "#\(self.rawValue)" }

    /// Join order: the earlier member first.
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The three invite counts the graph keeps up to date on every binding.
public struct InviteCounts: Hashable, Sendable {
    /// Members bound directly to this member (level 1).
    public let direct: Int
    /// Members bound to this member's direct invitees (level 2).
    public let secondLevel: Int
    /// Every member below this one, at any depth (the team size).
    public let team: Int

    /// Creates counts (for tests and hosts that mirror them).
    public init(direct: Int, secondLevel: Int, team: Int) {
        self.direct = direct
        self.secondLevel = secondLevel
        self.team = team
    }
}

/// What happened to a touch (an invitation accepted by an already registered member).
public enum BindingOutcome: Hashable, Sendable {
    /// The member is now bound to the inviter; they had no inviter before.
    case bound
    /// The member moved from their previous inviter to this one; the old edge is closed.
    case rebound
    /// Nothing changed: the member was already bound to this inviter, or, under
    /// ``BindingPolicy/Moment/firstOrder`` before their first order and with a duration other
    /// than ``BindingPolicy/Duration/lastTouch``, an earlier invitation already waits and this
    /// one is ignored.
    case unchanged
    /// Under ``BindingPolicy/Moment/firstOrder`` the invitation is remembered (replacing one
    /// that waited, under ``BindingPolicy/Duration/lastTouch``) and binds at the member's first
    /// order.
    case pending
}

/// One audited edge of the graph: who invited a member, from when, until when.
public struct Binding: Hashable, Sendable {
    /// The inviter of this edge.
    public let inviter: MemberID
    /// The campaign the invitation came through, if any.
    public let campaign: CampaignID?
    /// When the binding was made (inclusive).
    public let validFrom: Timestamp
    /// When a rebinding closed it (exclusive), or `nil` while it holds.
    public let validTo: Timestamp?

    /// Creates an edge value.
    public init(inviter: MemberID, campaign: CampaignID?, validFrom: Timestamp, validTo: Timestamp?) {
        self.inviter = inviter
        self.campaign = campaign
        self.validFrom = validFrom
        self.validTo = validTo
    }
}

/// A member's way up to the root of their tree, cut at a limit.
public struct PathToRoot: Hashable, Sendable {
    /// The ancestors, nearest first (the inviter, then the inviter's inviter, ...).
    public let members: [MemberID]
    /// `true` when the last member has no inviter, so the path is complete; `false` when the limit cut it.
    public let reachedRoot: Bool
}

/// A count a leaderboard can rank inviters by.
public enum InviteCountKind: Hashable, Sendable {
    /// Direct invitees (level 1), O(1) per member.
    case direct
    /// Invitees of invitees (level 2), O(1) per member.
    case secondLevel
    /// All members below (team size), O(1) per member.
    case team
    /// Current direct invitees bound through one campaign.
    case campaign(CampaignID)
    /// Current direct invitees whose binding was made in a time window.
    case boundDuring(Range<Timestamp>)
}

/// One row of a leaderboard.
public struct LeaderboardEntry: Hashable, Sendable {
    /// The inviter.
    public let member: MemberID
    /// The inviter's position in the graph.
    public let index: MemberIndex
    /// The count they are ranked by.
    public let count: Int

    /// Creates a row.
    public init(member: MemberID, index: MemberIndex, count: Int) {
        self.member = member
        self.index = index
        self.count = count
    }
}
