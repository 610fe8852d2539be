/// A currency: an ISO 4217-style code and how many digits its minor unit has.
///
/// `Currency.cny` has 2 minor-unit digits (1 yuan = 100 fen); `Currency.jpy` has none.
/// Two currencies are equal only if both the code and the digits match.
///
/// A currency is a plain value of a few bytes (the letters packed in an integer), so copying a
/// ``Money`` never touches a reference count.
public struct Currency: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The most minor-unit digits a currency may have.
    public static var maximumMinorUnitDigits: Int { 6 }

    /// The three letters as ASCII bytes, the first in bits 16 to 23 and the last in bits 0 to 7,
    /// so that comparing the integers compares the codes alphabetically.
    package let letters: UInt32
    private let digits: UInt8

    /// The three-letter code, upper case, such as `"CNY"`.
    public var code: String {
        String(unsafeUninitializedCapacity: 3) { buffer in
            buffer[0] = UInt8(truncatingIfNeeded: self.letters >> 16)
            buffer[1] = UInt8(truncatingIfNeeded: self.letters >> 8)
            buffer[2] = UInt8(truncatingIfNeeded: self.letters)
            return 3
        }
    }

    /// Digits after the decimal point in the major unit: 2 for CNY, 0 for JPY.
    public var minorUnitDigits: Int { Int(self.digits) }

    /// Creates a currency.
    ///
    /// - Parameters:
    ///   - code: Exactly three ASCII letters A to Z, such as `"CNY"`.
    ///   - minorUnitDigits: 0 to ``maximumMinorUnitDigits``.
    /// - Throws: ``FissionError/Code/invalidCurrency`` if either is malformed.
    public init(code: String, minorUnitDigits: Int) throws(FissionError) {
        let letters = code.utf8
        guard letters.count == 3, letters.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) else {
            throw FissionError(code: .invalidCurrency, reason: "currency code \"\(code)\" is not three letters A-Z")
        }
        guard (0...Self.maximumMinorUnitDigits).contains(minorUnitDigits) else {
            throw FissionError(
                code: .invalidCurrency,
                reason: "\(code) has \(minorUnitDigits) minor-unit digits; 0 to \(Self.maximumMinorUnitDigits) allowed"
            )
        }
        self.init(known: code, minorUnitDigits: minorUnitDigits)
    }

    /// A code already known to be three letters A to Z and digits in range.
    private init(known code: String, minorUnitDigits: Int) {
        self.letters = code.utf8.reduce(0) { $0 << 8 | UInt32($1) }
        self.digits = UInt8(minorUnitDigits)
    }

    /// Chinese yuan renminbi, 2 digits.
    public static let cny = Currency(known: "CNY", minorUnitDigits: 2)
    /// Hong Kong dollar, 2 digits.
    public static let hkd = Currency(known: "HKD", minorUnitDigits: 2)
    /// US dollar, 2 digits.
    public static let usd = Currency(known: "USD", minorUnitDigits: 2)
    /// Euro, 2 digits.
    public static let eur = Currency(known: "EUR", minorUnitDigits: 2)
    /// Japanese yen, no minor unit.
    public static let jpy = Currency(known: "JPY", minorUnitDigits: 0)

    /// How many minor units make one major unit: 100 for CNY, 1 for JPY.
    public var minorUnitsPerMajorUnit: Int64 {
        var factor: Int64 = 1
        for _ in 0..<self.minorUnitDigits { factor *= 10 }
        return factor
    }

    public var description: String { self.code }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let code = try container.decode(String.self, forKey: .code)
        let digits = try container.decode(Int.self, forKey: .minorUnitDigits)
        do {
            try self.init(code: code, minorUnitDigits: digits)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .code, in: container, debugDescription: error.reason)
        }
    }

    // Written out because the stored properties are the packed letters and digits: a synthesized
    // encoder would write those, not the `code` and `minorUnitDigits` hosts have stored.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.code, forKey: .code)
        try container.encode(self.minorUnitDigits, forKey: .minorUnitDigits)
    }

    private enum CodingKeys: String, CodingKey {
        case code
        case minorUnitDigits
    }
}
