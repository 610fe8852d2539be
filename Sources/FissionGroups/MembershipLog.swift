public import FissionCore
import FissionMembers

/// Why a member was removed from a group.
public struct RemovalReason: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The longest reason, in UTF-8 bytes.
    public static var maximumUTF8Length: Int { 256 }

    /// The moderation strike policy decided to remove the member.
    public static let moderation = RemovalReason(validated: "moderation")
    /// An operator removed the member.
    public static let operatorDecision = RemovalReason(validated: "operator")
    /// The member was inactive for too long.
    public static let inactivity = RemovalReason(validated: "inactivity")

    /// The reason as text.
    public let text: String

    /// Creates a reason, such as `"advertising"`.
    ///
    /// - Throws: ``FissionError/Code/invalidGroupSettings`` if the text is empty, too long or holds
    ///   a control character.
    public init(_ text: String) throws(FissionError) {
        try validateName(
            text,
            what: "removal reason",
            maximumUTF8Length: Self.maximumUTF8Length,
            code: .invalidGroupSettings
        )
        self.text = text
    }

    private init(validated text: String) {
        self.text = text
    }

    public var description: String { self.text }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.reason)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.text)
    }
}

/// One entry of a group's membership log. The log is append-only.
public struct MembershipEvent: Hashable, Sendable, Codable {
    /// What happened.
    public enum Kind: Hashable, Sendable, Codable {
        /// The member joined, invited into this group by `invitedBy`, through `channel`.
        case joined(invitedBy: MemberID?, channel: String?)
        /// The member left of their own accord.
        case left
        /// The member was removed.
        case removed(reason: RemovalReason)
        /// The member was moved here from another group.
        case movedIn(from: GroupID)
        /// The member was moved from here to another group.
        case movedOut(to: GroupID)
    }

    /// The event's position among all events of the directory, from 1; a move writes two events
    /// with consecutive numbers.
    public let sequence: Int64
    /// The group.
    public let group: GroupID
    /// The member.
    public let member: MemberID
    /// When it happened.
    public let at: Timestamp
    /// What happened.
    public let kind: Kind

    /// Creates an event.
    public init(sequence: Int64, group: GroupID, member: MemberID, at: Timestamp, kind: Kind) {
        self.sequence = sequence
        self.group = group
        self.member = member
        self.at = at
        self.kind = kind
    }

    /// Whether the event makes the member a member of the group.
    public var isEntry: Bool {
        switch self.kind {
        case .joined, .movedIn: true
        case .left, .removed, .movedOut: false
        }
    }
}

/// A member's current membership of a group.
public struct Membership: Hashable, Sendable, Codable {
    /// The member.
    public let member: MemberID
    /// When they entered the group (joined, or were moved in).
    public let since: Timestamp
    /// Who invited them into the group, if anyone.
    public let invitedBy: MemberID?
    /// The channel they came through, if known.
    public let channel: String?

    /// Creates a membership record.
    public init(member: MemberID, since: Timestamp, invitedBy: MemberID?, channel: String?) {
        self.member = member
        self.since = since
        self.invitedBy = invitedBy
        self.channel = channel
    }
}

/// Where a join or move should go: one group, or the first group of a series with room.
public enum JoinTarget: Hashable, Sendable, Codable {
    /// This group exactly.
    case group(GroupID)
    /// The first group of the series, in order, that has room and admits the member; the series
    /// opens a new group when all are full and it may grow.
    case series(GroupSeriesID)
}

/// Where a join or move put the member.
public struct JoinOutcome: Hashable, Sendable {
    /// The group the member is now in.
    public let group: GroupID
    /// The group the series opened to take the member, if it had to open one; the host creates
    /// the chat group (and its QR code) for it.
    public let openedGroup: CommunityGroup?
}
