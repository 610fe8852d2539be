/// An amount of money: whole minor units (fen, cents) and a currency. Never floating point.
///
/// A `Money` may be negative (a balance that owes); operations that only make sense for an
/// amount of zero or more, such as ``portion(_:)`` and ``split(weights:)``, say so and throw.
/// All arithmetic is checked: overflow and mixing currencies throw, they never trap.
///
/// ```swift
/// let reward = try Money(parsing: "50", currency: .cny)             // 5000 fen
/// let parts = try reward.split(weights: [15, 15, 20])                // 15 + 15 + 20 yuan
/// let commission = try order.portion(BasisPoints(1_000))             // 10%, rounded down
/// ```
public struct Money: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The amount in minor units: fen for CNY, cents for USD, yen for JPY.
    public let minorUnits: Int64
    /// The currency of the amount.
    public let currency: Currency

    /// Creates an amount from minor units.
    public init(minorUnits: Int64, currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// Zero in `currency`.
    public static func zero(_ currency: Currency) -> Money {
        Money(minorUnits: 0, currency: currency)
    }

    /// Reads a decimal amount in major units, such as `"12.34"` or `"-0.5"` for CNY.
    ///
    /// - Parameters:
    ///   - text: An optional `-`, digits, and optionally `.` followed by at most as many digits as
    ///     the currency's minor unit has. No grouping separators, spaces or exponents.
    ///   - currency: The currency the amount is in.
    /// - Throws: ``FissionError/Code/malformedAmount`` for anything else, including more fraction
    ///   digits than the currency has (no silent rounding); ``FissionError/Code/arithmeticOverflow``
    ///   if the amount does not fit in 64 bits of minor units.
    public init(parsing text: String, currency: Currency) throws(FissionError) {
        var bytes = Substring(text).utf8[...]
        let isNegative = bytes.first == UInt8(ascii: "-")
        if isNegative { bytes = bytes.dropFirst() }
        let wholeDigits = bytes.prefix { $0 != UInt8(ascii: ".") }
        var fractionDigits = bytes.dropFirst(wholeDigits.count)
        let hasPoint = !fractionDigits.isEmpty
        if hasPoint { fractionDigits = fractionDigits.dropFirst() }
        let isDigit: (UInt8) -> Bool = { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard !wholeDigits.isEmpty, wholeDigits.allSatisfy(isDigit), fractionDigits.allSatisfy(isDigit),
            !(hasPoint && fractionDigits.isEmpty)
        else {
            throw FissionError(code: .malformedAmount, reason: "\"\(text)\" is not a decimal amount like 12.34")
        }
        guard fractionDigits.count <= currency.minorUnitDigits else {
            throw FissionError(
                code: .malformedAmount,
                reason:
                    "\"\(text)\" has \(fractionDigits.count) fraction digits; \(currency) has \(currency.minorUnitDigits)"
            )
        }
        // Accumulate negatively so that Int64.min minor units can be read.
        var minorUnits: Int64 = 0
        let paddedFraction =
            Array(fractionDigits)
            + Array(repeating: UInt8(ascii: "0"), count: currency.minorUnitDigits - fractionDigits.count)
        for digit in Array(wholeDigits) + paddedFraction {
            minorUnits = try minorUnits.checkedMultiplying(by: 10, "amount \"\(text)\"")
            minorUnits = try minorUnits.checkedSubtracting(Int64(digit - UInt8(ascii: "0")), "amount \"\(text)\"")
        }
        if !isNegative {
            minorUnits = try Int64(0).checkedSubtracting(minorUnits, "amount \"\(text)\"")
        }
        self.init(minorUnits: minorUnits, currency: currency)
    }

    /// Whether the amount is below zero.
    public var isNegative: Bool { self.minorUnits < 0 }
    /// Whether the amount is zero.
    public var isZero: Bool { self.minorUnits == 0 }

    // MARK: Checked arithmetic

    /// The sum of two amounts in the same currency.
    ///
    /// - Throws: ``FissionError/Code/currencyMismatch`` or ``FissionError/Code/arithmeticOverflow``.
    public func adding(_ other: Money) throws(FissionError) -> Money {
        try self.requireSameCurrency(other)
        return Money(minorUnits: try self.minorUnits.checkedAdding(other.minorUnits, "money"), currency: self.currency)
    }

    /// The difference of two amounts in the same currency; may be negative.
    ///
    /// - Throws: ``FissionError/Code/currencyMismatch`` or ``FissionError/Code/arithmeticOverflow``.
    public func subtracting(_ other: Money) throws(FissionError) -> Money {
        try self.requireSameCurrency(other)
        return Money(
            minorUnits: try self.minorUnits.checkedSubtracting(other.minorUnits, "money"),
            currency: self.currency
        )
    }

    /// The amount times a whole factor, such as a quantity.
    ///
    /// - Throws: ``FissionError/Code/arithmeticOverflow``.
    public func multiplied(by factor: Int64) throws(FissionError) -> Money {
        Money(minorUnits: try self.minorUnits.checkedMultiplying(by: factor, "money"), currency: self.currency)
    }

    /// The amount with its sign flipped.
    ///
    /// - Throws: ``FissionError/Code/arithmeticOverflow`` for `Int64.min` minor units.
    public func negated() throws(FissionError) -> Money {
        Money(minorUnits: try Int64(0).checkedSubtracting(self.minorUnits, "money"), currency: self.currency)
    }

    /// A rate of this amount, rounded down to the minor unit (a commission).
    ///
    /// The result is never more than the amount; the fraction of a minor unit that rounding drops
    /// is the caller's to keep (Fission leaves it in the campaign budget).
    ///
    /// - Throws: ``FissionError/Code/negativeAmount`` if the amount is negative.
    public func portion(_ rate: BasisPoints) throws(FissionError) -> Money {
        try self.requireNonNegative("take a portion of")
        let (quotient, _) = self.minorUnits.scaledDown(numerator: rate.value, denominator: BasisPoints.whole.value)
        return Money(minorUnits: quotient, currency: self.currency)
    }

    /// Splits the amount into parts proportional to `weights`, exactly.
    ///
    /// Uses the largest-remainder method: the parts always add up to the amount, a zero weight
    /// gets zero, and no part is negative. `50 yuan` split `[15, 15, 20]` is 15, 15 and 20 yuan;
    /// `1.00` split in three is `0.34, 0.33, 0.33` (the first part takes the odd fen).
    ///
    /// - Parameter weights: 1 to 10,000 non-negative weights, not all zero.
    /// - Returns: One part per weight, in the same order.
    /// - Throws: ``FissionError/Code/negativeAmount`` if the amount is negative;
    ///   ``FissionError/Code/invalidWeights`` for empty, negative, all-zero, too many or overflowing weights.
    /// - Complexity: O(*n* log *n*) for *n* weights.
    public func split(weights: [Int64]) throws(FissionError) -> [Money] {
        try self.requireNonNegative("split")
        return try splitExactly(self.minorUnits, weights: weights).map {
            Money(minorUnits: $0, currency: self.currency)
        }
    }

    /// Splits the amount into `count` parts that differ by at most one minor unit, larger first.
    ///
    /// - Throws: As ``split(weights:)``.
    /// - Complexity: O(*count* log *count*).
    public func split(evenly count: Int) throws(FissionError) -> [Money] {
        guard count > 0, count <= maximumSplitParts else {
            throw FissionError(code: .invalidWeights, reason: "cannot split into \(count) parts")
        }
        return try self.split(weights: Array(repeating: 1, count: count))
    }

    // MARK: Text

    /// The amount in major units with exactly the currency's digits, such as `"-12.30"`.
    public var decimalString: String {
        let digits = self.currency.minorUnitDigits
        let magnitude = self.minorUnits.magnitude
        let sign = self.minorUnits < 0 ? "-" : ""
        guard digits > 0 else { return sign + String(magnitude) }
        let factor = UInt64(self.currency.minorUnitsPerMajorUnit)
        let fraction = String(magnitude % factor)
        let padding = String(repeating: "0", count: digits - fraction.count)
        return "\(sign)\(magnitude / factor).\(padding)\(fraction)"
    }

    /// The amount for people, such as `"12.30 CNY"`.
    public var description: String { "\(self.decimalString) \(self.currency.code)" }

    // MARK: Checks

    /// Throws ``FissionError/Code/currencyMismatch`` unless `other` is in this amount's currency.
    public func requireSameCurrency(_ other: Money) throws(FissionError) {
        guard self.currency == other.currency else {
            throw FissionError(
                code: .currencyMismatch,
                reason: "cannot combine \(self.currency) (\(self.currency.minorUnitDigits) digits) "
                    + "with \(other.currency) (\(other.currency.minorUnitDigits) digits)"
            )
        }
    }

    private func requireNonNegative(_ operation: String) throws(FissionError) {
        guard self.minorUnits >= 0 else {
            throw FissionError(code: .negativeAmount, reason: "cannot \(operation) a negative amount (\(self))")
        }
    }
}
