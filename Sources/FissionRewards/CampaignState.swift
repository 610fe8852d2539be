import FissionCore

struct Counter: Sendable, Equatable {
    var count: Int64 = 0
    var quantity: Int64 = 0
}

/// What a campaign keeps of one member, in one record: settling touches one record per member
/// instead of one table per fact.
struct CampaignMember: Sendable, Equatable {
    /// The inviter's member index, -1 for none, -2 while not registered.
    var inviter: Int32 = -2
    /// The member's rule slots are `slots[firstSlot..<firstSlot + rule count]`; -1 before their
    /// first grant in the campaign.
    var firstSlot: Int32 = -1
    var inviteCount: Int64 = 0
}

/// One member's standing under one rule: what they were granted, and where grants go.
struct RuleSlot: Sendable, Equatable {
    var counter = Counter()
    /// The member's wallet account (a ledger account index) for the rule's unit, or -1 while not
    /// known here: the grant then finds or opens it by key, and the slot remembers it.
    var wallet: Int32 = -1
}

/// A grant tied to an order, so a refund can void or reverse its share.
struct OrderGrant: Sendable, Equatable {
    /// The grant's record index in the ledger.
    let transfer: Int32
    let ruleIndex: Int32
    /// The beneficiary's member index in the ledger.
    let beneficiary: Int32
    let part: Int32
    let quantity: Int64
    var undone: Int64 = 0
}

struct OrderRecord: Sendable, Equatable {
    /// Minor units paid, in the campaign's currency (an order in another is refused).
    let paid: Int64
    var refundedMinorUnits: Int64 = 0
    /// The order's grants are `orderGrants[firstGrant..<firstGrant + grantCount]`: one event made
    /// them all, so they are consecutive, and no order needs an array of its own.
    var firstGrant: Int32 = 0
    var grantCount: Int32 = 0
}

/// Ladder progress of one inviter under one rule.
struct LadderProgress: Sendable, Equatable {
    /// Invites the ladder priced: those it paid, and under ``SettlementRevision/two`` also those it
    /// priced at 0; less, under revision two, those whose own grant was rejected.
    var paidInvites: Int64 = 0
    /// What the ladder granted them, top-ups included (less, under revision two, what rejected
    /// invites were worth; a rejected top-up still counts, so that it is not paid again).
    var paidQuantity: Int64 = 0
    /// The rate the latest top-up brought every invite priced before it to, and that top-up's
    /// ledger record (-1 before any): under revision two a rejected invite whose own grant is older
    /// leaves the ladder at that rate, what the ladder counts it as paid.
    var toppedUpRate: Int64 = 0
    var toppedUpRecord: Int32 = -1
}

/// A settled event: enough to recognise it and to rebuild its outcome.
struct Processed: Sendable, Equatable {
    let digest: UInt64
    /// The record index of the first transfer the event made; its transfers are contiguous.
    let firstTransfer: Int32
    let transferCount: Int32
    /// Its skipped grants are `skips[firstSkip..<firstSkip + skipCount]`.
    let firstSkip: Int32
    let skipCount: Int32
    /// The beneficiaries of its grants, in transfer order, start at `grantBeneficiaries[firstBeneficiary]`.
    let firstBeneficiary: Int32
}

/// A grant a limit stopped, in dense form.
struct StoredSkip: Sendable, Equatable {
    let ruleIndex: Int32
    let beneficiary: Int32
    /// The beneficiary's id, kept so that an outcome names them without reading the ledger's id table.
    let beneficiaryID: MemberID
    let unit: Int32
    let quantity: Int64
    /// 0 budget exhausted, 1 cap reached.
    let reason: UInt8
}

/// One grant to make, decided before anything is written; every id is a dense ledger index.
struct PlannedGrant: Sendable {
    let ruleIndex: Int32
    let beneficiary: Int32
    let part: Int32
    let unit: Int32
    let quantity: Int64
    /// The end of the hold, or ``Ledger/noHold``.
    let holdUntil: Int64
    /// For a milestone grant: the friend who reached the milestone.
    var invitee: Int32 = -1
    /// Where the event names the beneficiary, if it does.
    var namedBy: NamedBy = .ledger
}

/// Where the event being settled names a planned grant's beneficiary.
///
/// The outcome reads the beneficiary's id there: reading it from the ledger's id table costs a
/// cache miss per grant in a large ledger, and carrying a copy of the id in the plan would make
/// every planned grant a reference-counted value, copied through value witnesses at each step.
enum NamedBy: UInt8, Sendable {
    /// The event does not name them (the inviter of a paid order's buyer, for a milestone): the
    /// ledger's id table does.
    case ledger
    /// A paid order's level-1 or level-2 inviter, or its buyer.
    case firstInviter, secondInviter, buyer
    /// A registration's inviter.
    case registrationInviter
    /// A help's sharer or helper.
    case sharer, helper
}

extension PlannedGrant {
    /// The beneficiary's id: where `event` names them, else from the ledger's member table.
    @inline(__always)
    func beneficiaryID(in event: RewardEvent, members: IdentifierTable<IdentifierKind.Member>) -> MemberID {
        event.member(namedBy: self.namedBy) ?? members[self.beneficiary]
    }
}

extension RewardEvent {
    /// The member the event names at `name`, or `nil` for ``NamedBy/ledger`` or a name the event
    /// does not have.
    func member(namedBy name: NamedBy) -> MemberID? {
        switch (name, self) {
        case (.firstInviter, .orderPaid(let order)): order.inviters.first
        case (.secondInviter, .orderPaid(let order)): order.inviters.count > 1 ? order.inviters[1] : nil
        case (.buyer, .orderPaid(let order)): order.buyer
        case (.registrationInviter, .memberRegistered(_, let inviter, _)): inviter
        case (.sharer, .helped(let sharer, _, _)): sharer
        case (.helper, .helped(_, let helper, _)): helper
        default: nil
        }
    }
}

/// What the hot path needs of a rule, as plain values: reading a ``RewardRule`` out of the
/// campaign copies its arrays (reference-counted) every time.
struct RuleFacts: Sendable {
    enum Kind: UInt8, Sendable {
        case inviteFixed, orderFixed, commission, milestoneSplit, ladder, mutual
    }

    let kind: Kind
    /// The hold in milliseconds; 0 for none.
    let holdMilliseconds: Int64
    /// The caps, `Int64.max` for none (no check can then fail: quantities are positive).
    let capCount: Int64
    let capQuantity: Int64
    let capDaily: Int64
    let capTotal: Int64
    let tracksDaily: Bool
    let newMembersOnly: Bool
    let firstOrderOnly: Bool
    /// One bit per excluded ``OrderKind`` (by its digest code).
    let excludedKinds: UInt8
    /// A fixed reward's quantity (the sharer's for a mutual rule).
    let quantity: Int64
    /// A commission's level rates in basis points and level count; whether SKUs override them.
    let rates: (Int64, Int64)
    let levels: Int
    let hasOverrides: Bool

    init(_ rule: RewardRule) {
        var quantity: Int64 = 0
        var rates: (Int64, Int64) = (0, 0)
        var levels = 0
        var hasOverrides = false
        switch rule.shape {
        case .inviteFixed(let amount):
            self.kind = .inviteFixed
            quantity = amount.quantity
        case .orderFixed(let amount):
            self.kind = .orderFixed
            quantity = amount.quantity
        case .commission(let levelRates, let overrides):
            self.kind = .commission
            levels = levelRates.count
            rates = (levelRates[0].value, levelRates.count > 1 ? levelRates[1].value : 0)
            hasOverrides = !overrides.isEmpty
        case .milestoneSplit: self.kind = .milestoneSplit
        case .ladder: self.kind = .ladder
        case .mutual(let sharer, _):
            self.kind = .mutual
            quantity = sharer.quantity
        }
        self.holdMilliseconds = rule.holdDays * Timestamp.millisecondsPerDay
        self.capCount = rule.caps.perMemberCount ?? .max
        self.capQuantity = rule.caps.perMemberQuantity ?? .max
        self.capDaily = rule.caps.perMemberDailyQuantity ?? .max
        self.capTotal = rule.caps.perCampaignQuantity ?? .max
        self.tracksDaily = rule.caps.perMemberDailyQuantity != nil
        self.newMembersOnly = rule.eligibility.newMembersOnly
        self.firstOrderOnly = rule.eligibility.firstOrderOnly
        self.excludedKinds = rule.eligibility.excludedOrderKinds.reduce(0) { $0 | 1 << UInt8($1.digestCode) }
        self.quantity = quantity
        self.rates = rates
        self.levels = levels
        self.hasOverrides = hasOverrides
    }
}

/// A member's daily counter key under one rule.
struct DailyKey: Hashable, Sendable {
    let rule: Int32
    let member: Int32
    let day: Int64
}

/// Everything a settlement remembers about one campaign, in flat arrays by dense index.
///
/// Members are the ledger's member indices (shared by every campaign); orders and settled events
/// are this campaign's own. Per-member arrays grow only when an event commits.
struct CampaignState: Sendable {
    let campaign: RewardCampaign
    /// The campaign's index in the ledger's campaign table.
    let ledgerCampaign: Int32
    /// Per rule: its index in the ledger's rule table, its unit (or the second unit of a mutual rule).
    let ruleRefs: [Int32]
    let ruleUnits: [Int32]
    let ruleSecondUnits: [Int32]
    /// The campaign currency's unit index.
    let currencyUnit: Int32
    let ruleIndex: [RuleID: Int]
    /// Per rule: its id.
    let ruleIDs: [RuleID]
    /// Per rule: its facts, as plain values.
    let facts: [RuleFacts]
    /// Per rule: a milestone split's parts (registered, first order, repurchase; 0 if none).
    let milestoneParts: [(Int64, Int64, Int64)]
    /// Whether some rule looks at an order's buyer (eligibility, milestones, order rewards).
    let ordersNeedBuyer: Bool

    /// Per member (the ledger's member index): registration, invites and the first rule slot.
    var members: [CampaignMember] = []
    /// Per (member, rule), in blocks of one slot per rule (see ``CampaignMember/firstSlot``).
    var slots: [RuleSlot] = []
    /// Per (rule, member): key `rule << 32 | member`.
    var ladderKeys = CompositeTable()
    var ladders: [LadderProgress] = []
    /// Milestones granted, per (rule, invitee): one bit per milestone.
    var milestoneKeys = CompositeTable()
    var milestoneBits: [UInt8] = []
    var dailyCounters: [DailyKey: Int64] = [:]
    var ruleTotals: [Int64]

    var orderIDs = IdentifierTable<IdentifierKind.Order>()
    var orders = SegmentedArray<OrderRecord>()
    var orderGrants = SegmentedArray<OrderGrant>()

    /// How this campaign fingerprints events: for life, since retries are compared with what it
    /// settled. Campaigns restored from a version-1 snapshot keep the double-round scheme.
    var digestScheme = DigestScheme.foldedMultiply
    /// Settled events: the ledger's event index of each (the settlement's ``SettledIndex`` finds them).
    var processedEvents: [Int32] = []
    var processed = SegmentedArray<Processed>()
    var skips: [StoredSkip] = []
    /// The beneficiary of every grant the settled events made, in order: a repeated event's outcome
    /// reads them here, next to each other, instead of one random read of the ledger's id table each.
    var grantBeneficiaries = SegmentedArray<MemberID>()

    init(campaign: RewardCampaign, ledger: inout Ledger) {
        self.campaign = campaign
        self.ledgerCampaign = ledger.campaignIDs.intern(campaign.id)
        var index: [RuleID: Int] = [:]
        var refs: [Int32] = []
        var units: [Int32] = []
        var seconds: [Int32] = []
        self.currencyUnit = ledger.internUnit(.money(campaign.currency))
        for (position, rule) in campaign.rules.enumerated() {
            index[rule.id] = position
            refs.append(ledger.ruleIDs.intern(rule.id))
            let ruleUnits = rule.units
            units.append(ruleUnits.first.map { ledger.internUnit($0) } ?? self.currencyUnit)
            seconds.append(ruleUnits.count > 1 ? ledger.internUnit(ruleUnits[1]) : -1)
        }
        self.ruleIndex = index
        self.facts = campaign.rules.map(RuleFacts.init)
        self.ruleIDs = campaign.rules.map(\.id)
        self.milestoneParts = campaign.rules.map { rule in
            guard case .milestoneSplit(let total, let weights) = rule.shape else { return (0, 0, 0) }
            let part = { (milestone: Milestone) in
                Self.milestoneAmount(milestone, total: total, weights: weights)?.quantity ?? 0
            }
            return (part(.registered), part(.firstOrder), part(.repurchase))
        }
        self.ordersNeedBuyer = campaign.rules.contains { rule in
            switch rule.shape {
            case .orderFixed, .milestoneSplit: true
            default: rule.eligibility.newMembersOnly
            }
        }
        self.ruleRefs = refs
        self.ruleUnits = units
        self.ruleSecondUnits = seconds
        self.ruleTotals = Array(repeating: 0, count: campaign.rules.count)
    }

    // MARK: - Dense lookups

    @inline(__always)
    static func pairKey(_ rule: Int32, _ member: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: rule)) << 32 | UInt64(UInt32(bitPattern: member))
    }

    func inviter(of member: Int32) -> Int32 {
        Int(member) < self.members.count ? self.members[Int(member)].inviter : -2
    }

    func inviteCount(of member: Int32) -> Int64 {
        Int(member) < self.members.count ? self.members[Int(member)].inviteCount : 0
    }

    /// The position of `member`'s slot for `rule`, or -1 if they have none yet.
    @inline(__always)
    func slot(rule: Int32, member: Int32) -> Int {
        guard Int(member) < self.members.count else { return -1 }
        let first = Int(self.members[Int(member)].firstSlot)
        return first < 0 ? -1 : first + Int(rule)
    }

    func counter(rule: Int32, member: Int32) -> Counter {
        let position = self.slot(rule: rule, member: member)
        return position < 0 ? Counter() : self.slots[position].counter
    }

    /// The position of `member`'s slot for `rule`, giving the member a block of slots if new.
    mutating func makeSlot(rule: Int32, member: Int32) -> Int {
        self.growMembers(to: Int(member) + 1)
        if self.members[Int(member)].firstSlot < 0 {
            self.members[Int(member)].firstSlot = Int32(self.slots.count)
            // One append per rule: a campaign has a few, and `append(contentsOf:)` of a repeated
            // element walks a generic path that costs more.
            for _ in 0..<self.facts.count { self.slots.append(RuleSlot()) }
        }
        return Int(self.members[Int(member)].firstSlot) + Int(rule)
    }

    /// Appends a settled event's record; the caller files it in the settlement's ``SettledIndex``.
    mutating func recordProcessed(_ event: Int32, _ record: Processed) -> Int32 {
        self.processedEvents.append(event)
        self.processed.append(record)
        return Int32(self.processed.count - 1)
    }

    mutating func growMembers(to count: Int) {
        if self.members.count < count {
            self.members.append(contentsOf: repeatElement(CampaignMember(), count: count - self.members.count))
        }
    }

    // MARK: - Applying events

    /// Applies `event` (event index `source` in the ledger): validates and plans, writes the grants
    /// to the ledger, then updates the state.
    ///
    /// Nothing in `self` changes before the last call that can throw, so a failure leaves the state
    /// as it was; the caller rolls back whatever reached the ledger (ids included).
    mutating func apply(
        _ event: RewardEvent,
        id: EventID,
        source: Int32,
        ledger: inout Ledger,
        scratch: inout SettlementScratch
    ) throws(FissionError) {
        switch event {
        case .memberRegistered(let member, let inviter, let at):
            try self.requireLive(at, id)
            let memberRef = ledger.members.find(member)
            guard memberRef.map({ self.inviter(of: $0) == -2 }) ?? true else {
                throw FissionError(
                    code: .duplicateRegistration,
                    reason: "\(member) already registered in \(self.campaign.id)"
                )
            }
            guard inviter.map({ !sameIdentifier($0, member) }) ?? true else {
                throw FissionError(code: .selfReferral, reason: "\(member) cannot invite themselves")
            }
            let invitee = memberRef ?? ledger.members.intern(member)
            let inviterRef = inviter.map { ledger.members.intern($0) } ?? -1
            let inviteCount =
                try (inviterRef >= 0 ? self.inviteCount(of: inviterRef) : 0).checkedAdding(1, "invite count")
            try self.planRegistration(
                member: invitee,
                inviter: inviterRef,
                inviteCount: inviteCount,
                at: at,
                into: &scratch.plan
            )
            try self.grant(event, source: source, at: at, order: -1, ledger: &ledger, scratch: &scratch)
            self.growMembers(to: ledger.members.count)
            self.members[Int(invitee)].inviter = inviterRef
            if inviterRef >= 0 {
                self.members[Int(inviterRef)].inviteCount = inviteCount
                if self.campaign.settlementRevision >= .two {
                    self.countInvitesPricedAtZero(inviter: inviterRef, inviteCount: inviteCount)
                }
            }
        case .orderPaid(let order):
            try self.requireLive(order.at, id)
            guard self.orderIDs.find(order.order) == nil else {
                throw FissionError(
                    code: .duplicateOrder,
                    reason: "order \(order.order) was already paid in \(self.campaign.id)"
                )
            }
            let currency = order.lines[0].netPaid.currency
            guard currency == self.campaign.currency else {
                throw FissionError(
                    code: .currencyMismatch,
                    reason: "order \(order.order) is in \(currency); campaign is in \(self.campaign.currency)"
                )
            }
            try self.planOrder(order, ledger: &ledger, into: &scratch.plan)
            let orderIndex = Int32(self.orders.count)
            try self.grant(event, source: source, at: order.at, order: orderIndex, ledger: &ledger, scratch: &scratch)
            var record = OrderRecord(paid: order.netPaid.minorUnits)
            if scratch.madeCount > 0 {
                record.firstGrant = Int32(self.orderGrants.count - scratch.madeCount)
                record.grantCount = Int32(scratch.madeCount)
            }
            self.orderIDs.append(order.order)
            self.orders.append(record)
        case .orderRefunded(let order, let amount, let at):
            try self.refund(order, amount: amount, source: source, at: at, ledger: &ledger, scratch: &scratch)
        case .helped(let sharer, let helper, let at):
            try self.requireLive(at, id)
            guard !sameIdentifier(sharer, helper) else {
                throw FissionError(code: .selfReferral, reason: "\(sharer) cannot help their own share")
            }
            // Revision three reads the rule's eligibility and hold (Decision 0030).
            let honoursRule = self.campaign.settlementRevision >= .three
            for (index, rule) in self.campaign.rules.enumerated() {
                guard case .mutual(let sharerAmount, let helperAmount) = rule.shape else { continue }
                if honoursRule, rule.eligibility.newMembersOnly,
                    ledger.members.find(helper).map({ self.inviter(of: $0) == -2 }) ?? true
                {
                    continue
                }
                let hold = honoursRule ? self.holdUntil(rule, from: at) : Ledger.noHold
                let sharerRef = ledger.members.intern(sharer)
                let helperRef = ledger.members.intern(helper)
                scratch.plan.append(
                    .init(
                        ruleIndex: Int32(index),
                        beneficiary: sharerRef,
                        part: 0,
                        unit: self.ruleUnits[index],
                        quantity: sharerAmount.quantity,
                        holdUntil: hold,
                        namedBy: .sharer
                    )
                )
                scratch.plan.append(
                    .init(
                        ruleIndex: Int32(index),
                        beneficiary: helperRef,
                        part: 1,
                        unit: self.ruleSecondUnits[index],
                        quantity: helperAmount.quantity,
                        holdUntil: hold,
                        namedBy: .helper
                    )
                )
            }
            try self.grant(event, source: source, at: at, order: -1, ledger: &ledger, scratch: &scratch)
        }
    }

    // Inlined: a call to a non-mutating method from a mutating one copied the whole struct (a
    // memcpy of several hundred bytes per event) to pass it as `self`.
    @inline(__always)
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

    @inline(__always)
    private func holdUntil(_ rule: RewardRule, from at: Timestamp) -> Int64 {
        guard rule.holdDays > 0 else { return Ledger.noHold }
        return at.millisecondsSinceEpoch + rule.holdDays * Timestamp.millisecondsPerDay
    }

    private func planRegistration(
        member: Int32,
        inviter: Int32,
        inviteCount count: Int64,
        at: Timestamp,
        into plan: inout ScratchList<PlannedGrant>
    ) throws(FissionError) {
        guard inviter >= 0 else { return }
        for (index, rule) in self.campaign.rules.enumerated() {
            let hold = self.holdUntil(rule, from: at)
            let unit = self.ruleUnits[index]
            switch rule.shape {
            case .inviteFixed(let amount):
                plan.append(
                    .init(
                        ruleIndex: Int32(index),
                        beneficiary: inviter,
                        part: 0,
                        unit: unit,
                        quantity: amount.quantity,
                        holdUntil: hold,
                        namedBy: .registrationInviter
                    )
                )
            case .milestoneSplit:
                let quantity = self.milestoneParts[index].0
                if quantity > 0 {
                    plan.append(
                        .init(
                            ruleIndex: Int32(index),
                            beneficiary: inviter,
                            part: Milestone.registered.rawValue,
                            unit: unit,
                            quantity: quantity,
                            holdUntil: hold,
                            invitee: member,
                            namedBy: .registrationInviter
                        )
                    )
                }
            case .ladder(_, let tiers, let semantics):
                let progress =
                    self.ladderKeys.find(Self.pairKey(Int32(index), inviter)).map { self.ladders[Int($0)] }
                    ?? LadderProgress()
                let rate = Self.ladderRate(tiers, count: count)
                if rate > 0 {
                    plan.append(
                        .init(
                            ruleIndex: Int32(index),
                            beneficiary: inviter,
                            part: 0,
                            unit: unit,
                            quantity: rate,
                            holdUntil: hold,
                            namedBy: .registrationInviter
                        )
                    )
                }
                if semantics == .retroactive {
                    // Checked: a tier's amount times the invites paid can pass Int64.max.
                    let topUp = try progress.paidInvites.checkedMultiplying(by: rate, "the ladder's top-up")
                        .checkedSubtracting(progress.paidQuantity, "the ladder's top-up")
                    if topUp > 0 {
                        plan.append(
                            .init(
                                ruleIndex: Int32(index),
                                beneficiary: inviter,
                                part: 1,
                                unit: unit,
                                quantity: topUp,
                                holdUntil: hold,
                                namedBy: .registrationInviter
                            )
                        )
                    }
                }
            case .orderFixed, .commission, .mutual:
                continue
            }
        }
    }

    /// Counts an invite toward each ladder that priced it at 0, so that reaching a paying tier of a
    /// retroactive ladder reprices it too (revision two; revision one counted only paid invites).
    private mutating func countInvitesPricedAtZero(inviter: Int32, inviteCount: Int64) {
        for index in self.facts.indices where self.facts[index].kind == .ladder {
            // Only a retroactive ladder reads the count: a marginal one needs no row for it.
            guard case .ladder(_, let tiers, .retroactive) = self.campaign.rules[index].shape,
                Self.ladderRate(tiers, count: inviteCount) == 0
            else { continue }
            self.ladders[self.ladderPosition(rule: Int32(index), inviter: inviter)].paidInvites += 1
        }
    }

    /// The position of `inviter`'s progress on ladder `rule`, made if new.
    private mutating func ladderPosition(rule: Int32, inviter: Int32) -> Int {
        let key = Self.pairKey(rule, inviter)
        if let found = self.ladderKeys.find(key) { return Int(found) }
        self.ladders.append(LadderProgress())
        return Int(self.ladderKeys.append(key))
    }

    /// Takes an invite whose own ladder grant was rejected off the ladder, so that later top-ups
    /// do not reprice it (revision two; under revision one it kept counting).
    ///
    /// The invite leaves at what the ladder counts it as paid: its own grant, or the rate of a
    /// later top-up that repriced it. A rejected top-up (part 1) changes nothing here: the ladder
    /// still counts it as paid, so the next invite does not pay it again. A rejection is final, as
    /// it is for every other grant.
    ///
    /// - Parameters:
    ///   - rule: The grant's rule, by index.
    ///   - inviter: Its beneficiary.
    ///   - part: 0 for an invite's own grant, 1 for a top-up.
    ///   - quantity: What the rejection voided.
    ///   - record: The rejected grant's ledger record.
    mutating func forgetRejectedLadderGrant(rule: Int, inviter: Int32, part: Int32, quantity: Int64, record: Int32) {
        guard self.campaign.settlementRevision >= .two, part == 0, self.facts[rule].kind == .ladder,
            let found = self.ladderKeys.find(Self.pairKey(Int32(rule), inviter))
        else { return }
        let progress = self.ladders[Int(found)]
        let worth = record < progress.toppedUpRecord ? max(quantity, progress.toppedUpRate) : quantity
        self.ladders[Int(found)].paidInvites -= 1
        self.ladders[Int(found)].paidQuantity = max(0, progress.paidQuantity - worth)
    }

    // `mutating` though it only reads: called from `apply` as a non-mutating method it copied the
    // whole campaign state (a memcpy of several hundred bytes per order) to pass it as `self`, and
    // `@inline(__always)` did not take.
    private mutating func planOrder(
        _ order: OrderPaid,
        ledger: inout Ledger,
        into plan: inout ScratchList<PlannedGrant>
    ) throws(FissionError) {
        // The buyer's index only if they have one already (an unknown buyer is not registered),
        // and only if a rule needs the buyer: a commission does not.
        let buyer = self.ordersNeedBuyer ? ledger.members.find(order.buyer) : nil
        let kindBit: UInt8 = 1 << UInt8(order.kind.digestCode)
        for index in self.facts.indices {
            let facts = self.facts[index]
            if facts.excludedKinds & kindBit != 0 { continue }
            if facts.firstOrderOnly, order.buyerPaidOrderCount != 1 { continue }
            if facts.newMembersOnly, buyer.map({ self.inviter(of: $0) == -2 }) ?? true { continue }
            let hold =
                facts.holdMilliseconds > 0 ? order.at.millisecondsSinceEpoch + facts.holdMilliseconds : Ledger.noHold
            switch facts.kind {
            case .orderFixed:
                plan.append(
                    .init(
                        ruleIndex: Int32(index),
                        beneficiary: buyer ?? ledger.members.intern(order.buyer),
                        part: 0,
                        unit: self.ruleUnits[index],
                        quantity: facts.quantity,
                        holdUntil: hold,
                        namedBy: .buyer
                    )
                )
            case .commission:
                let levels = min(order.inviters.count, facts.levels)
                for level in 0..<levels {
                    let quantity = try self.commission(order, level: level, rule: index, facts: facts)
                    if quantity > 0 {
                        plan.append(
                            .init(
                                ruleIndex: Int32(index),
                                beneficiary: ledger.members.intern(order.inviters[level]),
                                part: Int32(level + 1),
                                unit: self.currencyUnit,
                                quantity: quantity,
                                holdUntil: hold,
                                namedBy: level == 0 ? .firstInviter : level == 1 ? .secondInviter : .ledger
                            )
                        )
                    }
                }
            case .milestoneSplit:
                guard let buyer else { continue }
                let inviter = self.inviter(of: buyer)
                guard inviter >= 0 else { continue }
                // Revision one paid the repurchase part on a 2nd order only; revision two on the
                // first later order that earns it (`milestoneGranted` keeps it to one grant).
                let milestone: Milestone? =
                    switch order.buyerPaidOrderCount {
                    case 1: .firstOrder
                    case 2: .repurchase
                    case 3...: self.campaign.settlementRevision >= .two ? .repurchase : nil
                    default: nil
                    }
                guard let milestone, !self.milestoneGranted(rule: Int32(index), invitee: buyer, milestone) else {
                    continue
                }
                let parts = self.milestoneParts[index]
                let quantity = milestone == .firstOrder ? parts.1 : parts.2
                guard quantity > 0 else { continue }
                plan.append(
                    .init(
                        ruleIndex: Int32(index),
                        beneficiary: inviter,
                        part: milestone.rawValue,
                        unit: self.ruleUnits[index],
                        quantity: quantity,
                        holdUntil: hold,
                        invitee: buyer
                    )
                )
            case .inviteFixed, .ladder, .mutual:
                continue
            }
        }
    }

    private func milestoneGranted(rule: Int32, invitee: Int32, _ milestone: Milestone) -> Bool {
        guard let position = self.milestoneKeys.find(Self.pairKey(rule, invitee)) else { return false }
        return self.milestoneBits[Int(position)] & (1 << UInt8(milestone.rawValue)) != 0
    }

    @inline(__always)
    private func commission(_ order: OrderPaid, level: Int, rule: Int, facts: RuleFacts) throws(FissionError) -> Int64 {
        let rate = level == 0 ? facts.rates.0 : facts.rates.1
        if !facts.hasOverrides, order.lines.count == 1 {
            // Validated non-negative when the order was made; the rate is at most 100%.
            return order.lines[0].netPaid.minorUnits.scaledDown(numerator: rate, denominator: 10_000).quotient
        }
        guard case .commission(_, let overrides) = self.campaign.rules[rule].shape else { return 0 }
        var total: Int64 = 0
        for line in order.lines {
            let share: Int64
            if !overrides.isEmpty, let override = overrides.first(where: { sameIdentifier($0.sku, line.sku) }) {
                share = try override.perUnitMinorUnits[level].checkedMultiplying(
                    by: line.quantity,
                    "commission of \(line.sku)"
                )
            } else {
                share = line.netPaid.minorUnits.scaledDown(numerator: rate, denominator: 10_000).quotient
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

    /// Writes the planned grants (`scratch.plan`) that caps and budgets allow, then records them.
    ///
    /// - Parameters:
    ///   - event: The event being settled, which names the beneficiaries of skipped grants.
    ///   - order: The order's index for an order's grants (they go to `orderGrants`), or -1.
    private mutating func grant(
        _ event: RewardEvent,
        source: Int32,
        at: Timestamp,
        order: Int32,
        ledger: inout Ledger,
        scratch: inout SettlementScratch
    ) throws(FissionError) {
        let day = at.calendarDay(in: self.campaign.offset).daysSinceEpoch
        // Counters as they will be once earlier grants of this same event are counted; written
        // back only when every grant is in the ledger.
        scratch.clearCounters()
        // Every planned beneficiary's slot is read first, in a loop of independent reads: their cache
        // misses overlap, where reading each inside the long loop below would wait for one after the other.
        scratch.slots.removeAll()
        for planIndex in scratch.plan.indices {
            let planned = scratch.plan[planIndex]
            let position = self.slot(rule: planned.ruleIndex, member: planned.beneficiary)
            scratch.slots.append(position >= 0 ? self.slots[position] : RuleSlot())
        }
        for planIndex in scratch.plan.indices {
            let planned = scratch.plan[planIndex]
            let facts = self.facts[Int(planned.ruleIndex)]
            let memberKey = Self.pairKey(planned.ruleIndex, planned.beneficiary)
            let tracksDaily = facts.tracksDaily
            let dailyKey = DailyKey(rule: planned.ruleIndex, member: planned.beneficiary, day: day)
            // The counter and wallet as this event left them, else as stored in the member's slot.
            // A slot's wallet is for the rule's unit; a mutual rule's second unit looks its own up.
            let walletCacheable = planned.unit == self.ruleUnits[Int(planned.ruleIndex)]
            var member = Counter()
            var wallet: Int32 = -1
            if let known = scratch.member(memberKey) {
                (member, wallet) = known
            } else {
                member = scratch.slots[planIndex].counter
                wallet = scratch.slots[planIndex].wallet
            }
            if !walletCacheable { wallet = -1 }
            var today = tracksDaily ? scratch.daily(dailyKey) ?? self.dailyCounters[dailyKey] ?? 0 : 0
            let total = self.ruleTotals[Int(planned.ruleIndex)] + scratch.totalDelta(planned.ruleIndex)
            let quantity = planned.quantity
            guard Self.fits(facts, member: member, today: today, total: total, quantity: quantity) else {
                scratch.skipped.append(
                    StoredSkip(
                        ruleIndex: planned.ruleIndex,
                        beneficiary: planned.beneficiary,
                        beneficiaryID: planned.beneficiaryID(in: event, members: ledger.members),
                        unit: planned.unit,
                        quantity: quantity,
                        reason: 1
                    )
                )
                continue
            }
            let ruleRef = self.ruleRefs[Int(planned.ruleIndex)]
            guard
                let transfer = try Self.write(
                    planned,
                    key: Ledger.CompactKey(
                        operation: TransferKey.Operation.grant.rawValue,
                        part: planned.part,
                        campaign: self.ledgerCampaign,
                        rule: ruleRef,
                        beneficiary: planned.beneficiary,
                        source: source
                    ),
                    campaign: self.ledgerCampaign,
                    wallet: wallet,
                    version: self.campaign.version,
                    at: at,
                    ledger: &ledger
                )
            else {
                scratch.skipped.append(
                    StoredSkip(
                        ruleIndex: planned.ruleIndex,
                        beneficiary: planned.beneficiary,
                        beneficiaryID: planned.beneficiaryID(in: event, members: ledger.members),
                        unit: planned.unit,
                        quantity: quantity,
                        reason: 0
                    )
                )
                continue
            }
            member.count += 1
            member.quantity = try member.quantity.checkedAdding(quantity, "granted quantity")
            // Checked here so that writing the rule total back after the loop cannot overflow.
            _ = try total.checkedAdding(quantity, "granted quantity")
            if walletCacheable { wallet = ledger.records[Int(transfer)].credit }
            scratch.members.append((memberKey, member, wallet))
            if tracksDaily {
                today = try today.checkedAdding(quantity, "granted quantity today")
                scratch.dailies.append((dailyKey, today))
            }
            scratch.totals.append((planned.ruleIndex, quantity))
            scratch.made.append((planned, transfer))
        }
        // Nothing below can fail: record what was written.
        for index in scratch.members.indices {
            let (key, counter, wallet) = scratch.members[index]
            // Later entries for the same key carry the later state, so the last write wins.
            let position = self.makeSlot(
                rule: Int32(truncatingIfNeeded: key >> 32),
                member: Int32(truncatingIfNeeded: key)
            )
            self.slots[position].counter = counter
            if wallet >= 0 { self.slots[position].wallet = wallet }
        }
        for index in scratch.dailies.indices {
            let (key, quantity) = scratch.dailies[index]
            self.dailyCounters[key] = quantity
        }
        for index in scratch.totals.indices {
            let (rule, delta) = scratch.totals[index]
            self.ruleTotals[Int(rule)] += delta
        }
        scratch.madeCount = scratch.made.count
        for index in scratch.made.indices {
            let (planned, transfer) = scratch.made[index]
            if order >= 0 {
                self.orderGrants.append(
                    OrderGrant(
                        transfer: transfer,
                        ruleIndex: planned.ruleIndex,
                        beneficiary: planned.beneficiary,
                        part: planned.part,
                        quantity: planned.quantity
                    )
                )
            }
            switch self.facts[Int(planned.ruleIndex)].kind {
            case .milestoneSplit:
                if planned.invitee >= 0, (0...2).contains(planned.part) {
                    let key = Self.pairKey(planned.ruleIndex, planned.invitee)
                    let bit = UInt8(1) << UInt8(planned.part)
                    if let position = self.milestoneKeys.find(key) {
                        self.milestoneBits[Int(position)] |= bit
                    } else {
                        self.milestoneKeys.append(key)
                        self.milestoneBits.append(bit)
                    }
                }
            case .ladder:
                let position = self.ladderPosition(rule: planned.ruleIndex, inviter: planned.beneficiary)
                if planned.part == 0 { self.ladders[position].paidInvites += 1 }
                // Saturating: honest totals stay below what budgets can hold; a crafted snapshot's
                // must not stop the process.
                let (paid, overflow) = self.ladders[position].paidQuantity.addingReportingOverflow(planned.quantity)
                self.ladders[position].paidQuantity = overflow ? .max : paid
                if planned.part == 1, case .ladder(_, let tiers, _) = self.campaign.rules[Int(planned.ruleIndex)].shape
                {
                    // A top-up is made for a registration whose count the inviter's record does
                    // not hold yet: the rate is the one of the count after it.
                    self.ladders[position].toppedUpRate = Self.ladderRate(
                        tiers,
                        count: self.inviteCount(of: planned.beneficiary) + 1
                    )
                    self.ladders[position].toppedUpRecord = transfer
                }
            default:
                break
            }
        }
    }

    /// Writes one planned grant from the campaign's budget; `nil` when the budget cannot cover it.
    @inline(__always)
    private static func write(
        _ planned: PlannedGrant,
        key: Ledger.CompactKey,
        campaign: Int32,
        wallet: Int32,
        version: Int32,
        at: Timestamp,
        ledger: inout Ledger
    ) throws(FissionError) -> Int32? {
        // A budget never funded in this unit has nothing to give.
        guard let budget = ledger.findAccount(.budget, unit: planned.unit, owner: campaign) else { return nil }
        return try ledger.grant(
            key: key,
            debit: budget,
            wallet: planned.unit,
            knownWallet: wallet,
            amount: planned.quantity,
            holdUntil: planned.holdUntil,
            ruleVersion: version,
            at: at.millisecondsSinceEpoch
        )
    }

    @inline(__always)
    private static func fits(
        _ facts: RuleFacts,
        member: Counter,
        today: Int64,
        total: Int64,
        quantity: Int64
    ) -> Bool {
        member.count < facts.capCount && member.quantity <= facts.capQuantity - quantity
            && today <= facts.capDaily - quantity && total <= facts.capTotal - quantity
    }

    // MARK: - Refunds

    private mutating func refund(
        _ orderID: OrderID,
        amount: Money,
        source: Int32,
        at: Timestamp,
        ledger: inout Ledger,
        scratch: inout SettlementScratch
    ) throws(FissionError) {
        guard let orderIndex = self.orderIDs.find(orderID) else {
            throw FissionError(
                code: .orderNotFound,
                reason: "order \(orderID) was not paid in campaign \(self.campaign.id)"
            )
        }
        var order = self.orders[Int(orderIndex)]
        let paid = Money(minorUnits: order.paid, currency: self.campaign.currency)
        try paid.requireSameCurrency(amount)
        // An order that paid nothing takes a refund of zero, which undoes it in full (below: its
        // share is 1). Nothing but rewards moves, and each is undone once.
        let refunded = try OrderRefund.refundedTotal(
            of: orderID,
            paid: paid,
            refunded: order.refundedMinorUnits,
            adding: amount
        )
        order.refundedMinorUnits = refunded
        let grants = Int(order.firstGrant)..<Int(order.firstGrant) + Int(order.grantCount)
        // Progress is kept aside and written back only once every ledger call has succeeded.
        scratch.undone.removeAll()
        for index in grants {
            let grant = self.orderGrants[index]
            // The cumulative share to undo, so rounding never drifts across partial refunds.
            let target =
                order.paid == 0
                ? grant.quantity : grant.quantity.scaledDown(numerator: refunded, denominator: order.paid).quotient
            let delta = target - grant.undone
            guard delta > 0 else { continue }
            let ruleRef = self.ruleRefs[Int(grant.ruleIndex)]
            let key = Ledger.CompactKey(
                operation: TransferKey.Operation.reversal.rawValue,
                part: grant.part,
                campaign: self.ledgerCampaign,
                rule: ruleRef,
                beneficiary: grant.beneficiary,
                source: source
            )
            let version = self.campaign.version
            let transfer = Int(grant.transfer)
            var first: Int32 = 0
            var count = 0
            // A posted grant (or one posted at once) is reversed; a held one is voided in part.
            var reversing: Int?
            switch ledger.records[transfer].kind == .pending ? ledger.pendingState(at: transfer) : nil {
            case .open:
                try ledger.checkVoid(transfer, amount: delta)
                first = ledger.void(
                    transfer,
                    amount: delta,
                    key: key,
                    command: source,
                    rule: ruleRef,
                    ruleVersion: version,
                    at: at.millisecondsSinceEpoch
                )
                count = 1
            case .posted(let post):
                reversing = Int(post.rawValue - 1)
            case .voided:
                continue
            case nil:
                reversing = transfer
            }
            if let reversing {
                let plan = try ledger.planReversal(reversing, amount: delta)
                let outcome = ledger.reverse(
                    reversing,
                    plan: plan,
                    key: key,
                    command: source,
                    rule: ruleRef,
                    ruleVersion: version,
                    at: at.millisecondsSinceEpoch
                )
                first = Int32(outcome.first!.rawValue - 1)
                count = outcome.count
            }
            scratch.undone.append((index, target))
            for offset in 0..<Int32(count) { scratch.reversals.append(TransferID(rawValue: Int64(first + offset) + 1)) }
        }
        for index in scratch.undone.indices {
            self.orderGrants[scratch.undone[index].0].undone = scratch.undone[index].1
        }
        self.orders[Int(orderIndex)] = order
    }
}

/// A reused list of plain values: clearing it only resets its count, so neither clearing nor
/// refilling it costs more than the writes (an array's `removeAll(keepingCapacity:)` walks a
/// generic path per call). Stale elements past `count` stay until overwritten: at most a string
/// id of a skipped grant's beneficiary, kept alive a little longer.
///
/// It is deliberately not a `Sequence`: an iterator holds a reference to the storage, retained
/// and released around every loop (two atomic operations). Loops go over ``indices`` instead.
struct ScratchList<Element>: Sendable where Element: Sendable {
    private var storage: [Element] = []
    private(set) var count = 0

    var isEmpty: Bool { self.count == 0 }

    subscript(position: Int) -> Element { self.storage[position] }

    @inline(__always)
    mutating func append(_ element: Element) {
        if self.count < self.storage.count {
            self.storage[self.count] = element
        } else {
            self.storage.append(element)
        }
        self.count += 1
    }

    @inline(__always)
    mutating func removeAll() { self.count = 0 }

    /// The positions of the elements.
    var indices: Range<Int> { 0..<self.count }

    /// The elements, as a slice of the storage.
    var elements: ArraySlice<Element> { self.storage[0..<self.count] }
}

/// Buffers a settlement reuses from event to event, so settling allocates nothing once they have grown.
struct SettlementScratch: Sendable {
    var plan = ScratchList<PlannedGrant>()
    /// What one event's grants change, before it is written back.
    /// Per (rule, member) key: the counter and the wallet account (-1 if not cached).
    var members = ScratchList<(UInt64, Counter, Int32)>()
    /// Per planned grant: the beneficiary's slot as stored before the event.
    var slots = ScratchList<RuleSlot>()
    var dailies = ScratchList<(DailyKey, Int64)>()
    var totals = ScratchList<(Int32, Int64)>()
    var made = ScratchList<(PlannedGrant, Int32)>()
    var madeCount = 0
    var skipped = ScratchList<StoredSkip>()
    var reversals = ScratchList<TransferID>()
    var undone = ScratchList<(Int, Int64)>()

    @inline(__always)
    func member(_ key: UInt64) -> (Counter, Int32)? {
        var position = self.members.count - 1
        while position >= 0 {
            if self.members[position].0 == key { return (self.members[position].1, self.members[position].2) }
            position -= 1
        }
        return nil
    }

    func daily(_ key: DailyKey) -> Int64? {
        var position = self.dailies.count - 1
        while position >= 0 {
            if self.dailies[position].0 == key { return self.dailies[position].1 }
            position -= 1
        }
        return nil
    }

    @inline(__always)
    func totalDelta(_ rule: Int32) -> Int64 {
        var delta: Int64 = 0
        for index in self.totals.indices where self.totals[index].0 == rule { delta += self.totals[index].1 }
        return delta
    }

    mutating func clearCounters() {
        self.members.removeAll()
        self.dailies.removeAll()
        self.totals.removeAll()
        self.made.removeAll()
        self.madeCount = 0
    }

    /// Clears everything for the next event.
    mutating func reset() {
        self.plan.removeAll()
        self.clearCounters()
        self.skipped.removeAll()
        self.reversals.removeAll()
        self.undone.removeAll()
    }

    /// Empties `array`, keeping its storage.
    ///
    /// One element at a time: `removeAll(keepingCapacity:)` destroys the elements through the
    /// runtime's generic `swift_arrayDestroy` (a value-witness call per element), where removing
    /// them one by one destroys each inline, in code specialized for the element.
    @inline(__always)
    static func clear<Element>(_ array: inout [Element]) {
        while !array.isEmpty { array.removeLast() }
    }
}
