public import FissionCore
public import FissionMembers

extension FissionError.Code {
    /// A member was named as their own inviter into a group.
    public static let inviterIsInvitee = Self("inviterIsInvitee")
}

extension GroupDirectory {
    /// Where a member will go: a group that exists, or one the series is about to open.
    enum Destination {
        case existing(Int)
        case opening(CommunityGroup, seriesIndex: Int)
    }

    /// Puts a member in a group, or in the first group of a series with room that admits them.
    ///
    /// Routing a series (``JoinTarget/series(_:)``) goes through its groups in order and takes
    /// the first that is not archived, has room, and whose entry rule admits the member. Groups
    /// that refuse the member do not count as room: when no group that admits the member has
    /// room, the series opens its next group (from its template, whose entry rule must admit the
    /// member) even if a group that refuses them still has room. When the series may not grow,
    /// the join fails with ``FissionError/Code/entryRuleNotMet`` for the first group with room
    /// that refused the member, if there is one, and with ``FissionError/Code/seriesFull``
    /// otherwise.
    ///
    /// - Parameters:
    ///   - member: The member joining; their layer, tags and join time feed the entry rule.
    ///   - facts: What the host knows beyond the member value (paid order, spend, entry fee).
    ///   - target: A group, or a series to route through.
    ///   - inviter: The member who invited them into this group, credited in the group's invite
    ///     attribution and tested by ``EntryRule/Clause/invitedByMemberOf(_:)``.
    ///   - channel: How they came, such as `"poster-qr"`.
    ///   - instant: When they joined.
    /// - Returns: The group they joined, and the group the series opened for them, if any.
    /// - Throws: ``FissionError/Code/groupNotFound``; ``FissionError/Code/alreadyInGroup`` if they
    ///   are in the group or another group of its series; ``FissionError/Code/groupArchived``;
    ///   ``FissionError/Code/groupFull``; ``FissionError/Code/seriesFull`` when no group of the
    ///   series has room and it may not grow; ``FissionError/Code/entryRuleNotMet`` with the failed
    ///   clauses in the reason; ``FissionError/Code/inviterIsInvitee``;
    ///   ``FissionError/Code/invalidName`` for a bad channel; ``FissionError/Code/eventOutOfOrder``;
    ///   ``FissionError/Code/membershipLogFull``. The directory is unchanged when it throws.
    /// - Complexity: O(*g*) in the groups of the series, each costing one entry-rule evaluation.
    @discardableResult
    public mutating func join(
        _ member: Member,
        facts: MemberFacts = .none,
        into target: JoinTarget,
        invitedBy inviter: MemberID? = nil,
        channel: String? = nil,
        at instant: Timestamp
    ) throws(FissionError) -> JoinOutcome {
        if let channel {
            try validateName(
                channel,
                what: "channel",
                maximumUTF8Length: JoinSource.maximumChannelUTF8Length,
                code: .invalidName
            )
        }
        guard inviter != member.id else {
            throw FissionError(code: .inviterIsInvitee, reason: "member \(member.id) cannot invite themselves")
        }
        let destination = try self.resolve(
            target,
            for: member,
            facts: facts,
            inviter: inviter,
            at: instant,
            leaving: nil
        )
        let (index, opened) = self.commitEntry(
            of: member.id,
            into: destination,
            kind: .joined(invitedBy: inviter, channel: channel),
            membership: Membership(member: member.id, since: instant, invitedBy: inviter, channel: channel),
            at: instant
        )
        return JoinOutcome(group: self.records[index].group.id, openedGroup: opened)
    }

    /// Records that a member left a group of their own accord.
    ///
    /// - Throws: ``FissionError/Code/groupNotFound``; ``FissionError/Code/notInGroup``;
    ///   ``FissionError/Code/eventOutOfOrder``; ``FissionError/Code/membershipLogFull``.
    ///   The directory is unchanged when it throws.
    public mutating func leave(_ member: MemberID, from group: GroupID, at instant: Timestamp) throws(FissionError) {
        let index = try self.checkExit(of: member, from: group, at: instant)
        self.commitExit(of: member, from: index, kind: .left, at: instant)
    }

    /// Records that a member was removed from a group, for example on a moderation decision.
    ///
    /// The member's stay ends, so an inviter's retained count
    /// (``retainedInvitationCount(by:into:stayedDays:asOf:)``) no longer includes them from then on.
    ///
    /// - Throws: ``FissionError/Code/groupNotFound``; ``FissionError/Code/notInGroup``;
    ///   ``FissionError/Code/eventOutOfOrder``; ``FissionError/Code/membershipLogFull``.
    ///   The directory is unchanged when it throws.
    public mutating func remove(
        _ member: MemberID,
        from group: GroupID,
        reason: RemovalReason,
        at instant: Timestamp
    ) throws(FissionError) {
        let index = try self.checkExit(of: member, from: group, at: instant)
        self.commitExit(of: member, from: index, kind: .removed(reason: reason), at: instant)
    }

    /// Moves a member out of one group and into another (or into a series) as one operation.
    ///
    /// Use it when a member's layer changes: heavy users promoted into the core group. At no
    /// point is the member in two groups of one series, and if the move cannot happen nothing
    /// changes: the member stays where they were.
    ///
    /// The destination's entry rule applies, with the member's inviter into the source group as
    /// their inviter. A move credits nobody in the destination's invite attribution, and ends the
    /// member's stay in the source group.
    ///
    /// - Parameters:
    ///   - member: The member, with their current layer and tags.
    ///   - facts: What the host knows beyond the member value.
    ///   - source: The group they are in now.
    ///   - target: A group, or a series to route through (the source group itself is skipped).
    ///   - instant: When the move happens.
    /// - Returns: The group they are now in, and the group a series opened for them, if any.
    /// - Throws: Everything ``join(_:facts:into:invitedBy:channel:at:)`` throws for the
    ///   destination, and ``FissionError/Code/notInGroup`` if they are not in `source`.
    /// - Complexity: O(*g*) in the groups of the destination series.
    @discardableResult
    public mutating func move(
        _ member: Member,
        facts: MemberFacts = .none,
        from source: GroupID,
        to target: JoinTarget,
        at instant: Timestamp
    ) throws(FissionError) -> JoinOutcome {
        let sourceIndex = try self.checkExit(of: member.id, from: source, at: instant)
        let inviter = self.records[sourceIndex].members[member.id]?.invitedBy
        let destination = try self.resolve(
            target,
            for: member,
            facts: facts,
            inviter: inviter,
            at: instant,
            leaving: sourceIndex
        )
        let destinationID =
            switch destination {
            case .existing(let index): self.records[index].group.id
            case .opening(let group, _): group.id
            }
        self.commitExit(of: member.id, from: sourceIndex, kind: .movedOut(to: destinationID), at: instant)
        let (index, opened) = self.commitEntry(
            of: member.id,
            into: destination,
            kind: .movedIn(from: source),
            membership: Membership(member: member.id, since: instant, invitedBy: nil, channel: nil),
            at: instant
        )
        return JoinOutcome(group: self.records[index].group.id, openedGroup: opened)
    }

    // MARK: - Checks (no changes)

    /// Finds where `member` would go, or throws why they cannot. `leaving` is a group the member
    /// is about to leave in the same operation.
    func resolve(
        _ target: JoinTarget,
        for member: Member,
        facts: MemberFacts,
        inviter: MemberID?,
        at instant: Timestamp,
        leaving: Int?
    ) throws(FissionError) -> Destination {
        switch target {
        case .group(let id):
            let index = try self.recordIndex(id)
            guard index != leaving else {
                throw FissionError(code: .alreadyInGroup, reason: "member \(member.id) is already in group \(id)")
            }
            try self.checkSeriesIsFree(for: member.id, seriesIndex: self.records[index].seriesIndex, leaving: leaving)
            let group = self.records[index].group
            guard !group.isArchived else {
                throw FissionError(code: .groupArchived, reason: "group \(id) is archived")
            }
            guard group.hasRoom else {
                throw FissionError(code: .groupFull, reason: "group \(id) has its \(group.capacity) members")
            }
            if let rule = group.entryRule {
                try self.checkRule(rule, group: id, member: member, facts: facts, inviter: inviter)
            }
            try self.checkAppend(to: index, at: instant)
            return .existing(index)
        case .series(let id):
            let seriesIndex = try self.seriesIndex(id)
            try self.checkSeriesIsFree(for: member.id, seriesIndex: seriesIndex, leaving: leaving)
            var firstRefusal: Int?
            for index in self.seriesGroupIndices[seriesIndex] where index != leaving {
                let group = self.records[index].group
                guard group.hasRoom else { continue }
                if let rule = group.entryRule,
                    !rule.isSatisfied(
                        by: member,
                        facts: facts,
                        policy: self.policy,
                        inviterIsMember: { group in
                            self.isMember(inviter, of: group)
                        }
                    )
                {
                    if firstRefusal == nil { firstRefusal = index }
                    continue
                }
                try self.checkAppend(to: index, at: instant)
                return .existing(index)
            }
            let series = self.seriesList[seriesIndex]
            if series.canGrow {
                if let rule = series.entryRule {
                    try self.checkRule(rule, group: nil, member: member, facts: facts, inviter: inviter)
                }
                return .opening(try self.nextGroup(seriesIndex: seriesIndex), seriesIndex: seriesIndex)
            }
            if let firstRefusal, let rule = self.records[firstRefusal].group.entryRule {
                let group = self.records[firstRefusal].group.id
                try self.checkRule(rule, group: group, member: member, facts: facts, inviter: inviter)
            }
            throw FissionError(
                code: .seriesFull,
                reason: "no group of series \(id) has room and it may not open more than \(series.maximumGroups)"
            )
        }
    }

    private func checkSeriesIsFree(for member: MemberID, seriesIndex: Int, leaving: Int?) throws(FissionError) {
        if let current = self.placements[Placement(member: member, seriesIndex: seriesIndex)], current != leaving {
            throw FissionError(
                code: .alreadyInGroup,
                reason: "member \(member) is already in group \(self.records[current].group.id) of series "
                    + "\(self.seriesList[seriesIndex].id)"
            )
        }
    }

    private func checkRule(
        _ rule: EntryRule,
        group: GroupID?,
        member: Member,
        facts: MemberFacts,
        inviter: MemberID?
    ) throws(FissionError) {
        let isMember = { (group: GroupID) in self.isMember(inviter, of: group) }
        guard !rule.isSatisfied(by: member, facts: facts, policy: self.policy, inviterIsMember: isMember) else {
            return
        }
        let explanation = rule.explain(for: member, facts: facts, policy: self.policy, inviterIsMember: isMember)
        let failed = explanation.failures.map(\.detail).joined(separator: "; ")
        throw FissionError(
            code: .entryRuleNotMet,
            reason: "member \(member.id) may not enter \(group.map { "group \($0)" } ?? "a new group"): \(failed)"
        )
    }

    private func checkAppend(to index: Int, at instant: Timestamp) throws(FissionError) {
        let record = self.records[index]
        if let last = record.log.last, instant < last.at {
            throw FissionError(
                code: .eventOutOfOrder,
                reason: "\(instant) is before group \(record.group.id)'s latest event at \(last.at)"
            )
        }
        guard record.log.count < CommunityGroup.maximumLogEntries else {
            throw FissionError(
                code: .membershipLogFull,
                reason: "group \(record.group.id)'s log holds \(CommunityGroup.maximumLogEntries) entries"
            )
        }
    }

    private func checkExit(of member: MemberID, from group: GroupID, at instant: Timestamp) throws(FissionError) -> Int
    {
        let index = try self.recordIndex(group)
        guard self.records[index].members[member] != nil else {
            throw FissionError(code: .notInGroup, reason: "member \(member) is not in group \(group)")
        }
        try self.checkAppend(to: index, at: instant)
        return index
    }

    // MARK: - Commits (no failures)

    private mutating func appendEvent(_ kind: MembershipEvent.Kind, member: MemberID, index: Int, at instant: Timestamp)
    {
        self.lastSequence += 1
        let event = MembershipEvent(
            sequence: self.lastSequence,
            group: self.records[index].group.id,
            member: member,
            at: instant,
            kind: kind
        )
        self.records[index].log.append(event)
    }

    private mutating func commitEntry(
        of member: MemberID,
        into destination: Destination,
        kind: MembershipEvent.Kind,
        membership: Membership,
        at instant: Timestamp
    ) -> (index: Int, opened: CommunityGroup?) {
        let index: Int
        let opened: CommunityGroup?
        switch destination {
        case .existing(let existing):
            index = existing
            opened = nil
        case .opening(let group, let seriesIndex):
            self.insert(group, seriesIndex: seriesIndex)
            index = self.records.count - 1
            opened = group
        }
        self.appendEvent(kind, member: member, index: index, at: instant)
        self.records[index].members[member] = membership
        self.records[index].group.memberCount += 1
        precondition(
            self.records[index].group.memberCount <= self.records[index].group.capacity,
            "group over capacity"
        )
        self.records[index].attribution.recordEntry(of: member, invitedBy: membership.invitedBy, at: instant)
        self.placements[Placement(member: member, seriesIndex: self.records[index].seriesIndex)] = index
        return (index, opened)
    }

    private mutating func commitExit(
        of member: MemberID,
        from index: Int,
        kind: MembershipEvent.Kind,
        at instant: Timestamp
    ) {
        self.appendEvent(kind, member: member, index: index, at: instant)
        self.records[index].members[member] = nil
        self.records[index].group.memberCount -= 1
        self.records[index].attribution.recordExit(of: member, at: instant)
        self.placements[Placement(member: member, seriesIndex: self.records[index].seriesIndex)] = nil
    }
}

extension GroupDirectory {
    /// How many members `inviter` brought into `group`: each invitee counted once, at their first
    /// join, and never taken back (the count anchors such as LinkWeChat keep).
    ///
    /// - Complexity: O(1).
    public func invitationCount(by inviter: MemberID, into group: GroupID) -> Int {
        self.recordIndices[group].map { self.records[$0].attribution.count(by: inviter) } ?? 0
    }

    /// The longest stay ``retainedInvitationCount(by:into:stayedDays:asOf:)`` asks for, in days.
    public static var maximumStayedDays: Int { 3_660 }

    /// How many members `inviter` brought into `group` who are still in it at `now` and have been
    /// for at least `stayedDays` days.
    ///
    /// An invitee counts when, at `now`:
    /// - their credited stay (the one that began with their first join into the group, which
    ///   ``invitationCount(by:into:)`` credits to `inviter`) has not ended: they have not left,
    ///   been removed or been moved out since; and
    /// - it has lasted at least `stayedDays` × 24 hours.
    ///
    /// So the count goes down when an invitee leaves: asked again after the leave, it no longer
    /// includes them, while ``invitationCount(by:into:)`` (the count existing tools keep) never
    /// goes down. An invitee who left and came back does not count again: coming back credits
    /// nobody. Asked for an earlier `now`, the count is what it was then. Use it for "bring 3
    /// friends into the group who stay a week" rewards: it keeps a removed advertiser from
    /// earning their inviter a gift.
    ///
    /// - Parameters:
    ///   - inviter: The inviter.
    ///   - group: The group; an unknown group counts 0.
    ///   - stayedDays: The days an invitee must have stayed, 0 to ``maximumStayedDays``.
    ///   - now: The moment to count at.
    /// - Throws: ``FissionError/Code/invalidStayedDays`` when `stayedDays` is out of range.
    /// - Complexity: O(*k*) in the inviter's invitees into the group.
    public func retainedInvitationCount(
        by inviter: MemberID,
        into group: GroupID,
        stayedDays: Int,
        asOf now: Timestamp
    ) throws(FissionError) -> Int {
        guard (0...Self.maximumStayedDays).contains(stayedDays) else {
            throw FissionError(
                code: .invalidStayedDays,
                reason: "stayedDays \(stayedDays) is outside 0...\(Self.maximumStayedDays)"
            )
        }
        guard let index = self.recordIndices[group] else { return 0 }
        return self.records[index].attribution.retainedCount(
            by: inviter,
            stayedMilliseconds: Int64(stayedDays) * Timestamp.millisecondsPerDay,
            asOf: now
        )
    }

    /// The members `inviter` is credited with bringing into `group`, in join order.
    ///
    /// - Complexity: O(*k*) in the inviter's invitees into the group.
    public func invitees(of inviter: MemberID, into group: GroupID) -> [MemberID] {
        self.recordIndices[group].flatMap { self.records[$0].attribution.invitees[inviter] } ?? []
    }
}
