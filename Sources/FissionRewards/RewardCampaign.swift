public import FissionCore

/// A campaign's reward configuration: its window, its rules and the version they are at.
///
/// A campaign's budgets are ledger accounts (``AccountKey/budget(_:_:)``), one per unit it pays
/// in; fund them with ``Settlement/fund(_:amount:id:at:)`` before events arrive.
public struct RewardCampaign: Hashable, Sendable, Codable {
    /// The most rules one campaign may have.
    public static var maximumRules: Int { 64 }

    /// The campaign's id.
    public let id: CampaignID
    /// The version of its rules; every grant records it.
    public let version: Int32
    /// The first instant events earn rewards.
    public let startsAt: Timestamp
    /// The first instant events no longer earn rewards. Refunds are still handled after it.
    public let endsAt: Timestamp
    /// The offset that decides which day it is for daily caps.
    public let offset: UTCOffset
    /// The currency money rewards and orders are in.
    public let currency: Currency
    /// The rules, applied in this order.
    public let rules: [RewardRule]

    /// Creates a campaign.
    ///
    /// - Throws: ``FissionError/Code/invalidRule`` if the window is empty, there are no rules or
    ///   more than ``maximumRules``, two rules share an id, or a money reward is in another currency
    ///   (``FissionError/Code/currencyMismatch``).
    public init(
        id: CampaignID,
        version: Int32 = 1,
        startsAt: Timestamp,
        endsAt: Timestamp,
        offset: UTCOffset,
        currency: Currency,
        rules: [RewardRule]
    ) throws(FissionError) {
        guard startsAt < endsAt else {
            throw FissionError(
                code: .invalidRule,
                reason: "campaign \(id) ends (\(endsAt)) before it starts (\(startsAt))"
            )
        }
        guard !rules.isEmpty, rules.count <= Self.maximumRules else {
            throw FissionError(code: .invalidRule, reason: "campaign \(id) has \(rules.count) rules; 1...64 allowed")
        }
        guard Set(rules.map(\.id)).count == rules.count else {
            throw FissionError(code: .invalidRule, reason: "campaign \(id) has two rules with the same id")
        }
        for rule in rules {
            for case .money(let other) in rule.units where other != currency {
                throw FissionError(
                    code: .currencyMismatch,
                    reason: "rule \(rule.id) pays \(other); campaign \(id) is in \(currency)"
                )
            }
        }
        self.id = id
        self.version = version
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.offset = offset
        self.currency = currency
        self.rules = rules
    }

    /// Whether `instant` is inside the campaign's window.
    public func isLive(at instant: Timestamp) -> Bool {
        instant >= self.startsAt && instant < self.endsAt
    }
}
