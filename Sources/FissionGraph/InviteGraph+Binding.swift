public import FissionCore

extension InviteGraph {
    /// Registers a new member, optionally with the invitation they came through.
    ///
    /// Under ``BindingPolicy/Moment/registration`` the invitation binds at once; under
    /// ``BindingPolicy/Moment/firstOrder`` it is remembered and binds at ``attributeOrder(placedBy:at:)``.
    ///
    /// - Parameters:
    ///   - member: The new member's id.
    ///   - time: When they registered; not earlier than the graph's last change.
    ///   - inviter: The registered member whose invitation they accepted, if any.
    ///   - campaign: The campaign the invitation belonged to, for per-campaign counts.
    /// - Returns: The member's index (their join order).
    /// - Throws: ``FissionError/Code/selfInvite``, ``FissionError/Code/unknownMember`` (the inviter),
    ///   ``FissionError/Code/memberAlreadyRegistered``, ``FissionError/Code/identifierTooLong``,
    ///   ``FissionError/Code/capacityExceeded``, ``FissionError/Code/timeWentBackwards``. On a throw
    ///   the graph is unchanged.
    /// - Complexity: O(1) expected, plus O(depth) to bring the team sizes above the inviter up to date.
    @discardableResult
    public mutating func register(
        _ member: MemberID,
        at time: Timestamp,
        invitedBy inviter: MemberID? = nil,
        campaign: CampaignID? = nil
    ) throws(FissionError) -> MemberIndex {
        try Self.checkTime(time, latestChange: self.latestChange)
        try Self.checkLength(member, limit: self.maximumIdentifierUTF8Length)
        guard self.count < self.maximumMemberCount else {
            throw FissionError(code: .capacityExceeded, reason: "the graph holds its limit of \(self.count) members")
        }
        var inviterIndex: Int32 = -1
        if let inviter {
            guard !sameID(inviter, member) else {
                throw FissionError(code: .selfInvite, reason: "member \(member) cannot invite themselves")
            }
            guard let found = self.table.find(inviter) else {
                throw FissionError(code: .unknownMember, reason: "inviter \(inviter) is not registered")
            }
            inviterIndex = found
        }
        try Self.checkCampaignRoom(campaign, slots: self.campaignSlots, count: self.campaignIDs.count)
        // The last check, and the first change: the id map refuses a duplicate without changing.
        let index = Int32(self.count)
        guard self.table.appendIfAbsent(member) == nil else {
            throw FissionError(code: .memberAlreadyRegistered, reason: "member \(member) is already registered")
        }
        let now = time.millisecondsSinceEpoch
        let campaignSlot = inviterIndex >= 0 ? self.campaignSlot(interning: campaign) : -1
        let bindsNow = inviterIndex >= 0 && self.policy.moment == .registration
        if bindsNow {
            // Linking first touches only the inviter's and their ancestors' entries; their cache
            // misses then overlap with the appends below, which do not depend on them.
            self.linkNewMember(index, to: inviterIndex, campaign: campaignSlot)
        } else if inviterIndex >= 0 {
            self.pendingTouches[index] = PendingTouch(inviter: inviterIndex, campaign: campaignSlot, time: now)
        }
        // A new member's own entries are appended with their final values, not appended and then set.
        self.parent.append(bindsNow ? inviterIndex : -1)
        self.counters.append(Counters())
        self.boundAt.append(bindsNow ? now : Int64.min)
        self.bindingCampaign.append(bindsNow ? campaignSlot : -1)
        self.hasOrdered.append(false)
        self.latestChange = now
        return MemberIndex(rawValue: index)
    }

    /// Records that a registered member accepted another member's invitation (a touch).
    ///
    /// Whether it binds follows ``policy``: under ``BindingPolicy/Scope/newMembersOnly`` only the
    /// registration invitation counts; under ``BindingPolicy/Moment/firstOrder`` it waits for the
    /// first order; an existing binding gives way only when it is last-touch or its protection
    /// window has passed, and then the old edge is closed at `time` and a new one opened.
    ///
    /// Under ``BindingPolicy/Moment/firstOrder``, before the member's first order, one touch
    /// waits. With ``BindingPolicy/Duration/lastTouch`` each touch replaces the waiting one and
    /// the call returns ``BindingOutcome/pending``. With any other duration the first waiting
    /// touch (the registration invitation, or the first touch after it) is kept: a later touch is
    /// ignored, nothing changes (not even the graph's latest change), and the call returns
    /// ``BindingOutcome/unchanged``.
    ///
    /// A touch from the inviter the member is bound to returns ``BindingOutcome/unchanged`` under
    /// every policy, ``BindingPolicy/Scope/newMembersOnly`` included, and changes nothing; under
    /// ``BindingPolicy/Scope/newMembersOnly`` so does a touch from the inviter whose invitation
    /// waits for the member's first order.
    ///
    /// - Returns: What the touch did.
    /// - Throws: ``FissionError/Code/selfInvite``, ``FissionError/Code/unknownMember``,
    ///   ``FissionError/Code/inviteeJoinedFirst`` (the member registered before the inviter),
    ///   ``FissionError/Code/bindingClosed``, ``FissionError/Code/alreadyBound``,
    ///   ``FissionError/Code/bindingProtected``, ``FissionError/Code/capacityExceeded``,
    ///   ``FissionError/Code/timeWentBackwards``. On a throw the graph is unchanged.
    /// - Complexity: O(depth) for a binding; a rebinding adds O(invitees of the old inviter).
    @discardableResult
    public mutating func bind(
        _ member: MemberID,
        to inviter: MemberID,
        at time: Timestamp,
        campaign: CampaignID? = nil
    ) throws(FissionError) -> BindingOutcome {
        try Self.checkTime(time, latestChange: self.latestChange)
        guard !sameID(inviter, member) else {
            throw FissionError(code: .selfInvite, reason: "member \(member) cannot invite themselves")
        }
        let memberIndex = try Int32(self.requireIndex(member))
        let inviterIndex = try Int32(self.requireIndex(inviter))
        guard inviterIndex < memberIndex else {
            throw FissionError(
                code: .inviteeJoinedFirst,
                reason: "member \(member) joined before inviter \(inviter); an existing member cannot be referred"
            )
        }
        guard self.policy.scope == .allMembers else {
            // A touch from the member's own inviter changes nothing, as under the other scope: the
            // one they are bound to, or, before a first order binds, the one whose touch waits.
            if self.parent[Int(memberIndex)] == inviterIndex
                || self.pendingTouches[memberIndex]?.inviter == inviterIndex
            {
                return .unchanged
            }
            throw FissionError(
                code: .bindingClosed,
                reason: "the policy binds new members only, at registration; \(member) is already registered"
            )
        }
        try Self.checkCampaignRoom(campaign, slots: self.campaignSlots, count: self.campaignIDs.count)
        let now = time.millisecondsSinceEpoch

        if self.policy.moment == .firstOrder && !self.hasOrdered[Int(memberIndex)] {
            // Before the first order nothing is bound: remember the touch that will bind. Only
            // last touch replaces a waiting one; otherwise the first is kept and this one ignored.
            if self.pendingTouches[memberIndex] != nil && self.policy.duration != .lastTouch {
                return .unchanged
            }
            self.pendingTouches[memberIndex] = PendingTouch(
                inviter: inviterIndex,
                campaign: self.campaignSlot(interning: campaign),
                time: now
            )
            self.latestChange = now
            return .pending
        }

        let current = self.parent[Int(memberIndex)]
        if current == inviterIndex { return .unchanged }
        if current < 0 {
            self.attach(memberIndex, to: inviterIndex, campaign: self.campaignSlot(interning: campaign), at: now)
            self.latestChange = now
            return .bound
        }
        switch self.policy.duration {
        case .permanent:
            throw FissionError(
                code: .alreadyBound,
                reason: "member \(member) is bound for good to \(self.table.id(at: Int(current)))"
            )
        case .protectionWindow:
            let elapsed = now - self.boundAt[Int(memberIndex)]
            if let window = self.policy.protectionMilliseconds, elapsed < window {
                throw FissionError(
                    code: .bindingProtected,
                    reason: "member \(member)'s binding is protected for another \(window - elapsed) ms"
                )
            }
        case .lastTouch:
            break
        }
        guard self.closedEdges.count < Int(Int32.max) else {
            throw FissionError(code: .capacityExceeded, reason: "the binding history is full")
        }
        self.detach(memberIndex, at: now)
        self.attach(memberIndex, to: inviterIndex, campaign: self.campaignSlot(interning: campaign), at: now)
        self.latestChange = now
        return .rebound
    }

    /// Attributes an order: marks the member's first order (binding a pending invitation under
    /// ``BindingPolicy/Moment/firstOrder``) and returns the inviter the order is credited to.
    ///
    /// Store the result with the order: a later rebinding does not change whom a past order credited.
    ///
    /// - Returns: The member's inviter at `time`, or `nil` if they have none.
    /// - Throws: ``FissionError/Code/unknownMember``, ``FissionError/Code/timeWentBackwards``.
    /// - Complexity: O(1), or O(depth) when the first order binds.
    @discardableResult
    public mutating func attributeOrder(placedBy member: MemberID, at time: Timestamp) throws(FissionError) -> MemberID?
    {
        try Self.checkTime(time, latestChange: self.latestChange)
        let index = MemberIndex(rawValue: Int32(try self.requireIndex(member)))
        let inviter = try self.attributeOrder(placedBy: index, at: time)
        return inviter.map { self.table.id(at: Int($0.rawValue)) }
    }

    /// Attributes an order by the buyer's index, as the id-taking overload does, without hashing
    /// the id again: for a caller that has just looked the buyer up (the engine's order path).
    ///
    /// - Returns: The index of the member's inviter at `time`, or `nil` if they have none.
    /// - Throws: ``FissionError/Code/timeWentBackwards``.
    /// - Precondition: `index` is in `0..<count`.
    @discardableResult
    public mutating func attributeOrder(
        placedBy index: MemberIndex,
        at time: Timestamp
    ) throws(FissionError)
        -> MemberIndex?
    {
        try Self.checkTime(time, latestChange: self.latestChange)
        let memberIndex = self.checked(index)
        if !self.hasOrdered[memberIndex] {
            self.hasOrdered[memberIndex] = true
            if self.policy.moment == .firstOrder,
                let touch = self.pendingTouches.removeValue(forKey: Int32(memberIndex))
            {
                self.attach(
                    Int32(memberIndex),
                    to: touch.inviter,
                    campaign: touch.campaign,
                    at: time.millisecondsSinceEpoch
                )
            }
            self.latestChange = time.millisecondsSinceEpoch
        }
        let inviter = self.parent[memberIndex]
        return inviter < 0 ? nil : MemberIndex(rawValue: inviter)
    }

    /// Whether the member has placed their first order (as told by ``attributeOrder(placedBy:at:)``).
    ///
    /// - Throws: ``FissionError/Code/unknownMember``.
    public func hasOrdered(_ member: MemberID) throws(FissionError) -> Bool {
        try self.hasOrdered[self.requireIndex(member)]
    }

    /// The inviter whose invitation waits for the member's first order, if any.
    ///
    /// - Throws: ``FissionError/Code/unknownMember``.
    public func pendingInviter(of member: MemberID) throws(FissionError) -> MemberID? {
        let memberIndex = try self.requireIndex(member)
        return self.pendingTouches[Int32(memberIndex)].map { self.table.id(at: Int($0.inviter)) }
    }

    // MARK: Checks (before any change)

    // The checks take what they read rather than `self`: a non-mutating method called on `self`
    // inside a mutating one gets a copy of the whole struct (256 bytes) on every insert.

    @inline(__always)
    private static func checkTime(_ time: Timestamp, latestChange: Int64) throws(FissionError) {
        guard time.millisecondsSinceEpoch >= latestChange else {
            throw timeWentBackwards(time, latestChange: latestChange)
        }
    }

    private static func timeWentBackwards(_ time: Timestamp, latestChange: Int64) -> FissionError {
        FissionError(
            code: .timeWentBackwards,
            reason: "\(time) is before the graph's last change at \(Timestamp(unchecked: latestChange))"
        )
    }

    @inline(__always)
    private static func checkLength(_ member: MemberID, limit: Int) throws(FissionError) {
        if case .string(let string) = member.value, string.utf8.count > limit {
            throw FissionError(
                code: .identifierTooLong,
                reason: "member id is \(string.utf8.count) UTF-8 bytes; this graph accepts \(limit)"
            )
        }
    }

    @inline(__always)
    private static func checkCampaignRoom(
        _ campaign: CampaignID?,
        slots: [CampaignID: Int32],
        count: Int
    ) throws(FissionError) {
        guard let campaign, count >= Self.maximumCampaignCount, slots[campaign] == nil else { return }
        throw FissionError(
            code: .capacityExceeded,
            reason: "the graph already records \(Self.maximumCampaignCount) campaigns"
        )
    }

    // MARK: Changes (never throw)

    @inline(__always)
    private mutating func campaignSlot(interning campaign: CampaignID?) -> Int32 {
        guard let campaign else { return -1 }
        return self.campaignSlot(interning: campaign)
    }

    private mutating func campaignSlot(interning campaign: CampaignID) -> Int32 {
        if let slot = self.campaignSlots[campaign] { return slot }
        let slot = Int32(self.campaignIDs.count)
        self.campaignIDs.append(campaign)
        self.campaignSlots[campaign] = slot
        return slot
    }

    /// Links a member being registered (no invitees, no entries yet) under `inviter`: the insert's
    /// hot path, so it touches each array once, and the counters (the inviter's entry, the
    /// grandparent's, every ancestor's team size) in one access.
    private mutating func linkNewMember(_ member: Int32, to inviter: Int32, campaign: Int32) {
        let inviterPosition = Int(inviter)
        let entry = self.counters[inviterPosition]
        let field = self.inviteeBlocks.append(member, afterCount: Int(entry.direct), field: entry.inviteeBlock)
        self.counters.withUnsafeMutableBufferPointer { counters in
            self.parent.withUnsafeBufferPointer { parents in
                counters[inviterPosition].direct &+= 1
                counters[inviterPosition].inviteeBlock = field
                let grandparent = Int(parents[inviterPosition])
                if grandparent >= 0 { counters[grandparent].secondLevel &+= 1 }
                var ancestor = inviterPosition
                while ancestor >= 0 {
                    counters[ancestor].team &+= 1
                    ancestor = Int(parents[ancestor])
                }
            }
        }
        if campaign >= 0 {
            self.campaignInviteCounts[campaignKey(campaign, inviter), default: 0] += 1
        }
        self.boundCount += 1
    }

    /// Binds an unbound `member` under `inviter`, who joined earlier, and brings every count up to date.
    private mutating func attach(_ member: Int32, to inviter: Int32, campaign: Int32, at time: Int64) {
        let memberPosition = Int(member)
        let inviterPosition = Int(inviter)
        self.parent[memberPosition] = inviter
        self.boundAt[memberPosition] = time
        self.bindingCampaign[memberPosition] = campaign
        self.appendInvitee(member, to: inviterPosition)
        self.counters[inviterPosition].direct &+= 1
        self.counters[inviterPosition].secondLevel &+= self.counters[memberPosition].direct
        let grandparent = self.parent[inviterPosition]
        if grandparent >= 0 { self.counters[Int(grandparent)].secondLevel &+= 1 }
        // The member brings their own team along (they may have invited others while unbound).
        let moved = 1 &+ self.counters[memberPosition].team
        self.counters.withUnsafeMutableBufferPointer { counters in
            self.parent.withUnsafeBufferPointer { parents in
                var ancestor = Int(inviter)
                while ancestor >= 0 {
                    counters[ancestor].team &+= moved
                    ancestor = Int(parents[ancestor])
                }
            }
        }
        if campaign >= 0 {
            self.campaignInviteCounts[campaignKey(campaign, inviter), default: 0] += 1
        }
        self.boundCount += 1
    }

    /// Unbinds a bound `member`, closing their edge at `time`.
    private mutating func detach(_ member: Int32, at time: Int64) {
        let memberPosition = Int(member)
        let inviter = self.parent[memberPosition]
        let inviterPosition = Int(inviter)
        // Out of the inviter's block; the search and the shift are bounded by the inviter's direct count.
        self.removeInvitee(member, from: inviterPosition)
        self.counters[inviterPosition].direct &-= 1
        self.counters[inviterPosition].secondLevel &-= self.counters[memberPosition].direct
        let grandparent = self.parent[inviterPosition]
        if grandparent >= 0 { self.counters[Int(grandparent)].secondLevel &-= 1 }
        let moved = 1 &+ self.counters[memberPosition].team
        var ancestor = inviter
        while ancestor >= 0 {
            self.counters[Int(ancestor)].team &-= moved
            ancestor = self.parent[Int(ancestor)]
        }
        let campaign = self.bindingCampaign[memberPosition]
        if campaign >= 0 {
            let key = campaignKey(campaign, inviter)
            let remaining = (self.campaignInviteCounts[key] ?? 1) - 1
            self.campaignInviteCounts[key] = remaining == 0 ? nil : remaining
        }
        self.closedEdges.append(
            ClosedEdge(
                member: member,
                inviter: inviter,
                campaign: campaign,
                previous: self.latestClosedEdge[member] ?? -1,
                validFrom: self.boundAt[memberPosition],
                validTo: time
            )
        )
        self.latestClosedEdge[member] = Int32(self.closedEdges.count - 1)
        self.parent[memberPosition] = -1
        self.boundAt[memberPosition] = Int64.min
        self.bindingCampaign[memberPosition] = -1
        self.boundCount -= 1
    }
}

/// Whether two ids are the same member; integers compare without a call into FissionCore.
@inline(__always)
func sameID(_ lhs: MemberID, _ rhs: MemberID) -> Bool {
    switch (lhs.value, rhs.value) {
    case (.integer(let left), .integer(let right)): left == right
    case (.string(let left), .string(let right)): left.utf8.elementsEqual(right.utf8)
    default: false
    }
}

/// The key of a (campaign, inviter) count.
func campaignKey(_ campaign: Int32, _ inviter: Int32) -> UInt64 {
    UInt64(UInt32(bitPattern: campaign)) << 32 | UInt64(UInt32(bitPattern: inviter))
}
