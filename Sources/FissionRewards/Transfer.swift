public import FissionCore

/// A transfer's position in its ledger: 1 for the first transfer, then 2, 3 ...
///
/// Ids are assigned in the order transfers are made, so the same commands in the same order give
/// the same ids.
public struct TransferID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The 1-based sequence number.
    public let rawValue: Int64

    /// Creates an id from its sequence number.
    public init(rawValue: Int64) {
        self.rawValue = rawValue
    }

    public var description: String { "#\(self.rawValue)" }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.rawValue)
    }
}

extension TransferID: Strideable {
    /// How many transfers lie between this one and `other`: a range of ids is a collection.
    public func distance(to other: Self) -> Int64 { other.rawValue - self.rawValue }

    /// The id `n` transfers after this one.
    public func advanced(by n: Int64) -> Self { Self(rawValue: self.rawValue + n) }
}

/// What a transfer does.
public enum TransferKind: Hashable, Sendable, Codable {
    /// Moves the amount at once.
    case posted
    /// Reserves the amount: the debit account cannot spend it, the credit account cannot use it
    /// yet. It ends by posting or voiding, each at most once.
    case pending
    /// Posts what remains of a pending transfer.
    case postPending(TransferID)
    /// Releases part or all of what remains of a pending transfer back to its debit account.
    case voidPending(TransferID)
    /// Moves back part or all of a posted transfer (a clawback); the original is never edited.
    case reversal(TransferID)
}

/// The idempotency key of a transfer: the same key can create at most one transfer.
///
/// For a reward grant this is the reward's identity (campaign, rule, beneficiary, source event,
/// part), so granting it twice is impossible whatever the host retries. A reversal is keyed by
/// the refund event that caused it.
public struct TransferKey: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The kind of operation: grants, reversals and fundings never share keys.
    public enum Operation: UInt8, Hashable, Sendable, Codable {
        /// Moving value into a budget from outside.
        case funding
        /// A reward to a member.
        case grant
        /// Taking a grant back after a refund.
        case reversal
        /// Paying a member out of their wallet, for a standalone ``Ledger``'s own use. A
        /// ``Settlement``'s withdrawals have no key (``Settlement/withdraw(_:from:id:at:)``).
        case withdrawal
    }

    /// The operation.
    public let operation: Operation
    /// The campaign.
    public let campaign: CampaignID
    /// The rule that produced the transfer, if any.
    public let rule: RuleID?
    /// Who benefits, if anyone.
    public let beneficiary: MemberID?
    /// The host event that caused the transfer (an order paid, a refund, a funding request).
    public let source: EventID
    /// Which part: a milestone's index, a commission level, a leg of a linked reversal.
    public let part: Int32

    /// Creates a key.
    public init(
        _ operation: Operation,
        campaign: CampaignID,
        rule: RuleID? = nil,
        beneficiary: MemberID? = nil,
        source: EventID,
        part: Int32 = 0
    ) {
        self.operation = operation
        self.campaign = campaign
        self.rule = rule
        self.beneficiary = beneficiary
        self.source = source
        self.part = part
    }

    public var description: String {
        "\(self.operation)/\(self.campaign)/\(self.rule?.description ?? "-")/"
            + "\(self.beneficiary?.description ?? "-")/\(self.source)/\(self.part)"
    }
}

/// Why a transfer was made: the command and the rule version that produced it.
public struct TransferReason: Hashable, Sendable, Codable {
    /// The host command (its idempotency key) that caused the transfer.
    public let command: EventID
    /// The rule that decided it, if a rule did.
    public let rule: RuleID?
    /// The version of the campaign's rules in force.
    public let ruleVersion: Int32

    /// Creates a reason.
    public init(command: EventID, rule: RuleID? = nil, ruleVersion: Int32 = 0) {
        self.command = command
        self.rule = rule
        self.ruleVersion = ruleVersion
    }
}

/// An immutable movement of value from one account to another.
public struct Transfer: Hashable, Sendable, Codable {
    /// Its position in the ledger.
    public let id: TransferID
    /// Its idempotency key; `nil` for posts and voids of pending transfers, which are unique by
    /// the pending transfer they resolve, for the second leg of a reversal split between a wallet
    /// and a receivable (made together with the first, under its key), and for a withdrawal's or a
    /// debt write-off's transfers,
    /// which are unique by its id, their ``TransferReason/command``
    /// (``Settlement/withdraw(_:from:id:at:)``, ``Settlement/writeOffDebt(_:of:id:at:)``).
    public let key: TransferKey?
    /// What it does.
    public let kind: TransferKind
    /// The account debited.
    public let debit: AccountKey
    /// The account credited.
    public let credit: AccountKey
    /// The amount, in the unit's smallest unit; always positive.
    public let amount: Int64
    /// Why it was made.
    public let reason: TransferReason
    /// When it was made.
    public let at: Timestamp
    /// For a pending transfer: when its hold ends and it may post.
    public let holdUntil: Timestamp?

    /// The unit moved.
    public var unit: LedgerUnit { self.debit.unit }
}

/// The state of a pending transfer.
public enum PendingState: Hashable, Sendable, Codable {
    /// Still reserved; `remaining` is what would post.
    case open(remaining: Int64)
    /// Posted (`amount` of it; the rest, if any, was voided earlier).
    case posted(TransferID)
    /// Voided entirely.
    case voided
}
