public import FissionCore
public import FissionMembers

/// An ordered pool of groups for one purpose, such as "acquisition group 1 to 10".
///
/// A member is in at most one group of a series. Joining the series (``JoinTarget/series(_:)``)
/// puts the member in the first group, in order, that has room and admits them; when every group
/// is full the series opens the next one from its template, until it has ``maximumGroups``.
///
/// Opened groups get the id `"<series id>-<n>"` and the name `"<name> <n>"`, where *n* counts the
/// series' groups from 1.
///
/// Decoding checks the same rules as ``init(id:name:purpose:capacity:tags:entryRule:offset:maximumGroups:)``,
/// and that the listed groups are distinct and no more than ``maximumGroups``.
public struct GroupSeries: Identifiable, Hashable, Sendable, Codable {
    /// The most groups one series may have.
    public static var maximumGroupsLimit: Int { 1_000 }

    /// The series' id.
    public let id: GroupSeriesID
    /// A display name; opened groups are called `"<name> <n>"`.
    public let name: String
    /// What the series' groups are for.
    public let purpose: GroupPurpose
    /// The capacity of groups the series opens.
    public let capacity: Int
    /// The tags of groups the series opens.
    public let tags: TagSet
    /// The entry rule of groups the series opens.
    public let entryRule: EntryRule?
    /// The UTC offset of groups the series opens.
    public let offset: UTCOffset
    /// How many groups the series may have; it opens no more once it has this many.
    public let maximumGroups: Int
    /// The series' groups, in routing order.
    public internal(set) var groups: [GroupID]

    /// Creates a series with no groups yet.
    ///
    /// - Parameters:
    ///   - id: The series' id; at most 100 UTF-8 bytes when a string, so opened ids stay valid.
    ///   - name: A display name.
    ///   - purpose: What its groups are for.
    ///   - capacity: The capacity of opened groups, 2 to ``CommunityGroup/maximumCapacity``.
    ///   - tags: The tags of opened groups.
    ///   - entryRule: The entry rule of opened groups.
    ///   - offset: The UTC offset of opened groups.
    ///   - maximumGroups: The growth limit, 1 to ``maximumGroupsLimit``; 1 for a single group
    ///     that never overflows.
    /// - Throws: ``FissionError/Code/invalidGroupSettings`` for a bad name, id, capacity or limit.
    public init(
        id: GroupSeriesID,
        name: String,
        purpose: GroupPurpose,
        capacity: Int = CommunityGroup.defaultCapacity,
        tags: TagSet = [],
        entryRule: EntryRule? = nil,
        offset: UTCOffset = .chinaStandardTime,
        maximumGroups: Int
    ) throws(FissionError) {
        try Self.validate(id: id, name: name, capacity: capacity, maximumGroups: maximumGroups, groupCount: 0)
        self.id = id
        self.name = name
        self.purpose = purpose
        self.capacity = capacity
        self.tags = tags
        self.entryRule = entryRule
        self.offset = offset
        self.maximumGroups = maximumGroups
        self.groups = []
    }

    /// Checks the settings a series may have.
    static func validate(
        id: GroupSeriesID,
        name: String,
        capacity: Int,
        maximumGroups: Int,
        groupCount: Int
    ) throws(FissionError) {
        try validateName(name, what: "series name", maximumUTF8Length: 100, code: .invalidGroupSettings)
        try CommunityGroup.validate(capacity: capacity)
        guard (1...Self.maximumGroupsLimit).contains(maximumGroups) else {
            throw FissionError(
                code: .invalidGroupSettings,
                reason: "maximumGroups \(maximumGroups) is outside 1...\(Self.maximumGroupsLimit)"
            )
        }
        guard id.description.utf8.count <= 100 else {
            throw FissionError(code: .invalidGroupSettings, reason: "series id \(id) is longer than 100 bytes")
        }
        guard groupCount <= maximumGroups else {
            throw FissionError(
                code: .invalidGroupSettings,
                reason: "the series lists \(groupCount) groups; at most \(maximumGroups)"
            )
        }
    }

    /// Checks this value again, as ``GroupDirectory/addSeries(_:)`` does before taking it.
    func validate() throws(FissionError) {
        try Self.validate(
            id: self.id,
            name: self.name,
            capacity: self.capacity,
            maximumGroups: self.maximumGroups,
            groupCount: self.groups.count
        )
        guard Set(self.groups).count == self.groups.count else {
            throw FissionError(code: .invalidGroupSettings, reason: "series \(self.id) lists a group twice")
        }
    }

    /// Decodes a series and checks it as the initializer does.
    ///
    /// - Throws: `DecodingError.dataCorrupted` for a bad name, id, capacity or growth limit, or a
    ///   group list that repeats a group or is longer than `maximumGroups`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decode(GroupSeriesID.self, forKey: .id)
        self.name = try container.decode(String.self, forKey: .name)
        self.purpose = try container.decode(GroupPurpose.self, forKey: .purpose)
        self.capacity = try container.decode(Int.self, forKey: .capacity)
        self.tags = try container.decode(TagSet.self, forKey: .tags)
        self.entryRule = try container.decodeIfPresent(EntryRule.self, forKey: .entryRule)
        self.offset = try container.decode(UTCOffset.self, forKey: .offset)
        self.maximumGroups = try container.decode(Int.self, forKey: .maximumGroups)
        self.groups = try container.decode([GroupID].self, forKey: .groups)
        do {
            try self.validate()
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .capacity, in: container, debugDescription: error.reason)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case id
        case name
        case purpose
        case capacity
        case tags
        case entryRule
        case offset
        case maximumGroups
        case groups
    }

    /// Whether the series may open another group.
    public var canGrow: Bool { self.groups.count < self.maximumGroups }

    /// The group the series opens as its `number`th id: `<series>-<number>`, named
    /// `<name> <number>`. The directory starts at the series' group count plus one and steps past
    /// ids other groups already have.
    func nextGroup(numbered number: Int) throws(FissionError) -> CommunityGroup {
        try CommunityGroup(
            id: GroupID("\(self.id)-\(number)"),
            name: "\(self.name) \(number)",
            purpose: self.purpose,
            capacity: self.capacity,
            tags: self.tags,
            entryRule: self.entryRule,
            offset: self.offset
        )
    }
}
