public import FissionCore
public import FissionGraph
public import FissionGroups
public import FissionMembers
public import FissionRewards

/// The engine's state and its deterministic core: `(state, command, now) -> (state', effects)`.
///
/// ``FissionEngine`` wraps it with idempotency, persistence and concurrency; the state itself is a
/// plain value with no clock, no randomness and no I/O, so replaying the journal's commands at
/// their recorded times rebuilds it exactly. Read it through ``FissionEngine/state``.
public struct EngineState: Sendable {
    /// The invite graph: who invited whom.
    public internal(set) var graph: InviteGraph
    /// Campaigns, budgets and the ledger.
    public internal(set) var settlement: Settlement
    /// Groups, their members and logs.
    public internal(set) var groups: GroupDirectory
    /// The community's check-in board, in ``FissionEngine/Configuration/checkInOffset``: check-ins
    /// without a group, and those in groups of ``seriesOnTheCommunityBoard``.
    public internal(set) var checkIns: CheckInBoard
    /// Each group's check-in board, in the group's offset (``FissionGroups/CommunityGroup/offset``),
    /// made at the group's first check-in.
    public internal(set) var groupCheckIns: [GroupID: CheckInBoard] = [:]
    /// Series added before groups had check-in boards of their own (by an earlier Fission, read
    /// from its journal or snapshot): check-ins in their groups count on the community board, as
    /// they did then.
    public internal(set) var seriesOnTheCommunityBoard: Set<GroupSeriesID> = []
    /// Each moderated group's moderator.
    public internal(set) var moderators: [GroupID: GroupModerator] = [:]
    /// The registered members, as the group entry rules and check-ins see them, in registration
    /// order: position `i` is the member at the graph's ``MemberIndex`` `i`, so the order path
    /// reads them (and ``paidOrderCounts``) by the index it already found, hashing no id again.
    public internal(set) var registeredMembers: [Member] = []
    /// The published campaigns, in publishing order (the order they settle in).
    public internal(set) var campaignOrder: [CampaignID] = []
    /// The paused campaigns.
    public internal(set) var pausedCampaigns: Set<CampaignID> = []
    /// The engine's clock: the latest command's time. A command dated earlier is applied at it.
    public internal(set) var clock: Timestamp = .earliest
    var orders = OrderBook()
    /// The campaigns that settled the latest paid order (see `orderPaid`).
    private var lastSettledIn: [CampaignID] = []
    /// Each member's paid orders, at their graph index like ``registeredMembers``.
    var paidOrderCounts: [Int64] = []
    var models: [String: ModelSlot] = [:]
    /// Members' activity and layer states, once ``EngineCommand/trackActivity`` has applied.
    var layering: MemberLayering?
    /// Set when a command failed after changing part of the state: the engine must rebuild the
    /// state from its store before the next command.
    private(set) var isPoisoned = false

    struct OrderRecord: Hashable, Sendable {
        let order: OrderID
        let buyer: MemberID
        let paid: Money
        var refundedMinorUnits: Int64
        /// The campaigns that settled the order, which settle its refunds.
        let campaigns: [CampaignID]
        /// The community day (days since 1970) whose spend holds the order's net paid amount while
        /// refunds count (``activityCountsRefunds``), or ``notCounted``: its refunds lower that
        /// day's spend (Decision 0033).
        var paidDay: Int32 = Self.notCounted

        /// The ``paidDay`` of an order whose amount is not in its buyer's counted spend: paid
        /// while refunds did not count, or in another currency than the layering policy's.
        static let notCounted = Int32.min
    }

    /// An empty state for the configuration.
    init(configuration: FissionEngine.Configuration) {
        self.graph = configuration.makeGraph()
        self.settlement = Settlement()
        self.groups = GroupDirectory(policy: configuration.layeringPolicy)
        self.checkIns = Self.emptyBoard(
            offset: configuration.checkInOffset,
            settings: configuration.checkInSettings,
            capacity: configuration.checkInCapacity
        )
        for model in configuration.models {
            self.models[model.name] = ModelSlot(state: model.init())
        }
    }

    /// A campaign model's state, or `nil` if the engine was not configured with it.
    public func model<Model: CampaignModel>(_: Model.Type) -> Model? {
        self.models[Model.name]?.state as? Model
    }

    /// Whether a campaign is published, inside its window at `instant`, and not paused.
    public func isEarning(_ campaign: CampaignID, at instant: Timestamp) -> Bool {
        guard let definition = self.settlement.campaign(campaign) else { return false }
        return definition.isLive(at: instant) && !self.pausedCampaigns.contains(campaign)
    }

    /// A registered member, or `nil`.
    public func member(_ id: MemberID) -> Member? {
        self.graph.index(of: id).map { self.registeredMembers[Int($0.rawValue)] }
    }

    /// The registered members by id.
    ///
    /// - Complexity: O(n): builds a dictionary. Use ``member(_:)`` for one member and
    ///   ``registeredMembers`` to go through them all.
    public var members: [MemberID: Member] {
        Dictionary(uniqueKeysWithValues: self.registeredMembers.lazy.map { ($0.id, $0) })
    }

    /// How many paid orders a member has.
    public func paidOrderCount(of member: MemberID) -> Int64 {
        self.graph.index(of: member).map { self.paidOrderCounts[Int($0.rawValue)] } ?? 0
    }

    // MARK: - Applying commands

    /// Applies one command at `requestedTime` (or the clock, if that is later).
    ///
    /// Either the command applies completely, or it throws and the state is unchanged, or (for a
    /// failure the checks could not foresee, after part of the state changed) it throws and sets
    /// ``isPoisoned``.
    ///
    /// `form` is the earlier form a journaled command was written in: an `addGroupSeries` journaled
    /// before groups had check-in boards of their own (tag 9) adds a series whose groups keep
    /// counting check-ins on the community board, and a `trackActivity` journaled before refunds
    /// counted (tag 35) tracks without them, as each did when the entry was written. `replaying` is set for a command
    /// the journal holds: a check-in it committed is not refused for a board's capacity, which
    /// limits only new check-ins (another engine on the store may run a larger one).
    mutating func apply(
        _ command: EngineCommand,
        key: EventID,
        at requestedTime: Timestamp,
        form: EngineCommand.JournaledForm = [],
        replaying: Bool = false
    ) throws(FissionError) -> [EngineEffect] {
        let now = max(requestedTime, self.clock)
        var effects: [EngineEffect] = []
        // Room for an order's grants and a binding: one allocation instead of one per growth.
        effects.reserveCapacity(4)
        switch command {
        case .registerMember(let member, let inviter, let campaign, let channel):
            try self.register(
                member,
                inviter: inviter,
                campaign: campaign,
                channel: channel,
                key: key,
                at: now,
                &effects
            )
        case .bind(let member, let inviter, let campaign):
            guard self.graph.contains(member) else { throw Self.unknown(member) }
            let binding = try self.graph.bind(member, to: inviter, at: now, campaign: campaign)
            if binding == .bound || binding == .rebound {
                effects.append(.bound(member, inviter: inviter))
                // A first binding is an invitation that worked; a rebinding moves one.
                if binding == .bound { self.noteActivity(.invite, of: inviter, at: now) }
            }
        case .orderPaid(let order, let buyer, let kind, let lines):
            try self.orderPaid(order, buyer: buyer, kind: kind, lines: lines, key: key, at: now, &effects)
        case .orderRefunded(let order, let amount):
            try self.orderRefunded(order, amount: amount, key: key, at: now, &effects)
        case .fundCampaign(let campaign, let amount):
            let outcome = try self.settlement.fund(campaign, amount: amount, id: key, at: now)
            if let first = outcome.first { effects.append(.funded(campaign: campaign, first)) }
        case .publishCampaign(let campaign):
            try self.settlement.addCampaign(campaign)
            self.campaignOrder.append(campaign.id)
        case .pauseCampaign(let campaign):
            try self.requireCampaign(campaign)
            guard self.pausedCampaigns.insert(campaign).inserted else {
                throw FissionError(code: .invalidCampaignState, reason: "campaign \(campaign) is already paused")
            }
        case .resumeCampaign(let campaign):
            try self.requireCampaign(campaign)
            guard self.pausedCampaigns.remove(campaign) != nil else {
                throw FissionError(code: .invalidCampaignState, reason: "campaign \(campaign) is not paused")
            }
        case .addGroupSeries(let series):
            try self.groups.addSeries(series)
            if form.contains(.seriesOnTheCommunityBoard) { self.seriesOnTheCommunityBoard.insert(series.id) }
        case .addGroup(let group, let series):
            try self.groups.addGroup(group, to: series)
        case .setModeration(let group, let rules, let policy):
            guard self.groups.group(group) != nil else {
                throw FissionError(code: .groupNotFound, reason: "no group \(group)")
            }
            self.moderators[group] = GroupModerator(rules: rules, policy: policy)
        case .joinGroup(let member, let target, let inviter, let channel, let facts):
            guard let value = self.member(member) else { throw Self.unknown(member) }
            // An inviter must be registered, as at registration: the directory would credit an
            // unknown id, and whoever registered under it later would take the credit. A journal
            // written before this check may hold such a join; it replays as it was applied.
            if let inviter, !replaying, !self.graph.contains(inviter) { throw Self.unknown(inviter) }
            let joined = try self.groups.join(
                value,
                facts: facts,
                into: target,
                invitedBy: inviter,
                channel: channel,
                at: now
            )
            if let opened = joined.openedGroup { effects.append(.openGroup(opened)) }
            effects.append(.showGroup(joined.group, to: member))
        case .leaveGroup(let member, let group):
            guard self.graph.contains(member) else { throw Self.unknown(member) }
            try self.groups.leave(member, from: group, at: now)
        case .checkIn(let member, let activity, let group):
            guard let value = self.member(member) else { throw Self.unknown(member) }
            let receipt = try self.checkIn(value, activity: activity, group: group, at: now, replaying: replaying)
            effects.append(.checkedIn(member, activity: activity, receipt))
            // A make-up records no use: nothing was used that day.
            self.noteUse(of: member, at: now)
        case .setMemberTags(let member, let tags):
            guard let index = self.graph.index(of: member) else { throw Self.unknown(member) }
            self.registeredMembers[Int(index.rawValue)].tags = tags
        case .setMemberLayer(let member, let layer):
            guard let index = self.graph.index(of: member) else { throw Self.unknown(member) }
            // Ordinary too, every member's layer until one is set, whether or not the policy ranks it.
            guard layer == .ordinary || self.groups.policy.rank(of: layer) != nil else {
                throw FissionError(code: .unknownLayer, reason: "the layering policy has no layer \(layer)")
            }
            self.setLayer(layer, of: index, at: now)
        case .forgetCheckIns(let member):
            guard self.member(member) != nil else { throw Self.unknown(member) }
            self.checkIns.forget(member)
            // By key, so that no copy of the boards is held while each changes in place.
            for group in Array(self.groupCheckIns.keys) { self.groupCheckIns[group]!.forget(member) }
        case .messagePosted(let member, let group, let text):
            try self.messagePosted(member, group: group, text: text, at: now, &effects)
        case .advance:
            for posted in self.settlement.advance(to: now) { self.reportPosted(posted, &effects) }
        case .releaseHeldReward(let grant):
            let outcome = try self.settlement.release(grant, command: key, at: now)
            if !outcome.isDuplicate, let post = outcome.first { self.reportPosted(post, &effects) }
        case .rejectHeldReward(let grant):
            let outcome = try self.settlement.reject(grant, command: key, at: now)
            if !outcome.isDuplicate, let void = outcome.first,
                let campaign = self.settlement.ledger.transfer(grant)?.key?.campaign
            {
                effects.append(.reversed(campaign: campaign, void))
            }
        case .model(let command):
            try self.applyModel(command, key: key, at: now, &effects)
        case .archiveGroup(let group):
            try self.groups.archive(group)
        case .reactivateGroup(let group):
            try self.groups.reactivate(group)
        case .setGroupCapacity(let group, let capacity):
            try self.groups.setCapacity(capacity, of: group)
        case .removeFromGroup(let member, let group, let reason):
            guard self.graph.contains(member) else { throw Self.unknown(member) }
            try self.groups.remove(member, from: group, reason: reason, at: now)
            effects.append(.removeMember(member, group: group))
        case .moveMember(let member, let source, let target, let facts):
            guard let value = self.member(member) else { throw Self.unknown(member) }
            let moved = try self.groups.move(value, facts: facts, from: source, to: target, at: now)
            if let opened = moved.openedGroup { effects.append(.openGroup(opened)) }
            effects.append(.showGroup(moved.group, to: member))
        case .makeUpCheckIn(let member, let activity, let group, let day):
            guard let value = self.member(member) else { throw Self.unknown(member) }
            let receipt = try self.onBoard(for: value, in: group) { board, since throws(FissionError) in
                try board.makeUp(
                    value,
                    activity: activity,
                    day: day,
                    at: now,
                    inGroupSince: since,
                    ignoringCapacity: replaying
                )
            }
            effects.append(.checkedIn(member, activity: activity, receipt))
        case .pardonMember(let member, let group):
            guard self.graph.contains(member) else { throw Self.unknown(member) }
            guard self.groups.group(group) != nil else {
                throw FissionError(code: .groupNotFound, reason: "no group \(group)")
            }
            self.moderators[group]?.pardon(member)
        case .withdraw(let member, let amount):
            guard self.graph.contains(member) else { throw Self.unknown(member) }
            let withdrawal = try self.settlement.withdraw(amount, from: member, id: key, at: now)
            if let repaid = withdrawal.repaid, let repayment = withdrawal.repayment {
                effects.append(.debtRepaid(member, amount: repaid, transfer: repayment))
            }
            effects.append(.withdrawn(member, amount: withdrawal.amount, transfer: withdrawal.payout))
        case .writeOffDebt(let member, let amount):
            guard self.graph.contains(member) else { throw Self.unknown(member) }
            let writeOff = try self.settlement.writeOffDebt(amount, of: member, id: key, at: now)
            effects.append(.debtWrittenOff(member, amount: writeOff.amount, transfer: writeOff.transfer))
        case .trackActivity:
            try self.startTrackingActivity(at: now, countingRefunds: !form.contains(.activityWithoutRefunds))
        case .recordActivity(let member, let kind):
            try self.recordActivity(kind, of: member, at: now)
        case .evaluateLayers(let day):
            try self.evaluateLayers(on: day, at: now, &effects)
        case .unpinMemberLayer(let member):
            try self.unpinLayer(of: member)
        case .recordRefund(let member, let amount, let day):
            try self.recordRefund(amount, of: member, paidOn: day, at: now)
        }
        self.clock = now
        return effects
    }

    /// The check-in board a check-in in `group` counts on: the community's for `nil` or a group of
    /// a series in ``seriesOnTheCommunityBoard``; otherwise the group's own, or `nil` before its
    /// first check-in (or for a group that does not exist).
    public func checkInBoard(for group: GroupID?) -> CheckInBoard? {
        guard let group else { return self.checkIns }
        return self.countsOnTheCommunityBoard(group) ? self.checkIns : self.groupCheckIns[group]
    }

    /// Whether check-ins in `group` count on the community board: its series was added before
    /// groups had boards of their own.
    private func countsOnTheCommunityBoard(_ group: GroupID) -> Bool {
        self.groups.series(of: group).map { self.seriesOnTheCommunityBoard.contains($0) } ?? false
    }

    /// Checks `member` in: on the community board without a group; with one, on the group's own
    /// board, in the group's offset, from the member's join (or on the community board, for a
    /// group of a series added before groups had boards).
    private mutating func checkIn(
        _ member: Member,
        activity: CheckInActivityID,
        group: GroupID?,
        at now: Timestamp,
        replaying: Bool
    ) throws(FissionError) -> CheckInReceipt {
        try self.onBoard(for: member, in: group) { board, since throws(FissionError) in
            try board.checkIn(member, activity: activity, at: now, inGroupSince: since, ignoringCapacity: replaying)
        }
    }

    /// Runs `body` on the board a check-in of `member` in `group` counts on, with when the member
    /// entered the group (`nil` without one): the community's board without a group or for a
    /// group of a series in ``seriesOnTheCommunityBoard``, the group's own board otherwise.
    ///
    /// - Throws: ``FissionError/Code/groupNotFound``; ``FissionError/Code/notInGroup``; what
    ///   `body` throws, with the boards unchanged.
    private mutating func onBoard(
        for member: Member,
        in group: GroupID?,
        _ body: (inout CheckInBoard, Timestamp?) throws(FissionError) -> CheckInReceipt
    ) throws(FissionError) -> CheckInReceipt {
        var since: Timestamp?
        var boardGroup: CommunityGroup?
        if let group {
            guard let value = self.groups.group(group) else {
                throw FissionError(code: .groupNotFound, reason: "no group \(group)")
            }
            guard let membership = self.groups.membership(of: member.id, in: group) else {
                throw FissionError(code: .notInGroup, reason: "member \(member.id) is not in group \(group)")
            }
            since = membership.since
            if !self.countsOnTheCommunityBoard(group) { boardGroup = value }
        }
        guard let boardGroup else { return try body(&self.checkIns, since) }
        // Taken out of the table while it changes, so that it is the only reference (no copy of its
        // streaks) and a new one can be dropped again: a group's board is made at its first
        // check-in and kept only if that check-in counts. A board that throws is unchanged.
        let existed = self.groupCheckIns[boardGroup.id] != nil
        var board =
            self.groupCheckIns.removeValue(forKey: boardGroup.id)
            ?? Self.emptyBoard(
                offset: boardGroup.offset,
                settings: self.checkIns.settings,
                capacity: self.checkIns.capacity
            )
        do throws(FissionError) {
            let receipt = try body(&board, since)
            self.groupCheckIns[boardGroup.id] = board
            return receipt
        } catch {
            if existed { self.groupCheckIns[boardGroup.id] = board }
            throw error
        }
    }

    /// An empty check-in board of the configured capacity (`validate()` checked it is 1 or more,
    /// which an empty board always takes).
    static func emptyBoard(offset: UTCOffset, settings: CheckInSettings, capacity: Int) -> CheckInBoard {
        var board = CheckInBoard(offset: offset, settings: settings)
        do {
            try board.setCapacity(capacity)
        } catch {
            preconditionFailure("an empty board takes any capacity validate() accepts: \(error)")
        }
        return board
    }

    private mutating func register(
        _ member: MemberID,
        inviter: MemberID?,
        campaign: CampaignID?,
        channel: String?,
        key: EventID,
        at now: Timestamp,
        _ effects: inout [EngineEffect]
    ) throws(FissionError) {
        let source = try JoinSource(channel: channel, invitedBy: inviter)
        try self.graph.register(member, at: now, invitedBy: inviter, campaign: campaign)
        // The graph gave the member the next index: the tables grow in step with it.
        assert(self.registeredMembers.count == self.graph.count - 1, "the member tables left the graph's indices")
        self.registeredMembers.append(Member(id: member, joinedAt: now, source: source))
        self.paidOrderCounts.append(0)
        self.trackNewMember(at: now)
        let bound = self.boundInviter(of: member)
        if let bound {
            effects.append(.bound(member, inviter: bound))
            self.noteActivity(.invite, of: bound, at: now)
        }
        let event = RewardEvent.memberRegistered(member: member, inviter: bound, at: now)
        for campaign in self.campaignOrder where self.isEarning(campaign, at: now) {
            try self.settleAfterChange(event, key: key, campaign: campaign, &effects)
        }
    }

    private mutating func orderPaid(
        _ order: OrderID,
        buyer: MemberID,
        kind: OrderKind,
        lines: [OrderPaid.Line],
        key: EventID,
        at now: Timestamp,
        _ effects: inout [EngineEffect]
    ) throws(FissionError) {
        // The one hash of the buyer's id: everything after reads by the graph index.
        guard let buyerIndex = self.graph.index(of: buyer) else { throw Self.unknown(buyer) }
        guard self.orders.position(of: order) == nil else {
            throw FissionError(code: .duplicateOrder, reason: "order \(order) was reported paid already")
        }
        let count = self.paidOrderCounts[Int(buyerIndex.rawValue)] + 1
        let wasBound = self.graph.inviter(of: buyerIndex) != nil
        // The order is validated before anything changes. When invitations bind at registration,
        // the first order binds nothing, so the inviters are known now; under first-order binding
        // a probe without inviters validates the lines and the inviters come after the binding.
        let bindsAtFirstOrder = self.graph.policy.moment == .firstOrder && !wasBound
        let attributed = try OrderPaid(
            order: order,
            buyer: buyer,
            inviters: bindsAtFirstOrder ? [] : self.commissionInviters(of: buyerIndex),
            kind: kind,
            buyerPaidOrderCount: count,
            lines: lines,
            at: now
        )
        let paid: OrderPaid
        do {
            try self.graph.attributeOrder(placedBy: buyerIndex, at: now)
            if bindsAtFirstOrder {
                let inviters = try self.commissionInviters(of: buyerIndex)
                paid =
                    inviters.isEmpty
                    ? attributed
                    : try OrderPaid(
                        order: order,
                        buyer: buyer,
                        inviters: inviters,
                        kind: kind,
                        buyerPaidOrderCount: count,
                        lines: lines,
                        at: now
                    )
            } else {
                paid = attributed
            }
        } catch {
            self.isPoisoned = true
            throw error
        }
        if !wasBound, let inviter = paid.inviters.first {
            effects.append(.bound(buyer, inviter: inviter))
            self.noteActivity(.invite, of: inviter, at: now)
        }
        let currency = paid.netPaid.currency
        // The campaigns that settle it: as a rule the previous order's, whose array the record then
        // shares instead of allocating its own. `settledIn` is made only when they differ.
        var settledIn: [CampaignID]? = nil
        var matched = 0
        let event = RewardEvent.orderPaid(paid)
        for campaign in self.campaignOrder {
            // An earning campaign (as ``isEarning(_:at:)`` says, asked of the settlement without
            // copying the campaign's definition) settles orders in its own currency only.
            guard self.settlement.isLive(campaign, in: currency, at: now), !self.pausedCampaigns.contains(campaign)
            else { continue }
            try self.settleAfterChange(event, key: key, campaign: campaign, &effects)
            if settledIn == nil {
                if matched < self.lastSettledIn.count, self.lastSettledIn[matched] == campaign {
                    matched += 1
                    continue
                }
                settledIn = Array(self.lastSettledIn[0..<matched])
            }
            settledIn?.append(campaign)
        }
        let campaigns =
            settledIn
            ?? (matched == self.lastSettledIn.count ? self.lastSettledIn : Array(self.lastSettledIn[0..<matched]))
        self.lastSettledIn = campaigns
        let paidDay = self.noteOrderSpend(paid.netPaid, of: buyerIndex, at: now)
        // Absent: checked on entry, and nothing since has added an order.
        self.orders.append(
            OrderRecord(
                order: order,
                buyer: buyer,
                paid: paid.netPaid,
                refundedMinorUnits: 0,
                campaigns: campaigns,
                paidDay: paidDay
            )
        )
        self.paidOrderCounts[Int(buyerIndex.rawValue)] = count
    }

    private mutating func orderRefunded(
        _ order: OrderID,
        amount: Money,
        key: EventID,
        at now: Timestamp,
        _ effects: inout [EngineEffect]
    ) throws(FissionError) {
        guard let position = self.orders.position(of: order) else {
            throw FissionError(code: .orderNotFound, reason: "order \(order) was never reported paid")
        }
        var record = self.orders.records[position]
        guard amount.currency == record.paid.currency else {
            throw FissionError(
                code: .currencyMismatch,
                reason: "order \(order) was paid in \(record.paid.currency), refund is in \(amount.currency)"
            )
        }
        // The settlement's own rule, checked here before any campaign settles the refund.
        let refunded = try OrderRefund.refundedTotal(
            of: order,
            paid: record.paid,
            refunded: record.refundedMinorUnits,
            adding: amount
        )
        let event = RewardEvent.orderRefunded(order: order, amount: amount, at: now)
        // Refunds settle in every campaign that settled the order, paused or ended.
        for campaign in record.campaigns {
            try self.settleAfterChange(
                event,
                key: key,
                campaign: campaign,
                &effects,
                isFirstChange: campaign == record.campaigns.first
            )
        }
        record.refundedMinorUnits = refunded
        self.orders.replace(at: position, with: record)
        self.noteRefund(amount, of: record)
    }

    private mutating func messagePosted(
        _ member: MemberID,
        group: GroupID,
        text: String,
        at now: Timestamp,
        _ effects: inout [EngineEffect]
    ) throws(FissionError) {
        guard self.graph.contains(member) else { throw Self.unknown(member) }
        guard self.groups.group(group) != nil else {
            throw FissionError(code: .groupNotFound, reason: "no group \(group)")
        }
        guard self.groups.isMember(member, of: group) else {
            throw FissionError(code: .notInGroup, reason: "member \(member) is not in group \(group)")
        }
        // The limit a moderated group's rules apply, for every group: the journal keeps each message.
        let length = text.utf8.count
        guard length <= ModerationRules.maximumTextUTF8Length else {
            throw FissionError(
                code: .messageTooLong,
                reason: "a message of \(length) UTF-8 bytes; at most \(ModerationRules.maximumTextUTF8Length)"
            )
        }
        guard self.moderators[group] != nil else { return self.noteActivity(.message, of: member, at: now) }
        let decision = try self.moderators[group]!.review(text, from: member, at: now)
        // A message that broke a rule does not count toward the member's layer.
        if decision.hits.isEmpty { self.noteActivity(.message, of: member, at: now) }
        switch decision.action {
        case .none: break
        case .warn: effects.append(.warnMember(member, group: group))
        case .mute(let until): effects.append(.muteMember(member, group: group, until: until))
        case .remove:
            do {
                try self.groups.remove(member, from: group, reason: .moderation, at: now)
            } catch {
                self.isPoisoned = true
                throw error
            }
            effects.append(.removeMember(member, group: group))
        }
        if decision.flagForStaff && !decision.hits.isEmpty { effects.append(.flagForStaff(member, group: group)) }
    }

    private mutating func applyModel(
        _ command: ModelCommand,
        key: EventID,
        at now: Timestamp,
        _ effects: inout [EngineEffect]
    ) throws(FissionError) {
        guard self.models[command.model] != nil else {
            throw FissionError(code: .unknownModel, reason: "the engine has no campaign model \"\(command.model)\"")
        }
        let step = try self.modelStep(command, key: key, at: now)
        var campaigns: Set<CampaignID> = []
        for request in step.rewardEvents {
            // One settlement id per campaign and command: the command's key.
            guard campaigns.insert(request.campaign).inserted else {
                self.isPoisoned = true
                throw FissionError(
                    code: .invalidModelStep,
                    reason: "model \(command.model) asked to settle twice in campaign \(request.campaign)"
                )
            }
            guard self.isEarning(request.campaign, at: now) else { continue }
            try self.settleAfterChange(request.event, key: key, campaign: request.campaign, &effects)
        }
        for payload in step.effects { effects.append(.model(name: command.model, payload: payload)) }
    }

    /// Runs the model in its own scope, so the context's copies of the graph and the settlement
    /// are released before the settlement changes (and are never copied).
    private mutating func modelStep(
        _ command: ModelCommand,
        key: EventID,
        at now: Timestamp
    ) throws(FissionError)
        -> CampaignModelStep
    {
        let context = CampaignModelContext(
            now: now,
            key: key,
            graph: self.graph,
            settlement: self.settlement,
            earningCampaigns: self.campaignOrder.filter { self.isEarning($0, at: now) }
        )
        return try self.models[command.model]!.apply(payload: command.payload, context: context)
    }

    // MARK: - Helpers

    /// Settles an event after an earlier part of the command changed the state: a failure here
    /// cannot be undone in place, so it marks the state for a rebuild.
    private mutating func settleAfterChange(
        _ event: RewardEvent,
        key: EventID,
        campaign: CampaignID,
        _ effects: inout [EngineEffect],
        isFirstChange: Bool = false
    ) throws(FissionError) {
        let outcome: SettlementOutcome
        do {
            outcome = try self.settlement.settle(event, id: key, campaign: campaign)
        } catch {
            // Settlement leaves itself unchanged when it throws; only an earlier change is a problem.
            if !isFirstChange { self.isPoisoned = true }
            throw error
        }
        for grant in outcome.grants {
            effects.append(.granted(campaign: campaign, RewardGrant(grant)))
            if !grant.isHeld, case .coupon(let type) = grant.amount.unit {
                effects.append(
                    .issueCoupon(
                        to: grant.beneficiary,
                        type: type,
                        quantity: grant.amount.quantity,
                        transfer: grant.transfer
                    )
                )
            }
        }
        for skip in outcome.skipped {
            effects.append(
                .skipped(
                    campaign: campaign,
                    rule: skip.rule,
                    beneficiary: skip.beneficiary,
                    amount: skip.amount,
                    reason: skip.reason
                )
            )
        }
        for reversal in outcome.reversals { effects.append(.reversed(campaign: campaign, reversal)) }
    }

    private func reportPosted(_ post: TransferID, _ effects: inout [EngineEffect]) {
        guard let transfer = self.settlement.ledger.transfer(post) else { return }
        var beneficiary: MemberID?
        if case .wallet(let member) = transfer.credit.owner { beneficiary = member }
        guard let amount = try? RewardAmount(transfer.amount, transfer.unit) else { return }
        effects.append(.posted(post, beneficiary: beneficiary, amount: amount))
        if let beneficiary, case .coupon(let type) = transfer.unit {
            effects.append(.issueCoupon(to: beneficiary, type: type, quantity: transfer.amount, transfer: post))
        }
    }

    /// The inviters an order's commission goes to, nearest first.
    private func commissionInviters(of buyer: MemberIndex) throws(FissionError) -> [MemberID] {
        let ancestors = try self.graph.ancestors(of: buyer, upTo: RewardRule.maximumCommissionLevels)
        // Array literals of the exact size: one allocation, where mapping grew the array twice.
        switch ancestors.count {
        case 0: return []
        case 1: return [self.graph.member(at: ancestors[0])]
        case 2: return [self.graph.member(at: ancestors[0]), self.graph.member(at: ancestors[1])]
        default: return ancestors.map { self.graph.member(at: $0) }
        }
    }

    private func boundInviter(of member: MemberID) -> MemberID? {
        (try? self.graph.inviter(of: member)) ?? nil
    }

    private func requireCampaign(_ campaign: CampaignID) throws(FissionError) {
        guard self.settlement.campaign(campaign) != nil else {
            throw FissionError(code: .campaignNotFound, reason: "no campaign \(campaign)")
        }
    }

    static func unknown(_ member: MemberID) -> FissionError {
        FissionError(code: .unknownMember, reason: "member \(member) is not registered")
    }
}

extension FissionError.Code {
    /// A pause of a paused campaign, or a resume of one that is not paused.
    public static let invalidCampaignState = Self("invalidCampaignState")
    /// A model command for a campaign model the engine was not configured with.
    public static let unknownModel = Self("unknownModel")
    /// A model command whose payload does not decode as the model's command (a
    /// ``ModelCommand`` built by hand rather than by ``EngineCommand/model(_:of:)``).
    public static let invalidModelCommand = Self("invalidModelCommand")
    /// A campaign model returned a step the engine cannot apply (two settlements in one campaign).
    public static let invalidModelStep = Self("invalidModelStep")
}

extension EngineEffect {
    /// The effect of a check-in or a make-up that `receipt` records.
    fileprivate static func checkedIn(
        _ member: MemberID,
        activity: CheckInActivityID,
        _ receipt: CheckInReceipt
    ) -> EngineEffect {
        .checkedIn(
            member,
            activity: activity,
            day: receipt.day,
            streak: receipt.streak.current,
            milestonesReached: receipt.milestonesReached
        )
    }
}
