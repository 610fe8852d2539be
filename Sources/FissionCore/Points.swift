/// A whole number of loyalty points. Points are their own unit and never mix with money.
public struct Points: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The number of points; negative for a balance that owes.
    public let value: Int64

    /// Creates a number of points.
    public init(_ value: Int64) {
        self.value = value
    }

    /// No points.
    public static let zero = Points(0)

    /// The sum of two point amounts.
    ///
    /// - Throws: ``FissionError/Code/arithmeticOverflow``.
    public func adding(_ other: Points) throws(FissionError) -> Points {
        Points(try self.value.checkedAdding(other.value, "points"))
    }

    /// The difference of two point amounts; may be negative.
    ///
    /// - Throws: ``FissionError/Code/arithmeticOverflow``.
    public func subtracting(_ other: Points) throws(FissionError) -> Points {
        Points(try self.value.checkedSubtracting(other.value, "points"))
    }

    /// Splits the points into parts proportional to `weights`, exactly, as ``Money/split(weights:)`` does.
    ///
    /// - Throws: ``FissionError/Code/negativeAmount`` or ``FissionError/Code/invalidWeights``.
    /// - Complexity: O(*n* log *n*) for *n* weights.
    public func split(weights: [Int64]) throws(FissionError) -> [Points] {
        try splitExactly(self.value, weights: weights).map(Points.init)
    }

    public var description: String { "\(self.value) points" }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        self.value = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.value)
    }
}
