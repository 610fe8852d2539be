public import FissionCore

/// The revision of Fission's settlement arithmetic a campaign settles under, fixed when the campaign
/// is built.
///
/// A settlement must grant the same for the same events in every later version of Fission: a
/// journal replays to the outcomes it recorded, and a restored snapshot continues where it left
/// off. So when a release changes what a rule grants, campaigns built before keep the old
/// arithmetic (their revision), and campaigns built after get the new one (``latest``). Decision
/// 0027 records why each revision exists.
public enum SettlementRevision: UInt8, Hashable, Comparable, Sendable, Codable, CaseIterable {
    /// How Fission settled until December 2026. Three rules pay less than their documentation says:
    /// a retroactive ladder does not reprice invites its tier priced at 0, a rejected ladder grant
    /// still counts toward later top-ups, and a milestone split pays its repurchase part only on a
    /// buyer's 2nd paid order (not on a later one when the 2nd earned nothing).
    case one = 1
    /// Revision ``one`` with those three corrected: an invite priced at 0 counts toward a
    /// retroactive ladder's repricing; rejecting an invite's own ladder grant takes the invite off
    /// the ladder (a rejected top-up stays rejected); the repurchase part is paid on the first paid
    /// order after the first that earns it.
    case two = 2
    /// Revision ``two`` with a `mutual` rule paid as its eligibility and hold say: under
    /// ``RewardRule/Eligibility/newMembersOnly`` a help counts only when the helper registered in
    /// the campaign (earlier revisions paid both sides for any helper), and its grants are held
    /// for the rule's ``RewardRule/holdDays`` as registration grants are (earlier revisions posted
    /// them at once whatever the rule said).
    case three = 3

    /// The revision campaigns are built with unless they say otherwise.
    public static var latest: Self { .three }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

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
    /// The settlement arithmetic the campaign's rules are paid by: ``SettlementRevision/latest``
    /// unless the campaign was built by an earlier Fission (read from its journal or snapshot).
    public private(set) var settlementRevision: SettlementRevision

    /// Creates a campaign.
    ///
    /// Leave `settlementRevision` at its default: an earlier revision exists so that campaigns
    /// published before a correction keep settling as they did, not for new campaigns.
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
        rules: [RewardRule],
        settlementRevision: SettlementRevision = .latest
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
        self.settlementRevision = settlementRevision
    }

    /// This campaign under another settlement revision: how the engine reads a campaign its journal
    /// recorded before revisions existed.
    package func settling(under revision: SettlementRevision) -> Self {
        var campaign = self
        campaign.settlementRevision = revision
        return campaign
    }

    /// Whether `instant` is inside the campaign's window.
    public func isLive(at instant: Timestamp) -> Bool {
        instant >= self.startsAt && instant < self.endsAt
    }
}
