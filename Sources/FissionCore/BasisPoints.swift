/// A rate in basis points: 1 bp = 0.01%, 10,000 bp = 100%.
///
/// Rates are whole numbers so that a commission of 12.5% is exactly `BasisPoints(1_250)` and
/// every computation with it is integer arithmetic.
public struct BasisPoints: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// 100%.
    public static let whole = BasisPoints(validated: 10_000)
    /// 0%.
    public static let zero = BasisPoints(validated: 0)

    /// The rate, 0 to 10,000.
    public let value: Int64

    /// Creates a rate.
    ///
    /// - Parameter value: 0 to 10,000 basis points.
    /// - Throws: ``FissionError/Code/invalidRate`` outside that range.
    public init(_ value: Int64) throws(FissionError) {
        guard (0...10_000).contains(value) else {
            throw FissionError(code: .invalidRate, reason: "\(value) bp is outside 0...10000 (0% to 100%)")
        }
        self.value = value
    }

    /// A rate of whole percent: `try .percent(30)` is 3,000 bp.
    ///
    /// - Throws: ``FissionError/Code/invalidRate`` outside 0...100.
    public static func percent(_ percent: Int64) throws(FissionError) -> BasisPoints {
        guard (0...100).contains(percent) else {
            throw FissionError(code: .invalidRate, reason: "\(percent)% is outside 0...100")
        }
        return BasisPoints(validated: percent * 100)
    }

    private init(validated value: Int64) {
        self.value = value
    }

    /// The rate as a percentage, such as `"12.5%"`.
    public var description: String {
        let whole = self.value / 100
        let fraction = self.value % 100
        if fraction == 0 { return "\(whole)%" }
        return fraction % 10 == 0 ? "\(whole).\(fraction / 10)%" : "\(whole).\(fraction < 10 ? "0" : "")\(fraction)%"
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let value = try container.decode(Int64.self)
        do {
            try self.init(value)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.reason)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.value)
    }
}
