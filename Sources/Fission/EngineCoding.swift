import FissionCore
import FissionGroups
import FissionRewards
import Foundation

// The journal's binary format: the value types commands and outcomes carry, written with the
// shared snapshot writer. Hot commands (order paid, register, check-in) are all binary; the rare
// operator commands that carry a whole configuration (a campaign's rules, a group's settings)
// embed it as sorted-key JSON, which is deterministic and keeps one definition of those values.

extension ByteWriter {
    mutating func append(bool: Bool) { self.append(UInt8(bool ? 1 : 0)) }

    mutating func append(timestamp: Timestamp) { self.append(timestamp.millisecondsSinceEpoch) }

    mutating func append<Kind>(optional identifier: Identifier<Kind>?) {
        if let identifier {
            self.append(UInt8(1))
            self.append(identifier: identifier)
        } else {
            self.append(UInt8(0))
        }
    }

    mutating func append(optional string: String?) {
        if let string {
            self.append(UInt8(1))
            self.append(string: string)
        } else {
            self.append(UInt8(0))
        }
    }

    mutating func append(currency: Currency) {
        self.append(string: currency.code)
        self.append(UInt8(currency.minorUnitDigits))
    }

    mutating func append(money: Money) {
        self.append(money.minorUnits)
        self.append(currency: money.currency)
    }

    mutating func append(unit: LedgerUnit) {
        switch unit {
        case .money(let currency):
            self.append(UInt8(0))
            self.append(currency: currency)
        case .points: self.append(UInt8(1))
        case .coupon(let sku):
            self.append(UInt8(2))
            self.append(identifier: sku)
        case .gift(let sku):
            self.append(UInt8(3))
            self.append(identifier: sku)
        case .virtualGood(let sku):
            self.append(UInt8(4))
            self.append(identifier: sku)
        case .cardDraw: self.append(UInt8(5))
        case .lotteryDraw: self.append(UInt8(6))
        }
    }

    mutating func append(amount: RewardAmount) {
        self.append(amount.quantity)
        self.append(unit: amount.unit)
    }

    /// Appends a length-prefixed byte blob.
    mutating func append(blob: [UInt8]) {
        self.append(UInt32(blob.count))
        self.bytes.append(contentsOf: blob)
    }

    /// Appends a value as sorted-key JSON, for rare configuration payloads.
    mutating func append<Value: Encodable>(json value: Value) {
        self.append(blob: JSONCoding.encode(value))
    }
}

extension ByteReader {
    mutating func readBool() throws(FissionError) -> Bool {
        let byte: UInt8 = try self.read()
        guard byte <= 1 else { throw Self.corrupt("a boolean byte \(byte)") }
        return byte == 1
    }

    mutating func readTimestamp() throws(FissionError) -> Timestamp {
        do {
            return try Timestamp(millisecondsSinceEpoch: self.read())
        } catch {
            throw Self.corrupt("a timestamp out of range")
        }
    }

    mutating func readOptionalIdentifier<Kind>(
        _: Identifier<Kind>.Type = Identifier<Kind>.self
    ) throws(FissionError) -> Identifier<Kind>? {
        try self.readBool() ? try self.readIdentifier() : nil
    }

    mutating func readOptionalString() throws(FissionError) -> String? {
        try self.readBool() ? try self.readString() : nil
    }

    mutating func readCurrency() throws(FissionError) -> Currency {
        let code = try self.readString()
        let digits: UInt8 = try self.read()
        do {
            return try Currency(code: code, minorUnitDigits: Int(digits))
        } catch {
            throw Self.corrupt("currency \(code)")
        }
    }

    mutating func readMoney() throws(FissionError) -> Money {
        let minorUnits: Int64 = try self.read()
        return Money(minorUnits: minorUnits, currency: try self.readCurrency())
    }

    mutating func readUnit() throws(FissionError) -> LedgerUnit {
        let tag: UInt8 = try self.read()
        switch tag {
        case 0: return .money(try self.readCurrency())
        case 1: return .points
        case 2: return .coupon(try self.readIdentifier())
        case 3: return .gift(try self.readIdentifier())
        case 4: return .virtualGood(try self.readIdentifier())
        case 5: return .cardDraw
        case 6: return .lotteryDraw
        default: throw Self.corrupt("ledger unit tag \(tag)")
        }
    }

    mutating func readAmount() throws(FissionError) -> RewardAmount {
        let quantity: Int64 = try self.read()
        let unit = try self.readUnit()
        do {
            return try RewardAmount(quantity, unit)
        } catch {
            throw Self.corrupt("reward amount \(quantity) \(unit)")
        }
    }

    mutating func readBlob() throws(FissionError) -> [UInt8] {
        let count: UInt32 = try self.read()
        return try self.readBytes(Int(count))
    }

    mutating func readJSON<Value: Decodable>(_: Value.Type) throws(FissionError) -> Value {
        try JSONCoding.decode(Value.self, from: self.readBlob())
    }

    mutating func readCount(limit: Int, _ what: String) throws(FissionError) -> Int {
        let count: UInt32 = try self.read()
        guard Int(count) <= limit else { throw Self.corrupt("\(count) \(what), more than \(limit)") }
        return Int(count)
    }

    static func corrupt(_ what: String) -> FissionError {
        FissionError(code: .corruptJournal, reason: "the journal holds \(what)")
    }
}

/// Sorted-key JSON for the configuration payloads: equal values give equal bytes.
enum JSONCoding {
    static func encode<Value: Encodable>(_ value: Value) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return Array(try encoder.encode(value))
        } catch {
            // Every value encoded here is a library value whose encoding cannot fail.
            preconditionFailure("encoding \(Value.self) failed: \(error)")
        }
    }

    static func decode<Value: Decodable>(_: Value.Type, from bytes: [UInt8]) throws(FissionError) -> Value {
        do {
            return try JSONDecoder().decode(Value.self, from: Data(bytes))
        } catch {
            throw FissionError(code: .corruptJournal, reason: "cannot decode \(Value.self): \(error)")
        }
    }
}

/// FNV-1a over bytes: the payload digest stored with every journal entry, the same in every process.
func stableDigest<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01B3
    }
    return hash
}
