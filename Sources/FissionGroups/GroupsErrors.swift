public import FissionCore

extension FissionError.Code {
    /// A group, series, purpose or activity setting was out of range: a capacity outside
    /// 2...``CommunityGroup/maximumCapacity``, an empty name, a bad growth limit.
    public static let invalidGroupSettings = Self("invalidGroupSettings")
    /// A group or series id is already taken in the directory.
    public static let duplicateGroup = Self("duplicateGroup")
    /// The referenced group or series is not in the directory.
    public static let groupNotFound = Self("groupNotFound")
    /// The group has as many members as its capacity.
    public static let groupFull = Self("groupFull")
    /// The group is archived and takes no new members.
    public static let groupArchived = Self("groupArchived")
    /// Every group of a series that the member may enter is full and the series may not open another.
    public static let seriesFull = Self("seriesFull")
    /// The member is already in this group, or in another group of the same series.
    public static let alreadyInGroup = Self("alreadyInGroup")
    /// The member is not in the group they were asked to leave, be removed from or be moved out of.
    public static let notInGroup = Self("notInGroup")
    /// A new capacity is below the number of members the group already has.
    public static let capacityBelowMemberCount = Self("capacityBelowMemberCount")
    /// The member does not satisfy the group's entry rule; the reason says which clause failed.
    public static let entryRuleNotMet = Self("entryRuleNotMet")
    /// An entry rule was empty, malformed, too deep or too large.
    public static let invalidEntryRule = Self("invalidEntryRule")
    /// An event was dated before the group's latest recorded event.
    public static let eventOutOfOrder = Self("eventOutOfOrder")
    /// A group's membership log reached ``CommunityGroup/maximumLogEntries``.
    public static let membershipLogFull = Self("membershipLogFull")
    /// A word list entry was empty (after folding), too long, or the list was too large.
    public static let invalidWordList = Self("invalidWordList")
    /// A strike policy's window or thresholds were out of range.
    public static let invalidStrikePolicy = Self("invalidStrikePolicy")
    /// A check-in activity or streak setting was out of range.
    public static let invalidCheckInSettings = Self("invalidCheckInSettings")
    /// The member already checked in to the activity on that calendar day.
    public static let alreadyCheckedIn = Self("alreadyCheckedIn")
    /// A check-in was dated before the member joined.
    public static let checkInBeforeJoin = Self("checkInBeforeJoin")
    /// A check-in was dated before the member's latest check-in to the same activity, a make-up
    /// was asked while the clock's "today" is before that check-in, or a make-up day is older than
    /// the check-ins a board keeps.
    public static let checkInOutOfOrder = Self("checkInOutOfOrder")
    /// A ``CheckInBoard`` already tracks ``CheckInBoard/maximumStreaks`` member and activity pairs.
    public static let checkInBoardFull = Self("checkInBoardFull")
    /// A ``GroupModerator`` already tracks strikes of ``GroupModerator/maximumTrackedMembers``
    /// members, none of whose strikes has expired.
    public static let moderatorFull = Self("moderatorFull")
    /// A stay length was out of range, such as ``GroupDirectory/retainedInvitationCount(by:into:stayedDays:asOf:)``'s
    /// `stayedDays` outside 0...``GroupDirectory/maximumStayedDays``.
    public static let invalidStayedDays = Self("invalidStayedDays")
    /// A make-up check-in was asked for a day that may not be made up (today, the future, or
    /// another month), or the month's make-ups are used up.
    public static let makeUpNotAllowed = Self("makeUpNotAllowed")
}

extension IdentifierKind {
    /// The kind of ``GroupSeriesID``.
    public enum GroupSeries: Sendable {}
    /// The kind of ``CheckInActivityID``.
    public enum CheckInActivity: Sendable {}
}

/// A series of community groups that share a purpose, such as "acquisition groups 1 to 10".
public typealias GroupSeriesID = Identifier<IdentifierKind.GroupSeries>
/// A check-in activity inside a group, such as `"morning-run"` or `"daily-post"`.
public typealias CheckInActivityID = Identifier<IdentifierKind.CheckInActivity>
