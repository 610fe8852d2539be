public import FissionCore

/// Who an account belongs to.
public enum AccountOwner: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// A campaign's budget: funded from outside, spent on grants. Never below zero.
    case budget(CampaignID)
    /// A member's wallet: receives grants. Never below zero.
    case wallet(MemberID)
    /// What a member owes when a clawback outruns their wallet. May go below zero, and only it
    /// may: a negative receivable is a debt, never a silent loss.
    case receivable(MemberID)
    /// Everything outside the ledger: where budgets are funded from and payouts go to.
    case outside

    public var description: String {
        switch self {
        case .budget(let campaign): "budget(\(campaign))"
        case .wallet(let member): "wallet(\(member))"
        case .receivable(let member): "receivable(\(member))"
        case .outside: "outside"
        }
    }

    /// The balance limits an account of this owner carries.
    public var flags: AccountFlags {
        switch self {
        case .budget, .wallet: .debitsMustNotExceedCredits
        case .receivable, .outside: []
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.budget(let left), .budget(let right)): left < right
        case (.wallet(let left), .wallet(let right)), (.receivable(let left), .receivable(let right)): left < right
        default: lhs.order < rhs.order
        }
    }

    private var order: Int {
        switch self {
        case .budget: 0
        case .wallet: 1
        case .receivable: 2
        case .outside: 3
        }
    }
}

/// One account: an owner and the unit it counts.
public struct AccountKey: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Who the account belongs to.
    public let owner: AccountOwner
    /// What it counts.
    public let unit: LedgerUnit

    /// Creates an account key.
    public init(_ owner: AccountOwner, _ unit: LedgerUnit) {
        self.owner = owner
        self.unit = unit
    }

    /// A campaign's budget in `unit`.
    public static func budget(_ campaign: CampaignID, _ unit: LedgerUnit) -> AccountKey {
        AccountKey(.budget(campaign), unit)
    }

    /// A member's wallet in `unit`.
    public static func wallet(_ member: MemberID, _ unit: LedgerUnit) -> AccountKey {
        AccountKey(.wallet(member), unit)
    }

    /// What a member owes in `unit`.
    public static func receivable(_ member: MemberID, _ unit: LedgerUnit) -> AccountKey {
        AccountKey(.receivable(member), unit)
    }

    /// The outside world in `unit`.
    public static func outside(_ unit: LedgerUnit) -> AccountKey {
        AccountKey(.outside, unit)
    }

    public var description: String { "\(self.owner)/\(self.unit)" }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.unit == rhs.unit ? lhs.owner < rhs.owner : lhs.unit < rhs.unit
    }
}

/// Balance limits on an account, checked whenever a transfer is made (TigerBeetle's flags).
public struct AccountFlags: OptionSet, Hashable, Sendable, Codable {
    public let rawValue: UInt8

    /// Creates flags from their raw bits.
    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// Posted plus pending debits may never exceed posted credits: the account cannot go below
    /// zero, and money reserved by a pending transfer cannot be spent twice.
    public static let debitsMustNotExceedCredits = AccountFlags(rawValue: 1)
}

/// An account's four running totals, as TigerBeetle keeps them.
public struct AccountBalance: Hashable, Sendable, Codable {
    /// Debits reserved by pending transfers.
    public internal(set) var debitsPending: Int64
    /// Debits posted.
    public internal(set) var debitsPosted: Int64
    /// Credits reserved by pending transfers.
    public internal(set) var creditsPending: Int64
    /// Credits posted.
    public internal(set) var creditsPosted: Int64

    /// A zero balance.
    public static let zero = AccountBalance(debitsPending: 0, debitsPosted: 0, creditsPending: 0, creditsPosted: 0)

    /// What can be spent now: posted credits less posted and pending debits.
    ///
    /// For a wallet this is the withdrawable balance; for a budget, what is left to grant.
    public var available: Int64 { self.creditsPosted - self.debitsPosted - self.debitsPending }

    /// Incoming amounts still on hold: pending credits.
    public var pending: Int64 { self.creditsPending }

    /// The balance once every pending transfer posts: posted and pending credits less debits.
    public var total: Int64 {
        self.creditsPosted + self.creditsPending - self.debitsPosted - self.debitsPending
    }

    /// The posted balance: credits less debits, both posted. Negative for a debt.
    public var posted: Int64 { self.creditsPosted - self.debitsPosted }
}
