import FissionCore

struct MemberRuleKey: Hashable, Sendable {
    let rule: Int
    let member: MemberID
}

struct DailyKey: Hashable, Sendable {
    let rule: Int
    let member: MemberID
    let day: Int64
}

struct MilestoneKey: Hashable, Sendable {
    let rule: Int
    let invitee: MemberID
    let milestone: Milestone
}

struct Counter: Sendable {
    var count: Int64 = 0
    var quantity: Int64 = 0
}

/// A grant tied to an order, so a refund can void or reverse its share.
struct OrderGrant: Sendable {
    let transfer: TransferID
    let rule: RuleID
    let beneficiary: MemberID
    let part: Int32
    let quantity: Int64
    var undone: Int64 = 0
}

struct OrderRecord: Sendable {
    let paid: Money
    var refundedMinorUnits: Int64 = 0
    /// The order's grants are `orderGrants[firstGrant..<firstGrant + grantCount]`: one event made
    /// them all, so they are consecutive, and no order needs an array of its own.
    var firstGrant: Int32 = 0
    var grantCount: Int32 = 0
}

/// Ladder progress of one inviter under one rule.
struct LadderProgress: Sendable {
    var paidInvites: Int64 = 0
    var paidQuantity: Int64 = 0
}

/// One grant to make, decided before anything is written.
struct PlannedGrant {
    let ruleIndex: Int
    let beneficiary: MemberID
    let part: Int32
    let amount: RewardAmount
    let holdUntil: Timestamp?
    /// For a milestone grant: the friend who reached the milestone.
    var invitee: MemberID? = nil
}

/// Everything a settlement remembers about one campaign.
struct CampaignState: Sendable {
    let campaign: RewardCampaign
    let ruleIndex: [RuleID: Int]
    var registrations: [MemberID: MemberID?] = [:]
    var inviteCounts: [MemberID: Int64] = [:]
    var ladders: [MemberRuleKey: LadderProgress] = [:]
    var milestonesGranted: Set<MilestoneKey> = []
    var orders: [OrderID: OrderRecord] = [:]
    var orderGrants: [OrderGrant] = []
    var memberCounters: [MemberRuleKey: Counter] = [:]
    var dailyCounters: [DailyKey: Int64] = [:]
    var ruleTotals: [Int64]
    /// Reused buffers, so settling an event allocates nothing once they have grown.
    private var scratch = Scratch()

    init(campaign: RewardCampaign) {
        self.campaign = campaign
        var index: [RuleID: Int] = [:]
        for (position, rule) in campaign.rules.enumerated() { index[rule.id] = position }
        self.ruleIndex = index
        self.ruleTotals = Array(repeating: 0, count: campaign.rules.count)
    }

    /// Applies `event`: validates and plans, writes the grants to the ledger, then updates the state.
    ///
    /// Nothing in `self` changes before the last call that can throw, so a failure leaves the state
    /// as it was; the caller rolls back whatever reached the ledger.
    mutating func apply(
        _ event: RewardEvent,
        id: EventID,
        ledger: inout Ledger,
        outcome: inout SettlementOutcome
    ) throws(FissionError) {
        switch event {
        case .memberRegistered(let member, let inviter, let at):
            try self.requireLive(at, id)
            guard self.registrations[member] == nil else {
                throw FissionError(
                    code: .duplicateRegistration,
                    reason: "\(member) already registered in \(self.campaign.id)"
                )
            }
            guard inviter != member else {
                throw FissionError(code: .selfReferral, reason: "\(member) cannot invite themselves")
            }
            let inviteCount = try (inviter.map { self.inviteCounts[$0] ?? 0 } ?? 0).checkedAdding(1, "invite count")
            var plan = self.takePlan()
            self.planRegistration(member: member, inviter: inviter, inviteCount: inviteCount, at: at, into: &plan)
            try self.grant(plan, source: id, at: at, order: nil, ledger: &ledger, outcome: &outcome)
            self.returnPlan(plan)
            self.registrations[member] = inviter
            if let inviter { self.inviteCounts[inviter] = inviteCount }
        case .orderPaid(let order):
            try self.requireLive(order.at, id)
            guard self.orders[order.order] == nil else {
                throw FissionError(
                    code: .duplicateOrder,
                    reason: "order \(order.order) was already paid in \(self.campaign.id)"
                )
            }
            guard order.netPaid.currency == self.campaign.currency else {
                throw FissionError(
                    code: .currencyMismatch,
                    reason:
                        "order \(order.order) is in \(order.netPaid.currency); campaign is in \(self.campaign.currency)"
                )
            }
            var plan = self.takePlan()
            try self.planOrder(order, into: &plan)
            self.orders[order.order] = OrderRecord(paid: order.netPaid)
            try self.grant(plan, source: id, at: order.at, order: order.order, ledger: &ledger, outcome: &outcome)
            self.returnPlan(plan)
        case .orderRefunded(let order, let amount, let at):
            try self.refund(order, amount: amount, source: id, at: at, ledger: &ledger, outcome: &outcome)
        case .helped(let sharer, let helper, let at):
            try self.requireLive(at, id)
            guard sharer != helper else {
                throw FissionError(code: .selfReferral, reason: "\(sharer) cannot help their own share")
            }
            var plan = self.takePlan()
            for (index, rule) in self.campaign.rules.enumerated() {
                guard case .mutual(let sharerAmount, let helperAmount) = rule.shape else { continue }
                plan.append(.init(ruleIndex: index, beneficiary: sharer, part: 0, amount: sharerAmount, holdUntil: nil))
                plan.append(.init(ruleIndex: index, beneficiary: helper, part: 1, amount: helperAmount, holdUntil: nil))
            }
            try self.grant(plan, source: id, at: at, order: nil, ledger: &ledger, outcome: &outcome)
            self.returnPlan(plan)
        }
    }

    /// The reusable plan buffer, moved out so it stays uniquely referenced while in use.
    private mutating func takePlan() -> [PlannedGrant] {
        var plan: [PlannedGrant] = []
        swap(&plan, &self.scratch.plan)
        return plan
    }

    private mutating func returnPlan(_ plan: [PlannedGrant]) {
        self.scratch.plan = plan
        self.scratch.plan.removeAll(keepingCapacity: true)
    }

    private func requireLive(_ at: Timestamp, _ id: EventID) throws(FissionError) {
        guard self.campaign.isLive(at: at) else {
            throw FissionError(
                code: .outsideCampaignWindow,
                reason: "event \(id) at \(at) is outside campaign \(self.campaign.id) "
                    + "(\(self.campaign.startsAt) to \(self.campaign.endsAt))"
            )
        }
    }

    // MARK: - Planning

    private func holdUntil(_ rule: RewardRule, from at: Timestamp) -> Timestamp? {
        guard rule.holdDays > 0 else { return nil }
        return Timestamp(unchecked: at.millisecondsSinceEpoch + rule.holdDays * Timestamp.millisecondsPerDay)
    }

    private func planRegistration(
        member: MemberID,
        inviter: MemberID?,
        inviteCount count: Int64,
        at: Timestamp,
        into plan: inout [PlannedGrant]
    ) {
        guard let inviter else { return }
        for (index, rule) in self.campaign.rules.enumerated() {
            let hold = self.holdUntil(rule, from: at)
            switch rule.shape {
            case .inviteFixed(let amount):
                plan.append(.init(ruleIndex: index, beneficiary: inviter, part: 0, amount: amount, holdUntil: hold))
            case .milestoneSplit(let total, let weights):
                if let amount = Self.milestoneAmount(.registered, total: total, weights: weights) {
                    plan.append(
                        .init(
                            ruleIndex: index,
                            beneficiary: inviter,
                            part: Milestone.registered.rawValue,
                            amount: amount,
                            holdUntil: hold,
                            invitee: member
                        )
                    )
                }
            case .ladder(let unit, let tiers, let semantics):
                let progress = self.ladders[MemberRuleKey(rule: index, member: inviter)] ?? LadderProgress()
                let rate = Self.ladderRate(tiers, count: count)
                if rate > 0, let amount = try? RewardAmount(rate, unit) {
                    plan.append(.init(ruleIndex: index, beneficiary: inviter, part: 0, amount: amount, holdUntil: hold))
                }
                if semantics == .retroactive {
                    let topUp = progress.paidInvites * rate - progress.paidQuantity
                    if topUp > 0, let amount = try? RewardAmount(topUp, unit) {
                        plan.append(
                            .init(ruleIndex: index, beneficiary: inviter, part: 1, amount: amount, holdUntil: hold)
                        )
                    }
                }
            case .orderFixed, .commission, .mutual:
                continue
            }
        }
    }

    private func planOrder(_ order: OrderPaid, into plan: inout [PlannedGrant]) throws(FissionError) {
        let unit = LedgerUnit.money(order.netPaid.currency)
        for (index, rule) in self.campaign.rules.enumerated() {
            guard !rule.eligibility.excludedOrderKinds.contains(order.kind) else { continue }
            if rule.eligibility.firstOrderOnly, order.buyerPaidOrderCount != 1 { continue }
            if rule.eligibility.newMembersOnly, self.registrations[order.buyer] == nil { continue }
            let hold = self.holdUntil(rule, from: order.at)
            switch rule.shape {
            case .orderFixed(let amount):
                plan.append(.init(ruleIndex: index, beneficiary: order.buyer, part: 0, amount: amount, holdUntil: hold))
            case .commission(let rates, let overrides):
                for (level, beneficiary) in order.inviters.prefix(rates.count).enumerated() {
                    let quantity = try Self.commission(order, level: level, rate: rates[level], overrides: overrides)
                    if quantity > 0 {
                        plan.append(
                            .init(
                                ruleIndex: index,
                                beneficiary: beneficiary,
                                part: Int32(level + 1),
                                amount: try RewardAmount(quantity, unit),
                                holdUntil: hold
                            )
                        )
                    }
                }
            case .milestoneSplit(let total, let weights):
                guard let inviter = self.registrations[order.buyer] ?? nil else { continue }
                let milestone: Milestone? =
                    switch order.buyerPaidOrderCount {
                    case 1: .firstOrder
                    case 2: .repurchase
                    default: nil
                    }
                guard let milestone,
                    !self.milestonesGranted.contains(
                        MilestoneKey(rule: index, invitee: order.buyer, milestone: milestone)
                    ),
                    let amount = Self.milestoneAmount(milestone, total: total, weights: weights)
                else { continue }
                plan.append(
                    .init(
                        ruleIndex: index,
                        beneficiary: inviter,
                        part: milestone.rawValue,
                        amount: amount,
                        holdUntil: hold,
                        invitee: order.buyer
                    )
                )
            case .inviteFixed, .ladder, .mutual:
                continue
            }
        }
    }

    private static func commission(
        _ order: OrderPaid,
        level: Int,
        rate: BasisPoints,
        overrides: [RewardRule.SKUOverride]
    ) throws(FissionError) -> Int64 {
        var total: Int64 = 0
        for line in order.lines {
            let share: Int64
            if let override = overrides.first(where: { $0.sku == line.sku }) {
                share = try override.perUnitMinorUnits[level].checkedMultiplying(
                    by: line.quantity,
                    "commission of \(line.sku)"
                )
            } else {
                share = try line.netPaid.portion(rate).minorUnits
            }
            total = try total.checkedAdding(share, "commission of order \(order.order)")
        }
        return total
    }

    static func milestoneAmount(
        _ milestone: Milestone,
        total: RewardAmount,
        weights: [RewardRule.MilestoneWeight]
    ) -> RewardAmount? {
        guard let position = weights.firstIndex(where: { $0.milestone == milestone }),
            let parts = try? splitExactly(total.quantity, weights: weights.map(\.weight))
        else { return nil }
        return try? RewardAmount(parts[position], total.unit)
    }

    static func ladderRate(_ tiers: [RewardRule.LadderTier], count: Int64) -> Int64 {
        tiers.last { $0.fromCount <= count }?.amountEach ?? 0
    }

    // MARK: - Granting

    /// Writes the planned grants that caps and budgets allow, then records them.
    private mutating func grant(
        _ plan: [PlannedGrant],
        source: EventID,
        at: Timestamp,
        order: OrderID?,
        ledger: inout Ledger,
        outcome: inout SettlementOutcome
    ) throws(FissionError) {
        let day = at.calendarDay(in: self.campaign.offset).daysSinceEpoch
        // Counters as they will be once earlier grants of this same event are counted; written
        // back only when every grant is in the ledger.
        var pending = Scratch.Counters()
        swap(&pending, &self.scratch.counters)
        defer {
            pending.clear()
            swap(&pending, &self.scratch.counters)
        }
        for planned in plan {
            let rule = self.campaign.rules[planned.ruleIndex]
            let memberKey = MemberRuleKey(rule: planned.ruleIndex, member: planned.beneficiary)
            let tracksDaily = rule.caps.perMemberDailyQuantity != nil
            let dailyKey = DailyKey(rule: planned.ruleIndex, member: planned.beneficiary, day: day)
            var member = pending.member(memberKey) ?? self.memberCounters[memberKey] ?? Counter()
            var today = tracksDaily ? pending.daily(dailyKey) ?? self.dailyCounters[dailyKey] ?? 0 : 0
            let total = self.ruleTotals[planned.ruleIndex] + pending.totalDelta(planned.ruleIndex)
            let quantity = planned.amount.quantity
            guard Self.fits(rule.caps, member: member, today: today, total: total, quantity: quantity) else {
                outcome.skipped.append(
                    .init(rule: rule.id, beneficiary: planned.beneficiary, amount: planned.amount, reason: .capReached)
                )
                continue
            }
            let transfer: Ledger.Outcome
            do {
                transfer = try ledger.transfer(
                    key: TransferKey(
                        .grant,
                        campaign: self.campaign.id,
                        rule: rule.id,
                        beneficiary: planned.beneficiary,
                        source: source,
                        part: planned.part
                    ),
                    debit: .budget(self.campaign.id, planned.amount.unit),
                    credit: .wallet(planned.beneficiary, planned.amount.unit),
                    amount: quantity,
                    holdUntil: planned.holdUntil,
                    reason: TransferReason(command: source, rule: rule.id, ruleVersion: self.campaign.version),
                    at: at
                )
            } catch  where error.code == .insufficientFunds {
                outcome.skipped.append(
                    .init(
                        rule: rule.id,
                        beneficiary: planned.beneficiary,
                        amount: planned.amount,
                        reason: .budgetExhausted
                    )
                )
                continue
            }
            member.count += 1
            member.quantity = try member.quantity.checkedAdding(quantity, "granted quantity")
            // Checked here so that writing the rule total back after the loop cannot overflow.
            _ = try total.checkedAdding(quantity, "granted quantity")
            pending.setMember(memberKey, member)
            if tracksDaily {
                today = try today.checkedAdding(quantity, "granted quantity today")
                pending.setDaily(dailyKey, today)
            }
            pending.addTotal(planned.ruleIndex, quantity)
            pending.made.append((planned, transfer.first!))
        }
        // Nothing below can fail: record what was written.
        for (key, counter) in pending.members { self.memberCounters[key] = counter }
        for (key, quantity) in pending.dailies { self.dailyCounters[key] = quantity }
        for (rule, delta) in pending.totals { self.ruleTotals[rule] += delta }
        if let order, !pending.made.isEmpty {
            self.orders[order]?.firstGrant = Int32(self.orderGrants.count)
            self.orders[order]?.grantCount = Int32(pending.made.count)
        }
        for (planned, transfer) in pending.made {
            let rule = self.campaign.rules[planned.ruleIndex]
            outcome.grants.append(
                .init(
                    rule: rule.id,
                    beneficiary: planned.beneficiary,
                    part: planned.part,
                    amount: planned.amount,
                    transfer: transfer,
                    isHeld: planned.holdUntil != nil
                )
            )
            if order != nil {
                self.orderGrants.append(
                    OrderGrant(
                        transfer: transfer,
                        rule: rule.id,
                        beneficiary: planned.beneficiary,
                        part: planned.part,
                        quantity: planned.amount.quantity
                    )
                )
            }
            switch rule.shape {
            case .milestoneSplit:
                if let milestone = Milestone(rawValue: planned.part), let invitee = planned.invitee {
                    self.milestonesGranted.insert(
                        MilestoneKey(rule: planned.ruleIndex, invitee: invitee, milestone: milestone)
                    )
                }
            case .ladder:
                let key = MemberRuleKey(rule: planned.ruleIndex, member: planned.beneficiary)
                if planned.part == 0 { self.ladders[key, default: LadderProgress()].paidInvites += 1 }
                self.ladders[key, default: LadderProgress()].paidQuantity += planned.amount.quantity
            default:
                break
            }
        }
    }

    private static func fits(
        _ caps: RewardRule.Caps,
        member: Counter,
        today: Int64,
        total: Int64,
        quantity: Int64
    ) -> Bool {
        if let limit = caps.perMemberCount, member.count + 1 > limit { return false }
        if let limit = caps.perMemberQuantity, member.quantity > limit - quantity { return false }
        if let limit = caps.perMemberDailyQuantity, today > limit - quantity { return false }
        if let limit = caps.perCampaignQuantity, total > limit - quantity { return false }
        return true
    }

    // MARK: - Refunds

    private mutating func refund(
        _ orderID: OrderID,
        amount: Money,
        source: EventID,
        at: Timestamp,
        ledger: inout Ledger,
        outcome: inout SettlementOutcome
    ) throws(FissionError) {
        guard var order = self.orders[orderID] else {
            throw FissionError(
                code: .orderNotFound,
                reason: "order \(orderID) was not paid in campaign \(self.campaign.id)"
            )
        }
        try order.paid.requireSameCurrency(amount)
        guard amount.minorUnits > 0 else {
            throw FissionError(code: .invalidAmount, reason: "a refund of \(amount) is not positive")
        }
        let refunded = try order.refundedMinorUnits.checkedAdding(amount.minorUnits, "refunded total")
        guard refunded <= order.paid.minorUnits else {
            throw FissionError(
                code: .refundExceedsPayment,
                reason: "order \(orderID) paid \(order.paid); refunds would total "
                    + "\(Money(minorUnits: refunded, currency: order.paid.currency))"
            )
        }
        order.refundedMinorUnits = refunded
        let grants = Int(order.firstGrant)..<Int(order.firstGrant) + Int(order.grantCount)
        // Progress is kept aside and written back only once every ledger call has succeeded.
        var undone: [(index: Int, amount: Int64)] = []
        for index in grants {
            let grant = self.orderGrants[index]
            // The cumulative share to undo, so rounding never drifts across partial refunds.
            let target = grant.quantity.scaledDown(numerator: refunded, denominator: order.paid.minorUnits).quotient
            let delta = target - grant.undone
            guard delta > 0 else { continue }
            let key = TransferKey(
                .reversal,
                campaign: self.campaign.id,
                rule: grant.rule,
                beneficiary: grant.beneficiary,
                source: source,
                part: grant.part
            )
            let reason = TransferReason(command: source, rule: grant.rule, ruleVersion: self.campaign.version)
            let result: Ledger.Outcome
            switch ledger.pendingState(of: grant.transfer) {
            case .open:
                result = try ledger.void(grant.transfer, amount: delta, key: key, reason: reason, at: at)
            case .posted(let post):
                result = try ledger.reverse(post, amount: delta, key: key, reason: reason, at: at)
            case .voided:
                continue
            case nil:
                result = try ledger.reverse(grant.transfer, amount: delta, key: key, reason: reason, at: at)
            }
            undone.append((index, target))
            outcome.reversals.append(contentsOf: result.transfers)
        }
        for (index, amount) in undone { self.orderGrants[index].undone = amount }
        self.orders[orderID] = order
    }
}

/// Buffers a campaign reuses from event to event.
struct Scratch: Sendable {
    /// What one event's grants change, before it is written back.
    struct Counters: Sendable {
        var members: [(MemberRuleKey, Counter)] = []
        var dailies: [(DailyKey, Int64)] = []
        var totals: [(Int, Int64)] = []
        var made: [(PlannedGrant, TransferID)] = []

        func member(_ key: MemberRuleKey) -> Counter? { self.members.last { $0.0 == key }?.1 }
        func daily(_ key: DailyKey) -> Int64? { self.dailies.last { $0.0 == key }?.1 }
        func totalDelta(_ rule: Int) -> Int64 { self.totals.reduce(0) { $1.0 == rule ? $0 + $1.1 : $0 } }

        mutating func setMember(_ key: MemberRuleKey, _ counter: Counter) { self.members.append((key, counter)) }
        mutating func setDaily(_ key: DailyKey, _ quantity: Int64) { self.dailies.append((key, quantity)) }
        mutating func addTotal(_ rule: Int, _ quantity: Int64) { self.totals.append((rule, quantity)) }

        mutating func clear() {
            self.members.removeAll(keepingCapacity: true)
            self.dailies.removeAll(keepingCapacity: true)
            self.totals.removeAll(keepingCapacity: true)
            self.made.removeAll(keepingCapacity: true)
        }
    }

    var plan: [PlannedGrant] = []
    var counters = Counters()
}
