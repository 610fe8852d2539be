public import FissionCore

/// A happening in the host that reward rules react to.
///
/// The host reports facts it knows best: who invited a new member (as the invite graph bound it),
/// which inviters an order is attributed to (snapshotted when the order was placed, so a later
/// rebinding does not move its commission), how many paid orders the buyer has, and what was
/// actually paid in cash, net of coupons and balance payments.
public enum RewardEvent: Hashable, Sendable, Codable {
    /// A member registered, possibly through an invite.
    case memberRegistered(member: MemberID, inviter: MemberID?, at: Timestamp)
    /// An order was paid.
    case orderPaid(OrderPaid)
    /// Part or all of a paid order was refunded. An order that paid nothing (coupons, balance) is
    /// refunded in full by an amount of zero: its fixed rewards are undone.
    case orderRefunded(order: OrderID, amount: Money, at: Timestamp)
    /// A friend helped a sharer (a mutual-benefit share).
    case helped(sharer: MemberID, helper: MemberID, at: Timestamp)

    /// When it happened.
    public var at: Timestamp {
        switch self {
        case .memberRegistered(_, _, let at), .orderRefunded(_, _, let at), .helped(_, _, let at): at
        case .orderPaid(let order): order.at
        }
    }

    /// A fingerprint that is the same for equal events in every process, under `scheme`.
    @inline(__always)
    func digest(_ scheme: DigestScheme) -> UInt64 {
        switch scheme {
        case .foldedMultiply:
            var hasher = FoldedMultiplyDigestHasher()
            self.combine(into: &hasher)
            return hasher.value
        case .doubleRound:
            var hasher = DoubleRoundDigestHasher()
            self.combine(into: &hasher)
            return hasher.value
        }
    }

    /// Feeds the event's words to `hasher`, the same words for every scheme.
    @inline(__always)
    func combine<Hasher: DigestHashing>(into hasher: inout Hasher) {
        switch self {
        case .memberRegistered(let member, let inviter, let at):
            hasher.combine(1 as UInt64)
            hasher.combine(member)
            hasher.combine(inviter != nil)
            if let inviter { hasher.combine(inviter) }
            hasher.combine(at.millisecondsSinceEpoch)
        case .orderPaid(let order):
            hasher.combine(2 as UInt64)
            hasher.combine(order.order)
            hasher.combine(order.buyer)
            hasher.combine(Int64(order.inviters.count))
            for inviter in order.inviters { hasher.combine(inviter) }
            hasher.combine(order.kind.digestCode)
            hasher.combine(order.buyerPaidOrderCount)
            hasher.combine(Int64(order.lines.count))
            for line in order.lines {
                hasher.combine(line.sku)
                hasher.combine(line.quantity)
                hasher.combine(line.netPaid)
            }
            hasher.combine(order.at.millisecondsSinceEpoch)
        case .orderRefunded(let order, let amount, let at):
            hasher.combine(3 as UInt64)
            hasher.combine(order)
            hasher.combine(amount)
            hasher.combine(at.millisecondsSinceEpoch)
        case .helped(let sharer, let helper, let at):
            hasher.combine(4 as UInt64)
            hasher.combine(sharer)
            hasher.combine(helper)
            hasher.combine(at.millisecondsSinceEpoch)
        }
    }
}

/// How a campaign fingerprints the events it settles (Decision 0021). A campaign keeps its scheme
/// for life, because its settled events' fingerprints are compared with their retries'.
enum DigestScheme: UInt8, Sendable {
    /// Two multiply-xorshift rounds per word: campaigns restored from a version-1 settlement
    /// snapshot, whose fingerprints were made this way.
    case doubleRound = 0
    /// One full-width multiplication per word, its halves folded together, in two chains: every
    /// campaign added since version 2. (Byte 1 is never used: an unreleased build wrote it for
    /// another scheme.)
    case foldedMultiply = 2
}

/// Deterministic 64-bit fingerprints of events, the same in every process, a word at a time.
///
/// Swift's `Hasher` is seeded per process, so it cannot fingerprint a payload that must compare
/// equal after a restart (a snapshot keeps the fingerprints). Two unrelated events share a
/// fingerprint about once in 2^64; pairs built to differ in chosen bits collide far more often
/// (see the schemes). It is not cryptographic: it tells a retry from a reused id, not from an attacker.
///
/// An event's words are fed to one of these (``RewardEvent/combine(into:)``), which each scheme
/// implements.
protocol DigestHashing {
    mutating func combine(_ word: UInt64)
}

extension DigestHashing {
    @inline(__always)
    mutating func combine(_ value: Int64) { self.combine(UInt64(bitPattern: value)) }

    @inline(__always)
    mutating func combine(_ value: Bool) { self.combine(value ? 1 as UInt64 : 0) }

    mutating func combine(_ string: String) {
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { bytes in
            self.combine(UInt64(bytes.count))
            var offset = 0
            while offset < bytes.count {
                var word: UInt64 = 0
                for (shift, byte) in bytes[offset..<min(offset + 8, bytes.count)].enumerated() {
                    word |= UInt64(byte) << UInt64(shift * 8)
                }
                self.combine(word)
                offset += 8
            }
        }
        if done != nil { return }
        self.combine(UInt64(string.utf8.count))
        var word: UInt64 = 0
        var shift: UInt64 = 0
        for byte in string.utf8 {
            word |= UInt64(byte) << shift
            shift += 8
            if shift == 64 {
                self.combine(word)
                word = 0
                shift = 0
            }
        }
        if shift > 0 { self.combine(word) }
    }

    @inline(__always)
    mutating func combine<Kind>(_ identifier: Identifier<Kind>) {
        switch identifier.value {
        case .integer(let integer):
            self.combine(0 as UInt64)
            self.combine(integer)
        case .string(let string):
            self.combine(1 as UInt64)
            self.combine(string)
        }
    }

    @inline(__always)
    mutating func combine(_ money: Money) {
        self.combine(money.minorUnits)
        // As `combine(money.currency.code)` would: the length, then the three bytes in one word.
        let letters = UInt64(money.currency.letters)
        self.combine(3 as UInt64)
        self.combine(letters >> 16 | (letters >> 8 & 0xFF) << 8 | (letters & 0xFF) << 16)
        self.combine(Int64(money.currency.minorUnitDigits))
    }
}

/// The fingerprint of ``DigestScheme/doubleRound``: two multiplications and two xorshifts per word,
/// each round a bijection, so events one word apart never share a fingerprint. Kept for the
/// campaigns that version-1 snapshots hold.
struct DoubleRoundDigestHasher: DigestHashing {
    private(set) var value: UInt64 = 0x243F_6A88_85A3_08D3

    @inline(__always)
    mutating func combine(_ word: UInt64) {
        var state = (self.value ^ word) &* 0x9E37_79B9_7F4A_7C15
        state ^= state >> 32
        state = state &* 0xD6E8_FEB8_6659_FD93
        self.value = state ^ (state >> 29)
    }
}

/// The fingerprint of ``DigestScheme/foldedMultiply``: one full-width multiplication per word,
/// its two halves folded together with an xor, the words alternating between two chains.
///
/// A settled event's retry is fingerprinted and little else, and the chain of rounds, each waiting
/// on the one before, was most of a repeat's time: two chains run side by side and each round is
/// half as long as version 1's (Decision 0021). With a 64-bit multiplication followed by a shift,
/// a difference in a word's top bit reaches known bits whatever the state, and a chosen difference
/// in the chain's next word cancels it every time; through the fold's high half the difference
/// depends on the state, so such a pair cancels only by chance (about once in 2^20 for the
/// likeliest pair).
struct FoldedMultiplyDigestHasher: DigestHashing {
    /// The chain the next word goes to, and the other one.
    private var next: UInt64 = 0x243F_6A88_85A3_08D3
    private var other: UInt64 = 0x1319_8A2E_0370_7344

    @inline(__always)
    private static func fold(_ input: UInt64) -> UInt64 {
        let product = input.multipliedFullWidth(by: 0x9E37_79B9_7F4A_7C15)
        return product.high ^ product.low
    }

    @inline(__always)
    mutating func combine(_ word: UInt64) {
        // The chains swap roles after each word, without a branch: word i goes to chain i % 2.
        (self.next, self.other) = (self.other, Self.fold(self.next ^ word))
    }

    /// Both chains, joined.
    var value: UInt64 { Self.fold(self.next ^ Self.fold(self.other ^ 0xA409_3822_299F_31D0)) }
}

/// A paid order, as the host reports it.
public struct OrderPaid: Hashable, Sendable, Codable {
    /// One line of an order.
    public struct Line: Hashable, Sendable, Codable {
        /// The product.
        public let sku: SKUID
        /// Units bought; positive.
        public let quantity: Int64
        /// Cash actually paid for the line, net of coupons, balance and credits: the commission base.
        public let netPaid: Money

        /// Creates a line.
        public init(sku: SKUID, quantity: Int64, netPaid: Money) {
            self.sku = sku
            self.quantity = quantity
            self.netPaid = netPaid
        }
    }

    /// The most lines one order may have.
    public static var maximumLines: Int { 1_000 }

    /// The fields, in one immutable object: an event passes through several copies on its way
    /// through settlement, and a copy then retains one reference instead of four (two ids and two
    /// arrays), each through the value witnesses of its type.
    private final class Fields: Sendable {
        let order: OrderID
        let buyer: MemberID
        let inviters: [MemberID]
        let kind: OrderKind
        let buyerPaidOrderCount: Int64
        let lines: [Line]
        let at: Timestamp

        init(
            order: OrderID,
            buyer: MemberID,
            inviters: [MemberID],
            kind: OrderKind,
            buyerPaidOrderCount: Int64,
            lines: [Line],
            at: Timestamp
        ) {
            self.order = order
            self.buyer = buyer
            self.inviters = inviters
            self.kind = kind
            self.buyerPaidOrderCount = buyerPaidOrderCount
            self.lines = lines
            self.at = at
        }
    }

    private let fields: Fields

    /// The host's order id.
    public var order: OrderID { self.fields.order }
    /// Who paid.
    public var buyer: MemberID { self.fields.buyer }
    /// The buyer's inviter and that inviter's inviter, as attributed when the order was placed
    /// (level 1 first). Empty when the buyer was not invited.
    public var inviters: [MemberID] { self.fields.inviters }
    /// What kind of order it is.
    public var kind: OrderKind { self.fields.kind }
    /// How many paid orders the buyer has, this one included: 1 for a first order.
    public var buyerPaidOrderCount: Int64 { self.fields.buyerPaidOrderCount }
    /// The lines.
    public var lines: [Line] { self.fields.lines }
    /// When it was paid.
    public var at: Timestamp { self.fields.at }

    /// Creates a paid order.
    ///
    /// - Throws: ``FissionError/Code/invalidOrder`` for no lines or too many, a line with a
    ///   non-positive quantity or a negative amount, lines in different currencies, a buyer who is
    ///   their own inviter, repeated inviters, more than two inviters, or an order count below 1.
    public init(
        order: OrderID,
        buyer: MemberID,
        inviters: [MemberID],
        kind: OrderKind = .regular,
        buyerPaidOrderCount: Int64,
        lines: [Line],
        at: Timestamp
    ) throws(FissionError) {
        guard !lines.isEmpty, lines.count <= Self.maximumLines else {
            throw FissionError(code: .invalidOrder, reason: "order \(order) has \(lines.count) lines; 1...1000 allowed")
        }
        guard lines.allSatisfy({ $0.quantity > 0 && !$0.netPaid.isNegative }) else {
            throw FissionError(
                code: .invalidOrder,
                reason: "order \(order) has a line with no units or a negative amount"
            )
        }
        guard lines.allSatisfy({ $0.netPaid.currency == lines[0].netPaid.currency }) else {
            throw FissionError(code: .currencyMismatch, reason: "order \(order) mixes currencies")
        }
        // At most two inviters: comparing them pairwise hashes no id and allocates no set.
        guard inviters.count <= RewardRule.maximumCommissionLevels, !inviters.contains(buyer),
            inviters.indices.allSatisfy({ !inviters[..<$0].contains(inviters[$0]) })
        else {
            throw FissionError(
                code: .invalidOrder,
                reason: "order \(order): inviters must be at most 2 distinct members other than the buyer"
            )
        }
        guard buyerPaidOrderCount >= 1 else {
            throw FissionError(code: .invalidOrder, reason: "order \(order): buyerPaidOrderCount must be 1 or more")
        }
        var total: Int64 = 0
        for line in lines { total = try total.checkedAdding(line.netPaid.minorUnits, "order \(order) total") }
        self.fields = Fields(
            order: order,
            buyer: buyer,
            inviters: inviters,
            kind: kind,
            buyerPaidOrderCount: buyerPaidOrderCount,
            lines: lines,
            at: at
        )
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.fields === rhs.fields
            || (lhs.order == rhs.order && lhs.buyer == rhs.buyer && lhs.inviters == rhs.inviters
                && lhs.kind == rhs.kind && lhs.buyerPaidOrderCount == rhs.buyerPaidOrderCount
                && lhs.lines == rhs.lines && lhs.at == rhs.at)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.order)
        hasher.combine(self.buyer)
        hasher.combine(self.inviters)
        hasher.combine(self.kind)
        hasher.combine(self.buyerPaidOrderCount)
        hasher.combine(self.lines)
        hasher.combine(self.at)
    }

    /// Encodes the order as Swift would synthesize it: a keyed container with the properties' names.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.order, forKey: .order)
        try container.encode(self.buyer, forKey: .buyer)
        try container.encode(self.inviters, forKey: .inviters)
        try container.encode(self.kind, forKey: .kind)
        try container.encode(self.buyerPaidOrderCount, forKey: .buyerPaidOrderCount)
        try container.encode(self.lines, forKey: .lines)
        try container.encode(self.at, forKey: .at)
    }

    /// The order's net paid total.
    public var netPaid: Money {
        // Validated at creation not to overflow.
        Money(minorUnits: self.lines.reduce(0) { $0 + $1.netPaid.minorUnits }, currency: self.lines[0].netPaid.currency)
    }
}

extension OrderPaid: CustomReflectable {
    /// The order's fields, as `print`, `dump` and test failures show them.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "order": self.order, "buyer": self.buyer, "inviters": self.inviters, "kind": self.kind,
                "buyerPaidOrderCount": self.buyerPaidOrderCount, "lines": self.lines, "at": self.at,
            ],
            displayStyle: .struct
        )
    }
}

/// The rule for a refund's amount, wherever an order's refunds are counted (the settlement's
/// campaigns and the engine's order book): one rule, so the two never disagree.
package enum OrderRefund {
    /// The order's refunded total, in minor units, once `amount` is refunded.
    ///
    /// A refund is positive, except that an order that paid nothing (coupons, balance) takes a
    /// refund of zero, which refunds it in full: it may still have earned fixed rewards.
    ///
    /// - Parameters:
    ///   - order: The order, for the errors' messages.
    ///   - paid: What the order paid; `amount` is in its currency (the caller checks).
    ///   - refunded: Minor units refunded so far.
    ///   - amount: The refund.
    /// - Throws: ``FissionCore/FissionError/Code/invalidAmount`` for a refund that is not
    ///   positive; ``FissionCore/FissionError/Code/refundExceedsPayment`` when the refunds would
    ///   total more than was paid.
    package static func refundedTotal(
        of order: OrderID,
        paid: Money,
        refunded: Int64,
        adding amount: Money
    ) throws(FissionError) -> Int64 {
        guard amount.minorUnits > 0 || (paid.minorUnits == 0 && amount.minorUnits == 0) else {
            throw FissionError(
                code: .invalidAmount,
                reason: "a refund of \(amount) is not positive (only an order that paid nothing takes a refund of zero)"
            )
        }
        let total = try refunded.checkedAdding(amount.minorUnits, "refunded total of \(order)")
        guard total <= paid.minorUnits else {
            throw FissionError(
                code: .refundExceedsPayment,
                reason: "order \(order) paid \(paid); refunds would total "
                    + "\(Money(minorUnits: total, currency: paid.currency))"
            )
        }
        return total
    }
}

extension OrderKind {
    /// A stable number for the event fingerprint (the raw value's text, hashed, is slower).
    var digestCode: UInt64 {
        switch self {
        case .regular: 1
        case .bargain: 2
        case .groupBuy: 3
        case .flashSale: 4
        }
    }
}

extension FissionError.Code {
    /// A paid order was malformed.
    public static let invalidOrder = Self("invalidOrder")
    /// A refund named an order the campaign has not seen paid.
    public static let orderNotFound = Self("orderNotFound")
    /// A refund would take the refunded total past what was paid.
    public static let refundExceedsPayment = Self("refundExceedsPayment")
    /// An order was reported paid twice under different event ids.
    public static let duplicateOrder = Self("duplicateOrder")
    /// A member was reported registered twice under different event ids.
    public static let duplicateRegistration = Self("duplicateRegistration")
    /// The campaign is unknown.
    public static let campaignNotFound = Self("campaignNotFound")
    /// A campaign was added twice.
    public static let duplicateCampaign = Self("duplicateCampaign")
    /// An event that could earn rewards came before the campaign started or after it ended.
    public static let outsideCampaignWindow = Self("outsideCampaignWindow")
    /// A member was their own inviter or helper.
    public static let selfReferral = Self("selfReferral")
}
