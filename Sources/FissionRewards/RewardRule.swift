public import FissionCore

/// A quantity of one ledger unit: 1,500 fen, 200 points, 1 coupon.
public struct RewardAmount: Hashable, Sendable, Codable, CustomStringConvertible {
    /// How much, in the unit's smallest unit; positive.
    public let quantity: Int64
    /// What.
    public let unit: LedgerUnit

    /// An amount known to be positive (a stored grant's).
    init(unchecked quantity: Int64, _ unit: LedgerUnit) {
        self.quantity = quantity
        self.unit = unit
    }

    /// Creates an amount.
    ///
    /// - Throws: ``FissionError/Code/invalidAmount`` unless `quantity` is positive.
    public init(_ quantity: Int64, _ unit: LedgerUnit) throws(FissionError) {
        guard quantity > 0 else {
            throw FissionError(code: .invalidAmount, reason: "a reward of \(quantity) \(unit) is not positive")
        }
        self.quantity = quantity
        self.unit = unit
    }

    /// An amount of money.
    ///
    /// - Throws: ``FissionError/Code/invalidAmount`` unless `money` is positive.
    public static func money(_ money: Money) throws(FissionError) -> RewardAmount {
        try RewardAmount(money.minorUnits, .money(money.currency))
    }

    /// Money as money reads (`20.00 CNY`), anything else as a count of its unit (`200 points`,
    /// `1 coupon(c-10)`).
    public var description: String {
        switch self.unit {
        case .money(let currency): Money(minorUnits: self.quantity, currency: currency).description
        default: "\(self.quantity) \(self.unit)"
        }
    }
}

/// The moments of an invited friend's journey that a milestone reward pays on.
public enum Milestone: Int32, Hashable, Comparable, Sendable, Codable, CaseIterable {
    /// The friend registered.
    case registered = 0
    /// The friend paid their first order.
    case firstOrder = 1
    /// The friend paid a second (or later) order.
    case repurchase = 2

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// How a ladder pays once an inviter reaches a higher tier.
public enum LadderSemantics: String, Hashable, Sendable, Codable {
    /// Each invite pays the rate of the tier it falls in: with "fewer than 5 pay 10, 5 or more pay 20",
    /// invites 1 to 4 pay 10 each and the 5th pays 20.
    case marginal
    /// Reaching a tier reprices every earlier invite at the new rate; the difference is paid as a
    /// top-up when the tier is reached: the 5th invite pays 20 plus 4 × (20 − 10).
    case retroactive
}

/// The kinds of orders a host reports, so rules can exclude marketing orders.
public enum OrderKind: String, Hashable, Comparable, Sendable, Codable, CaseIterable {
    /// An ordinary order.
    case regular
    /// An order at a bargained price.
    case bargain
    /// A group-buy order.
    case groupBuy
    /// A flash-sale (seckill) order.
    case flashSale

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One reward rule of a campaign: what it pays, to whom, when, and within which limits.
public struct RewardRule: Hashable, Sendable, Codable {
    /// The deepest commission level Fission pays. Deeper chains are pyramid selling.
    public static var maximumCommissionLevels: Int { 2 }

    /// What the rule pays.
    public enum Shape: Hashable, Sendable, Codable {
        /// A fixed reward to the new member's inviter when the member registers.
        case inviteFixed(RewardAmount)
        /// A fixed reward to the buyer for each paid order.
        case orderFixed(RewardAmount)
        /// A share of each order's net paid amount to the buyer's inviter (level 1) and optionally
        /// that inviter's inviter (level 2), per line, rounded down; a SKU may instead pay a fixed
        /// amount per unit at each level.
        case commission(levelRates: [BasisPoints], skuOverrides: [SKUOverride])
        /// One reward to the inviter, paid in parts as the friend reaches milestones. The total is
        /// split exactly by the weights: 50 yuan by 15/15/20.
        case milestoneSplit(total: RewardAmount, weights: [MilestoneWeight])
        /// A reward per invited friend whose rate rises with the inviter's count of invites in
        /// this campaign: `tiers` is sorted by `fromCount`, the first starting at 1.
        case ladder(unit: LedgerUnit, tiers: [LadderTier], semantics: LadderSemantics)
        /// Both sides of a share: the sharer and the friend who helped, each from a budget of
        /// their own unit.
        case mutual(sharer: RewardAmount, helper: RewardAmount)
    }

    /// A fixed commission per unit of one SKU, per level (index 0 is level 1).
    public struct SKUOverride: Hashable, Sendable, Codable {
        /// The SKU.
        public let sku: SKUID
        /// Minor units per unit sold, per level; 0 means "no commission on this SKU".
        public let perUnitMinorUnits: [Int64]

        /// Creates an override.
        public init(sku: SKUID, perUnitMinorUnits: [Int64]) {
            self.sku = sku
            self.perUnitMinorUnits = perUnitMinorUnits
        }
    }

    /// A milestone and its share of a split reward.
    public struct MilestoneWeight: Hashable, Sendable, Codable {
        /// The milestone.
        public let milestone: Milestone
        /// Its weight in the split.
        public let weight: Int64

        /// Creates a weight.
        public init(_ milestone: Milestone, _ weight: Int64) {
            self.milestone = milestone
            self.weight = weight
        }
    }

    /// One rung of a ladder: from the `fromCount`-th invite on, each pays `amountEach`.
    public struct LadderTier: Hashable, Sendable, Codable {
        /// The first invite count the tier applies to.
        public let fromCount: Int64
        /// The reward per invite in this tier.
        public let amountEach: Int64

        /// Creates a tier.
        public init(fromCount: Int64, amountEach: Int64) {
            self.fromCount = fromCount
            self.amountEach = amountEach
        }
    }

    /// Who may earn, and on which orders.
    public struct Eligibility: Hashable, Sendable, Codable {
        /// Only members who registered inside the campaign's window count: an order earns only
        /// if its buyer did, and, under ``SettlementRevision/three`` and later, a help earns (for
        /// both sides of a `mutual` rule) only if its helper did.
        public var newMembersOnly: Bool
        /// Only a buyer's first order earns.
        public var firstOrderOnly: Bool
        /// Orders of these kinds earn nothing (marketing orders such as bargains).
        public var excludedOrderKinds: [OrderKind]

        /// Creates eligibility conditions; the default lets every member and order earn.
        public init(newMembersOnly: Bool = false, firstOrderOnly: Bool = false, excludedOrderKinds: [OrderKind] = []) {
            self.newMembersOnly = newMembersOnly
            self.firstOrderOnly = firstOrderOnly
            self.excludedOrderKinds = excludedOrderKinds
        }
    }

    /// Limits on what the rule grants. `nil` means no limit.
    public struct Caps: Hashable, Sendable, Codable {
        /// Most grants per beneficiary over the campaign.
        public var perMemberCount: Int64?
        /// Most quantity per beneficiary over the campaign.
        public var perMemberQuantity: Int64?
        /// Most quantity per beneficiary per calendar day in the campaign's offset.
        public var perMemberDailyQuantity: Int64?
        /// Most quantity the rule grants over the campaign.
        public var perCampaignQuantity: Int64?

        /// Creates caps; the default has none.
        public init(
            perMemberCount: Int64? = nil,
            perMemberQuantity: Int64? = nil,
            perMemberDailyQuantity: Int64? = nil,
            perCampaignQuantity: Int64? = nil
        ) {
            self.perMemberCount = perMemberCount
            self.perMemberQuantity = perMemberQuantity
            self.perMemberDailyQuantity = perMemberDailyQuantity
            self.perCampaignQuantity = perCampaignQuantity
        }
    }

    /// The rule's id, unique in its campaign.
    public let id: RuleID
    /// What it pays.
    public let shape: Shape
    /// Who may earn.
    public let eligibility: Eligibility
    /// Limits.
    public let caps: Caps
    /// How long the rule's grants stay pending before they post: for a grant tied to an order,
    /// the order's refund window. Registration grants are held too; a `mutual` rule's grants are
    /// held under ``SettlementRevision/three`` and later (earlier revisions post them at once).
    public let holdDays: Int64

    /// Creates a rule.
    ///
    /// - Throws: ``FissionError/Code/invalidRule`` for a rule that cannot be paid as written:
    ///   no commission level or more than ``maximumCommissionLevels`` (``FissionError/Code/commissionTooDeep``),
    ///   level rates summing over 100% (``FissionError/Code/invalidRate``), an override with the
    ///   wrong number of levels or a negative amount, milestone weights that are empty, repeated or
    ///   all zero, ladder tiers that do not start at 1 or are not increasing, a negative cap, a hold
    ///   outside 0...3660 days.
    public init(
        id: RuleID,
        shape: Shape,
        eligibility: Eligibility = Eligibility(),
        caps: Caps = Caps(),
        holdDays: Int64 = 0
    ) throws(FissionError) {
        try Self.validate(shape)
        let limits = [
            caps.perMemberCount, caps.perMemberQuantity, caps.perMemberDailyQuantity, caps.perCampaignQuantity,
        ]
        guard limits.allSatisfy({ ($0 ?? 0) >= 0 }) else {
            throw FissionError(code: .invalidRule, reason: "rule \(id): caps may not be negative")
        }
        guard (0...3_660).contains(holdDays) else {
            throw FissionError(code: .invalidRule, reason: "rule \(id): holdDays \(holdDays) is outside 0...3660")
        }
        self.id = id
        self.shape = shape
        self.eligibility = eligibility
        self.caps = caps
        self.holdDays = holdDays
    }

    private static func validate(_ shape: Shape) throws(FissionError) {
        switch shape {
        case .inviteFixed, .orderFixed, .mutual: return
        case .commission(let rates, let overrides):
            guard !rates.isEmpty else {
                throw FissionError(code: .invalidRule, reason: "a commission needs at least one level")
            }
            guard rates.count <= Self.maximumCommissionLevels else {
                throw FissionError(
                    code: .commissionTooDeep,
                    reason: "\(rates.count) commission levels; at most \(Self.maximumCommissionLevels) are paid "
                        + "(deeper chains are pyramid selling)"
                )
            }
            guard rates.reduce(0, { $0 + $1.value }) <= BasisPoints.whole.value else {
                throw FissionError(code: .invalidRate, reason: "commission rates \(rates) sum past 100%")
            }
            for override in overrides {
                guard override.perUnitMinorUnits.count == rates.count,
                    override.perUnitMinorUnits.allSatisfy({ $0 >= 0 })
                else {
                    throw FissionError(
                        code: .invalidRule,
                        reason: "SKU \(override.sku) needs one non-negative amount per level (\(rates.count))"
                    )
                }
            }
        case .milestoneSplit(let total, let weights):
            let milestones = weights.map(\.milestone)
            guard !weights.isEmpty, Set(milestones).count == milestones.count,
                weights.allSatisfy({ $0.weight >= 0 }), weights.contains(where: { $0.weight > 0 })
            else {
                throw FissionError(
                    code: .invalidRule,
                    reason: "milestone weights must name each milestone once, be non-negative and not all zero"
                )
            }
            // The split settlement makes, made once here: weights that cannot split the total
            // (their sum past Int64.max) would otherwise pay nothing, silently.
            do {
                _ = try splitExactly(total.quantity, weights: weights.map(\.weight))
            } catch {
                throw FissionError(
                    code: .invalidRule,
                    reason: "milestone weights cannot split the total: \(error.reason)"
                )
            }
        case .ladder(_, let tiers, let semantics):
            guard let first = tiers.first, first.fromCount == 1 else {
                throw FissionError(code: .invalidRule, reason: "a ladder's first tier must start at the 1st invite")
            }
            for (lower, higher) in zip(tiers, tiers.dropFirst()) where higher.fromCount <= lower.fromCount {
                throw FissionError(code: .invalidRule, reason: "ladder tiers must start at increasing counts")
            }
            guard tiers.allSatisfy({ $0.amountEach >= 0 }), tiers.count <= 64 else {
                throw FissionError(code: .invalidRule, reason: "ladder amounts may not be negative; at most 64 tiers")
            }
            if semantics == .retroactive {
                for (lower, higher) in zip(tiers, tiers.dropFirst()) where higher.amountEach < lower.amountEach {
                    throw FissionError(
                        code: .invalidRule,
                        reason: "a retroactive ladder cannot lower its rate: earlier invites would be paid back"
                    )
                }
            }
        }
    }

    /// The units this rule pays in.
    public var units: [LedgerUnit] {
        switch self.shape {
        case .inviteFixed(let amount), .orderFixed(let amount): [amount.unit]
        case .commission: []  // the order's currency
        case .milestoneSplit(let total, _): [total.unit]
        case .ladder(let unit, _, _): [unit]
        case .mutual(let sharer, let helper): [sharer.unit, helper.unit]
        }
    }
}

extension FissionError.Code {
    /// A reward rule or campaign could not be paid as written.
    public static let invalidRule = Self("invalidRule")
    /// A commission had more levels than the hard cap of 2.
    public static let commissionTooDeep = Self("commissionTooDeep")
}
