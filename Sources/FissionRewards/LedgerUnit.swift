public import FissionCore

/// What a ledger account counts: money in one currency, points, or units of one reward item.
///
/// Every reward kind is a unit, and a transfer moves whole amounts of exactly one unit. For money
/// the amount is minor units (fen); for everything else it is a count.
public enum LedgerUnit: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Money in a currency, counted in minor units.
    case money(Currency)
    /// Loyalty points.
    case points
    /// Coupons of one type (the SKU names the coupon type and so its face value).
    case coupon(SKUID)
    /// Physical gifts of one SKU, with limited stock.
    case gift(SKUID)
    /// Virtual goods of one kind: membership days, phone credit.
    case virtualGood(SKUID)
    /// Draws in a card-collection campaign.
    case cardDraw
    /// Lottery draws.
    case lotteryDraw

    public var description: String {
        switch self {
        case .money(let currency): "money(\(currency))"
        case .points: "points"
        case .coupon(let type): "coupon(\(type))"
        case .gift(let sku): "gift(\(sku))"
        case .virtualGood(let sku): "virtualGood(\(sku))"
        case .cardDraw: "cardDraw"
        case .lotteryDraw: "lotteryDraw"
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.money(let left), .money(let right)):
            (left.letters, left.minorUnitDigits) < (right.letters, right.minorUnitDigits)
        case (.coupon(let left), .coupon(let right)), (.gift(let left), .gift(let right)),
            (.virtualGood(let left), .virtualGood(let right)):
            left < right
        default: lhs.order < rhs.order
        }
    }

    private var order: Int {
        switch self {
        case .money: 0
        case .points: 1
        case .coupon: 2
        case .gift: 3
        case .virtualGood: 4
        case .cardDraw: 5
        case .lotteryDraw: 6
        }
    }
}
