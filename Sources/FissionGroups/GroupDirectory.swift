public import FissionCore
public import FissionMembers

/// All groups and series of a community, with their members, logs and invite attribution: a pure value.
///
/// Members join a group or a series (``join(_:facts:into:invitedBy:channel:at:)``), leave, are
/// removed, or are moved between groups as one operation. The directory keeps these promises
/// whatever order the calls come in:
///
/// - a group never has more members than its capacity;
/// - a member is in at most one group of a series;
/// - every mutating method either succeeds completely or throws a ``FissionCore/FissionError``
///   and leaves the directory unchanged;
/// - each group's log is in time order (an event dated before the group's latest is refused).
///
/// The directory does no I/O and reads no clock: the host passes the time of each event.
///
/// In `Codable` form a directory is its layering policy, its series, its groups with their logs
/// (in the order they were added), and the latest event's sequence number: arrays only, so equal
/// directories encode to equal bytes. Members and invite attribution are not stored: decoding
/// replays each log to rebuild them, and refuses a log that breaks a promise above.
public struct GroupDirectory: Hashable, Sendable, Codable {
    /// The most groups a directory may hold.
    public static var maximumGroups: Int { 100_000 }
    /// The most series a directory may hold.
    public static var maximumSeries: Int { 10_000 }
    /// The most events one page of a log may return.
    public static var maximumPageSize: Int { 10_000 }

    struct GroupRecord: Hashable, Sendable {
        var group: CommunityGroup
        let seriesIndex: Int
        var members: [MemberID: Membership]
        var log: [MembershipEvent]
        var attribution: InviteAttribution
    }

    struct Placement: Hashable, Sendable {
        let member: MemberID
        let seriesIndex: Int
    }

    /// Ranks layers for entry rules.
    public let policy: LayeringPolicy

    var records: [GroupRecord] = []
    var recordIndices: [GroupID: Int] = [:]
    var seriesList: [GroupSeries] = []
    /// For each series, its groups' record indices in routing order.
    var seriesGroupIndices: [[Int]] = []
    var seriesIndices: [GroupSeriesID: Int] = [:]
    /// The group each member is in, per series.
    var placements: [Placement: Int] = [:]
    var lastSequence: Int64 = 0

    /// Creates an empty directory.
    ///
    /// - Parameter policy: Ranks layers for ``EntryRule/Clause/layerAtLeast(_:)`` clauses.
    public init(policy: LayeringPolicy) {
        self.policy = policy
    }

    // MARK: - Series and groups

    /// Adds a series with no groups.
    ///
    /// - Throws: ``FissionError/Code/duplicateGroup`` if the id is taken,
    ///   ``FissionError/Code/invalidGroupSettings`` if the series breaks a rule of
    ///   ``GroupSeries/init(id:name:purpose:capacity:tags:entryRule:offset:maximumGroups:)`` (checked
    ///   again here), already lists groups, or the directory holds ``maximumSeries`` series.
    public mutating func addSeries(_ series: GroupSeries) throws(FissionError) {
        try series.validate()
        guard self.seriesIndices[series.id] == nil else {
            throw FissionError(code: .duplicateGroup, reason: "series \(series.id) already exists")
        }
        guard series.groups.isEmpty else {
            throw FissionError(code: .invalidGroupSettings, reason: "add a series empty, then add its groups")
        }
        guard self.seriesList.count < Self.maximumSeries else {
            throw FissionError(
                code: .invalidGroupSettings,
                reason: "a directory holds at most \(Self.maximumSeries) series"
            )
        }
        self.seriesIndices[series.id] = self.seriesList.count
        self.seriesList.append(series)
        self.seriesGroupIndices.append([])
    }

    /// Adds an empty group at the end of a series' routing order.
    ///
    /// - Throws: ``FissionError/Code/groupNotFound`` for an unknown series,
    ///   ``FissionError/Code/duplicateGroup`` if the group id is taken,
    ///   ``FissionError/Code/invalidGroupSettings`` if the group has members or is archived, or
    ///   the series or directory is at its limit.
    public mutating func addGroup(_ group: CommunityGroup, to series: GroupSeriesID) throws(FissionError) {
        let seriesIndex = try self.seriesIndex(series)
        guard self.seriesList[seriesIndex].canGrow else {
            throw FissionError(
                code: .invalidGroupSettings,
                reason: "series \(series) already has its \(self.seriesList[seriesIndex].maximumGroups) groups"
            )
        }
        try self.checkNewGroup(group)
        self.insert(group, seriesIndex: seriesIndex)
    }

    /// Opens the next group of a series from its template, as routing does when all are full.
    ///
    /// - Returns: The new group.
    /// - Throws: ``FissionError/Code/groupNotFound`` for an unknown series,
    ///   ``FissionError/Code/seriesFull`` if the series may not grow. The new group's id is
    ///   `<series>-<n>` for the series' group count plus one, or the next number whose id no
    ///   group has.
    @discardableResult
    public mutating func openGroup(in series: GroupSeriesID) throws(FissionError) -> CommunityGroup {
        let seriesIndex = try self.seriesIndex(series)
        let group = try self.nextGroup(seriesIndex: seriesIndex)
        self.insert(group, seriesIndex: seriesIndex)
        return group
    }

    /// The group with `id`, with its current member count, or `nil`.
    public func group(_ id: GroupID) -> CommunityGroup? {
        self.recordIndices[id].map { self.records[$0].group }
    }

    /// The series with `id`, listing its groups, or `nil`.
    public func series(_ id: GroupSeriesID) -> GroupSeries? {
        self.seriesIndices[id].map { self.seriesList[$0] }
    }

    /// Every series' id, in the order they were added.
    public var seriesIDs: [GroupSeriesID] { self.seriesList.map(\.id) }

    /// The series a group belongs to, or `nil` for an unknown group.
    public func series(of group: GroupID) -> GroupSeriesID? {
        self.recordIndices[group].map { self.seriesList[self.records[$0].seriesIndex].id }
    }

    /// Changes a group's capacity.
    ///
    /// - Throws: ``FissionError/Code/groupNotFound``; ``FissionError/Code/invalidGroupSettings``
    ///   outside 2...``CommunityGroup/maximumCapacity``;
    ///   ``FissionError/Code/capacityBelowMemberCount`` below the group's member count.
    public mutating func setCapacity(_ capacity: Int, of group: GroupID) throws(FissionError) {
        let index = try self.recordIndex(group)
        try CommunityGroup.validate(capacity: capacity)
        let count = self.records[index].group.memberCount
        guard capacity >= count else {
            throw FissionError(
                code: .capacityBelowMemberCount,
                reason: "group \(group) has \(count) members; a capacity of \(capacity) is below that"
            )
        }
        self.records[index].group.capacity = capacity
    }

    /// Archives a group: it takes no new members; members may still leave or be moved out.
    ///
    /// Archiving an archived group does nothing.
    ///
    /// - Throws: ``FissionError/Code/groupNotFound``.
    public mutating func archive(_ group: GroupID) throws(FissionError) {
        let index = try self.recordIndex(group)
        self.records[index].group.isArchived = true
    }

    /// Makes an archived group take members again. Reactivating an active group does nothing.
    ///
    /// - Throws: ``FissionError/Code/groupNotFound``.
    public mutating func reactivate(_ group: GroupID) throws(FissionError) {
        let index = try self.recordIndex(group)
        self.records[index].group.isArchived = false
    }

    // MARK: - Queries

    /// The sequence number of the latest event in any group's log; 0 before the first. The next
    /// event gets this plus one.
    public var lastEventSequence: Int64 { self.lastSequence }

    /// The group of `series` that `member` is in, or `nil`.
    public func group(of member: MemberID, in series: GroupSeriesID) -> GroupID? {
        guard let seriesIndex = self.seriesIndices[series],
            let index = self.placements[Placement(member: member, seriesIndex: seriesIndex)]
        else { return nil }
        return self.records[index].group.id
    }

    /// The member's membership of `group`, or `nil` if they are not in it.
    public func membership(of member: MemberID, in group: GroupID) -> Membership? {
        self.recordIndices[group].flatMap { self.records[$0].members[member] }
    }

    /// Whether `member` is in `group` now.
    public func isMember(_ member: MemberID, of group: GroupID) -> Bool {
        self.membership(of: member, in: group) != nil
    }

    /// The group's current members, ordered by member id.
    ///
    /// - Complexity: O(*m* log *m*) in the group's member count, which its capacity bounds.
    public func members(of group: GroupID) -> [Membership] {
        guard let index = self.recordIndices[group] else { return [] }
        return self.records[index].members.values.sorted { $0.member < $1.member }
    }

    /// Up to `limit` entries of a group's log, starting at `position` (0 is the first entry).
    ///
    /// - Precondition: `limit` is 1...``maximumPageSize`` and `position` is not negative.
    /// - Complexity: O(`limit`).
    public func log(of group: GroupID, from position: Int = 0, limit: Int = 1_000) -> [MembershipEvent] {
        precondition((1...Self.maximumPageSize).contains(limit), "limit must be 1...\(Self.maximumPageSize)")
        precondition(position >= 0, "position may not be negative")
        guard let index = self.recordIndices[group] else { return [] }
        let log = self.records[index].log
        guard position < log.count else { return [] }
        return Array(log[position..<min(log.count, position + limit)])
    }

    /// The number of entries in a group's log.
    public func logCount(of group: GroupID) -> Int {
        self.recordIndices[group].map { self.records[$0].log.count } ?? 0
    }

    /// Explains whether `member` may enter `group` under its entry rule; `nil` for an unknown group.
    ///
    /// - Parameters:
    ///   - member: The member.
    ///   - facts: What the host knows beyond the member value.
    ///   - group: The group.
    ///   - inviter: The member inviting them into the group, for
    ///     ``EntryRule/Clause/invitedByMemberOf(_:)``.
    public func explainEntry(
        of member: Member,
        facts: MemberFacts,
        into group: GroupID,
        invitedBy inviter: MemberID?
    ) -> EntryRule.Explanation? {
        guard let index = self.recordIndices[group] else { return nil }
        guard let rule = self.records[index].group.entryRule else {
            return EntryRule.Explanation(isSatisfied: true, failures: [])
        }
        return rule.explain(for: member, facts: facts, policy: self.policy) { self.isMember(inviter, of: $0) }
    }

    // MARK: - Internals shared by the membership operations

    func seriesIndex(_ id: GroupSeriesID) throws(FissionError) -> Int {
        guard let index = self.seriesIndices[id] else {
            throw FissionError(code: .groupNotFound, reason: "no series \(id)")
        }
        return index
    }

    func recordIndex(_ id: GroupID) throws(FissionError) -> Int {
        guard let index = self.recordIndices[id] else {
            throw FissionError(code: .groupNotFound, reason: "no group \(id)")
        }
        return index
    }

    func isMember(_ member: MemberID?, of group: GroupID) -> Bool {
        guard let member, let index = self.recordIndices[group] else { return false }
        return self.records[index].members[member] != nil
    }

    func nextGroup(seriesIndex: Int) throws(FissionError) -> CommunityGroup {
        let series = self.seriesList[seriesIndex]
        guard series.canGrow else {
            throw FissionError(
                code: .seriesFull,
                reason: "series \(series.id) has its \(series.maximumGroups) groups and may not open another"
            )
        }
        // An operator may have added a group under the id the series would generate next: step
        // past taken ids rather than refuse to grow (every id tried is in use, so this ends).
        var number = series.groups.count + 1
        var group = try series.nextGroup(numbered: number)
        while self.recordIndices[group.id] != nil {
            number += 1
            group = try series.nextGroup(numbered: number)
        }
        try self.checkNewGroup(group)
        return group
    }

    private func checkNewGroup(_ group: CommunityGroup) throws(FissionError) {
        guard self.recordIndices[group.id] == nil else {
            throw FissionError(code: .duplicateGroup, reason: "group \(group.id) already exists")
        }
        guard group.memberCount == 0, !group.isArchived else {
            throw FissionError(code: .invalidGroupSettings, reason: "a new group must be empty and active")
        }
        guard self.records.count < Self.maximumGroups else {
            throw FissionError(
                code: .invalidGroupSettings,
                reason: "a directory holds at most \(Self.maximumGroups) groups"
            )
        }
    }

    mutating func insert(_ group: CommunityGroup, seriesIndex: Int) {
        let index = self.records.count
        var members: [MemberID: Membership] = [:]
        members.reserveCapacity(min(group.capacity, 1_024))
        self.records.append(
            GroupRecord(group: group, seriesIndex: seriesIndex, members: members, log: [], attribution: .init())
        )
        self.recordIndices[group.id] = index
        self.seriesList[seriesIndex].groups.append(group.id)
        self.seriesGroupIndices[seriesIndex].append(index)
    }
}
