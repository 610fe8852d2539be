public import FissionCore

/// A description of a set of members, for targeting: tags, layers, activity, join dates.
///
/// Every stated condition must hold; an empty segment matches every member.
///
/// ```swift
/// // Core members in Shanghai who were active in November.
/// let segment = Segment(
///     allTags: [try .region("shanghai")],
///     layers: [.core],
///     activeSince: try CalendarDay(year: 2026, month: 11, day: 1)
/// )
/// ```
public struct Segment: Hashable, Sendable, Codable {
    /// Tags a member must all have.
    public var allTags: [MemberTag]
    /// Tags of which a member must have at least one; no condition when empty.
    public var anyTags: [MemberTag]
    /// Layers a member must be in one of; no condition when empty.
    public var layers: [Layer]
    /// The member must have been active on this day or later, in the roster's offset.
    public var activeSince: CalendarDay?
    /// The member must have joined at or after this instant.
    public var joinedAtOrAfter: Timestamp?
    /// The member must have joined before this instant.
    public var joinedBefore: Timestamp?

    /// Creates a segment.
    public init(
        allTags: [MemberTag] = [],
        anyTags: [MemberTag] = [],
        layers: [Layer] = [],
        activeSince: CalendarDay? = nil,
        joinedAtOrAfter: Timestamp? = nil,
        joinedBefore: Timestamp? = nil
    ) {
        self.allTags = allTags
        self.anyTags = anyTags
        self.layers = layers
        self.activeSince = activeSince
        self.joinedAtOrAfter = joinedAtOrAfter
        self.joinedBefore = joinedBefore
    }

    /// Whether `member`, last active on `lastActiveDay`, is in the segment.
    public func contains(_ member: Member, lastActiveDay: CalendarDay?) -> Bool {
        guard self.allTags.allSatisfy({ member.tags.contains($0) }) else { return false }
        guard self.anyTags.isEmpty || self.anyTags.contains(where: { member.tags.contains($0) }) else { return false }
        guard self.layers.isEmpty || self.layers.contains(member.layer) else { return false }
        if let activeSince {
            guard let lastActiveDay, lastActiveDay >= activeSince else { return false }
        }
        if let joinedAtOrAfter, member.joinedAt < joinedAtOrAfter { return false }
        if let joinedBefore, member.joinedAt >= joinedBefore { return false }
        return true
    }
}
