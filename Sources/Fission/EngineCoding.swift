@_spi(FissionCoding) import FissionCore
import FissionGroups
@_spi(FissionCoding) import FissionRewards
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

    /// Appends a join's member facts: the paid-order flag, the optional spend, the entry-fee flag.
    /// Not `inviterGroups`: a directory looks the inviter's groups up itself and ignores them.
    mutating func append(facts: MemberFacts) {
        self.append(UInt8(facts.hasPaidOrder ? 1 : 0))
        if let spend = facts.totalSpend {
            self.append(UInt8(1))
            self.append(money: spend)
        } else {
            self.append(UInt8(0))
        }
        self.append(UInt8(facts.hasPaidEntryFee ? 1 : 0))
    }

    /// Appends a length-prefixed part of a snapshot, refusing one too long for its 32-bit length.
    mutating func append(part: [UInt8], _ what: @autoclosure () -> String) throws(FissionError) {
        guard part.count <= Int(UInt32.max) else {
            throw FissionError(
                code: .capacityExceeded,
                reason: "\(what()) is \(part.count) bytes; an engine snapshot holds at most 4 GiB - 1 per part"
            )
        }
        self.append(blob: part)
    }

    /// Appends a length-prefixed byte blob.
    mutating func append(blob: [UInt8]) {
        self.append(UInt32(blob.count))
        self.append(contentsOf: blob)
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

    mutating func readFacts() throws(FissionError) -> MemberFacts {
        let hasPaidOrder = try self.readBool()
        let spend = try self.readBool() ? try self.readMoney() : nil
        let hasPaidEntryFee = try self.readBool()
        return MemberFacts(hasPaidOrder: hasPaidOrder, totalSpend: spend, hasPaidEntryFee: hasPaidEntryFee)
    }

    mutating func readOptionalString() throws(FissionError) -> String? {
        try self.readBool() ? try self.readString() : nil
    }

    mutating func readCurrency() throws(FissionError) -> Currency { try self.readCurrency(corrupt: Self.corrupt) }

    mutating func readMoney() throws(FissionError) -> Money { try self.readMoney(corrupt: Self.corrupt) }

    mutating func readUnit() throws(FissionError) -> LedgerUnit { try self.readUnit(corrupt: Self.corrupt) }

    mutating func readAmount() throws(FissionError) -> RewardAmount { try self.readAmount(corrupt: Self.corrupt) }

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

    /// A decoding fault. The engine reports it under the code of the bytes being read when it
    /// reaches their boundary (``FissionError/decodingFault(as:in:)``): a journal entry's or a
    /// snapshot's.
    static func corrupt(_ what: String) -> FissionError {
        FissionError(code: .corruptJournal, reason: "unexpected bytes: \(what)")
    }
}

extension FissionError {
    /// This error as a fault in the bytes of `source`, reported under `code`.
    ///
    /// A reader's own faults name the code of whatever it usually reads (a truncation says
    /// ``Code/corruptSnapshot``, an engine value's bad tag ``Code/corruptJournal``), whichever bytes
    /// it was given; the engine calls this where it reads a journal entry or a snapshot, so the
    /// host sees which one is corrupt and where. Other errors (a configuration mismatch) pass
    /// through unchanged.
    func decodingFault(as code: Code, in source: String) -> FissionError {
        guard self.code == .corruptJournal || self.code == .corruptSnapshot else { return self }
        return FissionError(code: code, reason: "\(source): \(self.reason)", file: self.file, line: self.line)
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
            throw FissionError(
                code: .corruptJournal,
                reason: "cannot decode \(String(reflecting: Value.self)): \(error)"
            )
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
