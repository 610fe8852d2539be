/// The one error type every Fission module throws.
///
/// Match on ``code``; ``reason`` is diagnostic text for logs and may change between releases.
/// Equality and hashing use only ``code``, so a test can write
/// `#expect(throws: FissionError(code: .currencyMismatch)) { ... }`.
///
/// Every operation that throws a `FissionError` leaves the value it was called on unchanged:
/// a failed call has no partial effect.
public struct FissionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    ///
    /// Codes are named constants such as ``Code/currencyMismatch``. Each module declares its own
    /// codes in an extension of this type, so one error type serves the whole library while the
    /// set of codes can grow without breaking a host's code (this is a struct, not an enum).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable name, for logs and persisted rejections.
        public let name: String

        /// Creates a code. Only Fission's modules mint codes.
        package init(_ name: String) {
            self.name = name
        }

        public var description: String { self.name }
    }

    /// What went wrong. Switch on this, not on ``reason``.
    public let code: Code
    /// Human-readable detail: what was wrong with the input and why it was refused.
    public let reason: String
    /// The file that threw, as `#fileID`.
    public let file: String
    /// The line that threw.
    public let line: UInt

    /// Creates an error, capturing the call site for diagnostics.
    ///
    /// - Parameters:
    ///   - code: What kind of failure this is.
    ///   - reason: What exactly was wrong, for a human reading a log.
    public init(code: Code, reason: String = "", file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.reason = reason
        self.file = file
        self.line = line
    }

    public var description: String {
        "FissionError.\(self.code): \(self.reason) (\(self.file):\(self.line))"
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }

    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}

// MARK: - Codes of FissionCore

extension FissionError.Code {
    /// An identifier was empty, too long, or held a control character.
    public static let invalidIdentifier = Self("invalidIdentifier")
    /// An amount was negative where only zero or more makes sense.
    public static let negativeAmount = Self("negativeAmount")
    /// An amount was zero or negative where only a positive amount makes sense.
    public static let nonPositiveAmount = Self("nonPositiveAmount")
    /// Arithmetic would leave the 64-bit range.
    public static let arithmeticOverflow = Self("arithmeticOverflow")
    /// Two amounts in different currencies (or units) were combined.
    public static let currencyMismatch = Self("currencyMismatch")
    /// A currency code or its number of minor-unit digits was malformed.
    public static let invalidCurrency = Self("invalidCurrency")
    /// A decimal amount could not be read: bad characters, or more fraction digits than the currency has.
    public static let malformedAmount = Self("malformedAmount")
    /// A rate in basis points was outside 0...10,000.
    public static let invalidRate = Self("invalidRate")
    /// Split weights were empty, negative, all zero, too many, or summed past the 64-bit range.
    public static let invalidWeights = Self("invalidWeights")
    /// A UTC offset was outside -12:00...+14:00 or not a whole number of minutes.
    public static let invalidUTCOffset = Self("invalidUTCOffset")
    /// A calendar date did not exist, or a date or time was outside years 1...9999.
    public static let invalidDate = Self("invalidDate")
    /// A random generator state was all zeros, which xoshiro256** can never leave.
    public static let invalidGeneratorState = Self("invalidGeneratorState")
    /// A page was asked for with a limit outside the reader's 1...maximum page size.
    public static let invalidPageSize = Self("invalidPageSize")
}

/// Runs a validating initializer on decoded fields, for `init(from:)`s that check what the
/// throwing initializers check; its error becomes `DecodingError.dataCorrupted` carrying the
/// ``FissionError``'s reason, with the error itself as the underlying error.
package func decodeValidated<Value>(
    at codingPath: [any CodingKey],
    _ make: () throws(FissionError) -> Value
) throws -> Value {
    do {
        return try make()
    } catch {
        throw DecodingError.dataCorrupted(
            .init(codingPath: codingPath, debugDescription: error.reason, underlyingError: error)
        )
    }
}
