public import FissionCore

/// A hashed identifier of a phone number, device or payment method: a hex digest, never the raw value.
///
/// Fission compares fingerprints to catch one person behind many accounts, but it must never hold
/// personal data. The host hashes (for example SHA-256 with a secret salt) and passes the hex
/// digest; anything that does not look like a digest, such as a raw phone number, is refused.
public struct Fingerprint: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The shortest accepted digest, in hex characters (128 bits).
    public static var minimumHexLength: Int { 32 }
    /// The longest accepted digest, in hex characters (512 bits).
    public static var maximumHexLength: Int { 128 }

    /// The digest in lower-case hex.
    public let hex: String

    /// Creates a fingerprint from a hex digest; upper-case hex is accepted and lower-cased.
    ///
    /// - Throws: ``FissionError/Code/invalidFingerprint`` unless `hex` is 32 to 128 hex digits.
    public init(hex: String) throws(FissionError) {
        let bytes = Array(hex.utf8)
        guard bytes.count >= Self.minimumHexLength, bytes.count <= Self.maximumHexLength else {
            throw FissionError(
                code: .invalidFingerprint,
                reason: "a fingerprint is a hex digest of 32 to 128 digits, got \(bytes.count) characters; "
                    + "hash raw values before passing them"
            )
        }
        var lowered: [UInt8] = []
        lowered.reserveCapacity(bytes.count)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): lowered.append(byte)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): lowered.append(byte + 32)
            default:
                throw FissionError(code: .invalidFingerprint, reason: "a fingerprint may hold only hex digits")
            }
        }
        self.hex = String(decoding: lowered, as: UTF8.self)
    }

    public var description: String { self.hex }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.hex < rhs.hex }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let hex = try container.decode(String.self)
        do {
            try self.init(hex: hex)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.reason)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.hex)
    }
}

/// The hashed signals Fission uses to spot duplicate accounts: phone and device fingerprints.
public struct RiskSignals: Hashable, Sendable, Codable {
    /// The most fingerprints of one kind a member may carry.
    public static var maximumPerKind: Int { 16 }

    /// Hashed phone numbers, sorted, without duplicates.
    public private(set) var phoneHashes: [Fingerprint]
    /// Hashed device identifiers, sorted, without duplicates.
    public private(set) var deviceHashes: [Fingerprint]

    /// Creates a member's signals.
    ///
    /// - Throws: ``FissionError/Code/invalidFingerprint`` for more than ``maximumPerKind`` of a kind.
    public init(phoneHashes: [Fingerprint] = [], deviceHashes: [Fingerprint] = []) throws(FissionError) {
        self.phoneHashes = try Self.normalized(phoneHashes, kind: "phone")
        self.deviceHashes = try Self.normalized(deviceHashes, kind: "device")
    }

    /// No signals.
    public static let none = RiskSignals(validatedPhones: [], devices: [])

    private init(validatedPhones: [Fingerprint], devices: [Fingerprint]) {
        self.phoneHashes = validatedPhones
        self.deviceHashes = devices
    }

    /// Whether the two members share any phone or device fingerprint.
    ///
    /// - Complexity: O(*n* + *m*) over the two members' fingerprints.
    public func sharesFingerprint(with other: RiskSignals) -> Bool {
        intersects(self.phoneHashes, other.phoneHashes) || intersects(self.deviceHashes, other.deviceHashes)
    }

    private static func normalized(_ hashes: [Fingerprint], kind: String) throws(FissionError) -> [Fingerprint] {
        var unique: [Fingerprint] = []
        for hash in hashes.sorted() where unique.last != hash { unique.append(hash) }
        guard unique.count <= Self.maximumPerKind else {
            throw FissionError(
                code: .invalidFingerprint,
                reason: "\(unique.count) \(kind) fingerprints; at most \(Self.maximumPerKind) are kept"
            )
        }
        return unique
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let phones = try container.decode([Fingerprint].self, forKey: .phoneHashes)
        let devices = try container.decode([Fingerprint].self, forKey: .deviceHashes)
        do {
            try self.init(phoneHashes: phones, deviceHashes: devices)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .phoneHashes, in: container, debugDescription: error.reason)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case phoneHashes
        case deviceHashes
    }
}

/// Whether two sorted arrays share an element.
private func intersects(_ left: [Fingerprint], _ right: [Fingerprint]) -> Bool {
    var leftIndex = 0
    var rightIndex = 0
    while leftIndex < left.count && rightIndex < right.count {
        if left[leftIndex] == right[rightIndex] { return true }
        if left[leftIndex] < right[rightIndex] { leftIndex += 1 } else { rightIndex += 1 }
    }
    return false
}
