public import FissionCore
public import FissionMembers

/// What a group is for: core, fan-benefit, acquisition, word-of-mouth, or one an operator defines.
public struct GroupPurpose: ValidatedName {
    /// The longest purpose name, in UTF-8 bytes.
    public static var maximumUTF8Length: Int { 64 }

    /// Heavy users, moved here for better rewards.
    public static let core = GroupPurpose(validated: "core")
    /// Fans who get member-only offers.
    public static let fanBenefit = GroupPurpose(validated: "fan-benefit")
    /// New people brought in by campaigns.
    public static let acquisition = GroupPurpose(validated: "acquisition")
    /// Reputation groups of people who may not be customers.
    public static let wordOfMouth = GroupPurpose(validated: "word-of-mouth")

    /// The purpose's name.
    public let name: String

    /// Creates an operator-defined purpose, such as `"night-running-club"`.
    ///
    /// - Throws: ``FissionError/Code/invalidGroupSettings`` if the name is empty, too long or holds
    ///   a control character.
    public init(_ name: String) throws(FissionError) {
        try validateName(name, what: "purpose", maximumUTF8Length: Self.maximumUTF8Length, code: .invalidGroupSettings)
        self.name = name
    }

    private init(validated name: String) {
        self.name = name
    }
}

/// Where a group is in its life: taking members, full, or closed.
public enum GroupLifecycle: String, Hashable, Sendable, Codable {
    /// The group takes new members.
    case active
    /// The group has as many members as its capacity; it becomes active again when one leaves.
    case full
    /// An operator closed the group; it takes no new members, but members may still leave.
    case archived
}

/// A community chat group: its settings, and how many members it has now.
///
/// Create one with ``init(id:name:purpose:capacity:tags:entryRule:offset:)`` and put it in a
/// ``GroupDirectory``, which keeps its members, its log and its invite attribution. The directory
/// hands back copies of this value; change settings through the directory so that its checks run
/// (a capacity below the member count is refused, for instance).
public struct CommunityGroup: Identifiable, Hashable, Sendable, Codable {
    /// The chat apps' limit, and the default capacity.
    public static var defaultCapacity: Int { 500 }
    /// The largest capacity a group may have.
    public static var maximumCapacity: Int { 100_000 }
    /// The longest group name, in UTF-8 bytes.
    public static var maximumNameUTF8Length: Int { 128 }
    /// The most entries one group's membership log may hold.
    public static var maximumLogEntries: Int { 1 << 22 }

    /// The host's id for the group.
    public let id: GroupID
    /// A display name, such as "Acquisition group 3".
    public let name: String
    /// What the group is for.
    public let purpose: GroupPurpose
    /// The most members the group may have.
    public internal(set) var capacity: Int
    /// Labels, such as `region:shanghai`.
    public let tags: TagSet
    /// Who may join; `nil` admits everyone.
    public let entryRule: EntryRule?
    /// The UTC offset the group's calendar days (check-ins) are counted in.
    public let offset: UTCOffset
    /// Whether an operator archived the group.
    public internal(set) var isArchived: Bool
    /// How many members the group has now.
    public internal(set) var memberCount: Int

    /// Creates a group with no members.
    ///
    /// - Parameters:
    ///   - id: The host's id.
    ///   - name: A display name, 1 to ``maximumNameUTF8Length`` bytes.
    ///   - purpose: What the group is for.
    ///   - capacity: The most members, 2 to ``maximumCapacity``; 500 by default.
    ///   - tags: Labels for the group.
    ///   - entryRule: Who may join; `nil` admits everyone.
    ///   - offset: The UTC offset for the group's calendar days.
    /// - Throws: ``FissionError/Code/invalidGroupSettings`` for a bad name or capacity.
    public init(
        id: GroupID,
        name: String,
        purpose: GroupPurpose,
        capacity: Int = CommunityGroup.defaultCapacity,
        tags: TagSet = [],
        entryRule: EntryRule? = nil,
        offset: UTCOffset = .chinaStandardTime
    ) throws(FissionError) {
        try validateName(
            name,
            what: "group name",
            maximumUTF8Length: Self.maximumNameUTF8Length,
            code: .invalidGroupSettings
        )
        try Self.validate(capacity: capacity)
        self.id = id
        self.name = name
        self.purpose = purpose
        self.capacity = capacity
        self.tags = tags
        self.entryRule = entryRule
        self.offset = offset
        self.isArchived = false
        self.memberCount = 0
    }

    /// Where the group is in its life.
    public var lifecycle: GroupLifecycle {
        if self.isArchived { return .archived }
        return self.memberCount >= self.capacity ? .full : .active
    }

    /// Whether the group takes another member now: not archived and below capacity.
    public var hasRoom: Bool { !self.isArchived && self.memberCount < self.capacity }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        do {
            try self.init(
                id: container.decode(GroupID.self, forKey: .id),
                name: container.decode(String.self, forKey: .name),
                purpose: container.decode(GroupPurpose.self, forKey: .purpose),
                capacity: container.decode(Int.self, forKey: .capacity),
                tags: container.decode(TagSet.self, forKey: .tags),
                entryRule: container.decodeIfPresent(EntryRule.self, forKey: .entryRule),
                offset: container.decode(UTCOffset.self, forKey: .offset)
            )
        } catch let error as FissionError {
            throw DecodingError.dataCorruptedError(forKey: .capacity, in: container, debugDescription: error.reason)
        }
        self.isArchived = try container.decode(Bool.self, forKey: .isArchived)
        let memberCount = try container.decode(Int.self, forKey: .memberCount)
        guard (0...self.capacity).contains(memberCount) else {
            throw DecodingError.dataCorruptedError(
                forKey: .memberCount,
                in: container,
                debugDescription: "memberCount \(memberCount) is outside 0...capacity"
            )
        }
        self.memberCount = memberCount
    }

    private enum CodingKeys: String, CodingKey {
        case id
        case name
        case purpose
        case capacity
        case tags
        case entryRule
        case offset
        case isArchived
        case memberCount
    }

    static func validate(capacity: Int) throws(FissionError) {
        guard (2...Self.maximumCapacity).contains(capacity) else {
            throw FissionError(
                code: .invalidGroupSettings,
                reason: "capacity \(capacity) is outside 2...\(Self.maximumCapacity)"
            )
        }
    }
}
