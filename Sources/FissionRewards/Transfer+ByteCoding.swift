@_spi(FissionCoding) package import FissionCore

// The binary form of a transfer, in which journal entries keep their transfers (and the in-memory
// store keeps them as they are). A transfer is about 140 bytes this way, against 304 as a
// `Transfer` value plus the array that holds it.
//
// Layout: the id; one byte of flags (bits 0 to 2 the kind, bit 3 a key, bit 4 the key's rule,
// bit 5 the key's beneficiary, bit 6 the reason's rule, bit 7 a hold); the resolved transfer for
// the kinds that resolve one; the key (operation, campaign, rule, beneficiary, source, part); the
// debit and credit owners; the debit's unit, then the credit's (one byte, 255, when it is the same,
// as it always is in a ledger); the amount; the reason (command, rule, rule version); the time; the
// hold's end.
//
// The form is lossless: any `Transfer` reads back equal, including values no ledger makes (a
// host can decode any transfer from JSON), and two transfers are equal exactly when their bytes
// are. So reading checks the form's own structure (tags, lengths), never the values' ranges.

/// The flags byte's bits, shared by the writers, the reader and the scan.
private enum Flag {
    /// Bits 0 to 2: the kind (``ByteWriter/kindCode(_:)``).
    static let kind: UInt8 = 0b111
    static let key: UInt8 = 1 << 3
    static let keyRule: UInt8 = 1 << 4
    static let keyBeneficiary: UInt8 = 1 << 5
    static let reasonRule: UInt8 = 1 << 6
    static let hold: UInt8 = 1 << 7
    /// The bits that say which parts a key has: with the key's bytes, its identity.
    static let keyParts: UInt8 = key | keyRule | keyBeneficiary
}

extension ByteWriter {
    /// Appends a 32-bit count, then each transfer.
    package mutating func append(transfers: [Transfer]) {
        precondition(transfers.count <= Int(UInt32.max), "\(transfers.count) transfers in one list")
        self.append(UInt32(transfers.count))
        // Through a buffer, into a function inlined here: about 130 instructions a transfer fewer
        // than iterating the array in the store's module. Each transfer is still copied once
        // (about 420 instructions); reading its fields through a pointer instead copied the key
        // and the owners one by one, which cost more.
        transfers.withUnsafeBufferPointer { transfers in
            for index in transfers.indices { self.append(transfer: transfers[index]) }
        }
    }

    /// Appends a transfer in the layout above.
    @inline(__always)
    package mutating func append(transfer: borrowing Transfer) {
        self.append(transfer.id.rawValue)
        let (kind, resolved) = Self.kindCode(transfer.kind)
        var flags = kind
        let key = transfer.key
        if let key {
            flags |= Flag.key
            if key.rule != nil { flags |= Flag.keyRule }
            if key.beneficiary != nil { flags |= Flag.keyBeneficiary }
        }
        if transfer.reason.rule != nil { flags |= Flag.reasonRule }
        if transfer.holdUntil != nil { flags |= Flag.hold }
        self.append(flags)
        if let resolved { self.append(resolved.rawValue) }
        if let key {
            self.append(key.operation.rawValue)
            self.append(identifier: key.campaign)
            if let rule = key.rule { self.append(identifier: rule) }
            if let beneficiary = key.beneficiary { self.append(identifier: beneficiary) }
            self.append(identifier: key.source)
            self.append(key.part)
        }
        self.append(owner: transfer.debit.owner)
        self.append(owner: transfer.credit.owner)
        self.append(unit: transfer.debit.unit)
        if transfer.credit.unit == transfer.debit.unit {
            self.append(Self.sameUnit)
        } else {
            self.append(unit: transfer.credit.unit)
        }
        self.append(transfer.amount)
        self.append(identifier: transfer.reason.command)
        if let rule = transfer.reason.rule { self.append(identifier: rule) }
        self.append(transfer.reason.ruleVersion)
        self.append(transfer.at.millisecondsSinceEpoch)
        if let holdUntil = transfer.holdUntil { self.append(holdUntil.millisecondsSinceEpoch) }
    }

    /// In place of the credit's unit: the debit's.
    static var sameUnit: UInt8 { 255 }

    @inline(__always)
    mutating func append(owner: AccountOwner) {
        switch owner {
        case .budget(let campaign):
            self.append(UInt8(0))
            self.append(identifier: campaign)
        case .wallet(let member):
            self.append(UInt8(1))
            self.append(identifier: member)
        case .receivable(let member):
            self.append(UInt8(2))
            self.append(identifier: member)
        case .outside:
            self.append(UInt8(3))
        }
    }

    static func kindCode(_ kind: TransferKind) -> (UInt8, TransferID?) {
        switch kind {
        case .posted: (0, nil)
        case .pending: (1, nil)
        case .postPending(let pending): (2, pending)
        case .voidPending(let pending): (3, pending)
        case .reversal(let original): (4, original)
        }
    }
}

/// What a store checks of an encoded transfer, read without making the transfer: its id, its kind
/// and the transfer it resolves, and where its key's bytes are.
package struct TransferShape: Sendable {
    /// The transfer's id.
    package let id: TransferID
    /// 0 posted, 1 pending, 2 posts a pending transfer, 3 voids one, 4 reverses a transfer.
    package let kindCode: UInt8
    /// The transfer a post, void or reversal resolves.
    package let resolved: TransferID?
    /// The key's presence bits of the flags byte (a key, its rule, its beneficiary), 0 for none.
    /// Two keys are equal exactly when these bits and ``keyBytes`` are.
    package let keyFlags: UInt8
    /// The offsets of the key's bytes in the reader's bytes (empty without a key).
    package let keyBytes: Range<Int>

    /// Whether the transfer posts a pending transfer.
    package var postsPending: Bool { self.kindCode == 2 }
}

extension TransferShape {
    /// Reads past the transfer at `offset` in `bytes` (as `ByteWriter.append(transfer:)` wrote
    /// it), moving `offset` to the byte after it, and returns its shape without making any
    /// identifier or the transfer. Over raw bytes, with every bound checked: through `ByteReader`
    /// each small read was a call into another module, about 1,200 instructions a transfer.
    ///
    /// - Throws: `corrupt`'s error for bytes that run out or a tag that does not exist.
    @inline(__always)
    package static func scan(
        _ bytes: UnsafeRawBufferPointer,
        at offset: inout Int,
        corrupt: (String) -> FissionError
    ) throws(FissionError) -> TransferShape {
        do {
            return try Self.scan(bytes, at: &offset)
        } catch {
            throw corrupt(error.reason)
        }
    }

    @inline(__always)
    private static func scan(
        _ bytes: UnsafeRawBufferPointer,
        at offset: inout Int
    ) throws(FissionError) -> TransferShape {
        var cursor = ScanCursor(bytes: bytes, offset: offset)
        let id = TransferID(rawValue: try cursor.int64())
        let flags = try cursor.byte()
        let kindCode = flags & Flag.kind
        guard kindCode <= 4 else { throw ScanCursor.corrupt("transfer \(id): kind \(kindCode)") }
        let resolved: TransferID? = kindCode >= 2 ? TransferID(rawValue: try cursor.int64()) : nil
        let keyStart = cursor.offset
        if flags & Flag.key != 0 {
            try cursor.skip(1)
            try cursor.skipIdentifier()
            if flags & Flag.keyRule != 0 { try cursor.skipIdentifier() }
            if flags & Flag.keyBeneficiary != 0 { try cursor.skipIdentifier() }
            try cursor.skipIdentifier()
            try cursor.skip(4)
        }
        let keyEnd = cursor.offset
        for _ in 0..<2 {
            let owner = try cursor.byte()
            guard owner <= 3 else { throw ScanCursor.corrupt("transfer \(id): account owner tag \(owner)") }
            if owner < 3 { try cursor.skipIdentifier() }
        }
        try cursor.skipUnit(of: id, allowingSame: false)
        try cursor.skipUnit(of: id, allowingSame: true)
        try cursor.skip(8)  // amount
        try cursor.skipIdentifier()  // the reason's command
        if flags & Flag.reasonRule != 0 { try cursor.skipIdentifier() }
        try cursor.skip(4 + 8)  // rule version, time
        if flags & Flag.hold != 0 { try cursor.skip(8) }
        offset = cursor.offset
        return TransferShape(
            id: id,
            kindCode: kindCode,
            resolved: resolved,
            keyFlags: flags & Flag.keyParts,
            keyBytes: keyStart..<keyEnd
        )
    }

    /// Whether transfer `index` of the list at `offset` in `bytes` has this shape's key, whose
    /// bytes are `keyBytes`: the same presence bits and the same bytes.
    package func isKey(
        ofTransfer index: Int,
        inListAt offset: Int,
        of bytes: UnsafeRawBufferPointer,
        keyBytes: UnsafeRawBufferPointer,
        corrupt: (String) -> FissionError
    ) throws(FissionError) -> Bool {
        let stored = try Self.scan(bytes, transfer: index, ofListAt: offset, corrupt: corrupt)
        return stored.keyFlags == self.keyFlags
            && UnsafeRawBufferPointer(rebasing: bytes[stored.keyBytes]).elementsEqual(keyBytes)
    }

    /// The shape of transfer `index` of a list written by `ByteWriter.append(transfers:)` that
    /// starts at `offset` in `bytes`.
    package static func scan(
        _ bytes: UnsafeRawBufferPointer,
        transfer index: Int,
        ofListAt offset: Int,
        corrupt: (String) -> FissionError
    ) throws(FissionError) -> TransferShape {
        var cursor = offset + 4
        var shape = try Self.scan(bytes, at: &cursor, corrupt: corrupt)
        for _ in 0..<index { shape = try Self.scan(bytes, at: &cursor, corrupt: corrupt) }
        return shape
    }
}

/// A position in bytes being scanned, each read bounds-checked. A struct with inlined methods:
/// nested functions capturing the position made every access a dynamic exclusivity check.
private struct ScanCursor {
    let bytes: UnsafeRawBufferPointer
    var offset: Int

    /// The cursor's errors; ``TransferShape/scan(_:at:corrupt:)`` turns them into its caller's.
    static func corrupt(_ reason: String) -> FissionError {
        FissionError(code: .corruptSnapshot, reason: reason)
    }

    @inline(__always)
    func need(_ count: Int) throws(FissionError) {
        guard count >= 0, count <= self.bytes.count &- self.offset else {
            throw Self.corrupt("truncated at byte \(self.offset)")
        }
    }

    @inline(__always)
    mutating func byte() throws(FissionError) -> UInt8 {
        try self.need(1)
        defer { self.offset &+= 1 }
        return self.bytes.load(fromByteOffset: self.offset, as: UInt8.self)
    }

    @inline(__always)
    mutating func int64() throws(FissionError) -> Int64 {
        try self.need(8)
        defer { self.offset &+= 8 }
        return Int64(littleEndian: self.bytes.loadUnaligned(fromByteOffset: self.offset, as: Int64.self))
    }

    @inline(__always)
    mutating func length() throws(FissionError) -> Int {
        try self.need(2)
        defer { self.offset &+= 2 }
        return Int(UInt16(littleEndian: self.bytes.loadUnaligned(fromByteOffset: self.offset, as: UInt16.self)))
    }

    @inline(__always)
    mutating func skip(_ count: Int) throws(FissionError) {
        try self.need(count)
        self.offset &+= count
    }

    /// Skips a unit written by `ByteWriter.append(unit:)`, or the one byte that says the credit's
    /// unit is the debit's.
    @inline(__always)
    mutating func skipUnit(of id: TransferID, allowingSame: Bool) throws(FissionError) {
        let unit = try self.byte()
        switch unit {
        case 0: try self.skip(try self.length() + 1)
        case 2, 3, 4: try self.skipIdentifier()
        case 1, 5, 6: break
        case ByteWriter.sameUnit where allowingSame: break
        default: throw Self.corrupt("transfer \(id): ledger unit tag \(unit)")
        }
    }

    @inline(__always)
    mutating func skipIdentifier() throws(FissionError) {
        let tag = try self.byte()
        switch tag {
        case 0: try self.skip(8)
        case 1: try self.skip(try self.length())
        default: throw Self.corrupt("identifier tag \(tag) at byte \(self.offset - 1)")
        }
    }
}

extension ByteReader {
    /// Reads a list written by `ByteWriter.append(transfers:)`.
    package mutating func readTransfers(corrupt: (String) -> FissionError) throws(FissionError) -> [Transfer] {
        let count = Int(try self.read() as UInt32)
        // Each transfer takes at least 34 bytes (id, flags, two owners, two unit bytes, amount, an
        // integer command, rule version, time): a count past what is left is damage, not a
        // reason to reserve room for four billion.
        guard count <= self.remaining / 34 else { throw corrupt("\(count) transfers in \(self.remaining) bytes") }
        var transfers: [Transfer] = []
        transfers.reserveCapacity(count)
        for _ in 0..<count { transfers.append(try self.readTransfer(corrupt: corrupt)) }
        return transfers
    }

    /// Reads a transfer written by `ByteWriter.append(transfer:)`. Values are read as they were
    /// written, with no range checks (see the layout above).
    ///
    /// - Parameter corrupt: makes the caller's error from a description of what is wrong.
    /// - Throws: `corrupt`'s error for a kind, operation, owner or unit tag that does not exist;
    ///   the reader's own error for bytes that run out or an identifier that is not valid.
    package mutating func readTransfer(corrupt: (String) -> FissionError) throws(FissionError) -> Transfer {
        let id = TransferID(rawValue: try self.read())
        let flags: UInt8 = try self.read()
        let kind: TransferKind
        switch flags & Flag.kind {
        case 0: kind = .posted
        case 1: kind = .pending
        case 2: kind = .postPending(TransferID(rawValue: try self.read()))
        case 3: kind = .voidPending(TransferID(rawValue: try self.read()))
        case 4: kind = .reversal(TransferID(rawValue: try self.read()))
        case let code: throw corrupt("transfer \(id): kind \(code)")
        }
        var key: TransferKey?
        if flags & Flag.key != 0 {
            let code: UInt8 = try self.read()
            guard let operation = TransferKey.Operation(rawValue: code) else {
                throw corrupt("transfer \(id): key operation \(code)")
            }
            let campaign: CampaignID = try self.readIdentifier()
            let rule: RuleID? = flags & Flag.keyRule != 0 ? try self.readIdentifier() : nil
            let beneficiary: MemberID? = flags & Flag.keyBeneficiary != 0 ? try self.readIdentifier() : nil
            key = TransferKey(
                operation,
                campaign: campaign,
                rule: rule,
                beneficiary: beneficiary,
                source: try self.readIdentifier(),
                part: try self.read()
            )
        }
        let debit = try self.readOwner(of: id, corrupt: corrupt)
        let credit = try self.readOwner(of: id, corrupt: corrupt)
        let unit = try self.readUnit(corrupt: corrupt)
        let creditUnit: LedgerUnit
        if self.remaining > 0, self.bytes[self.offset] == ByteWriter.sameUnit {
            self.offset += 1
            creditUnit = unit
        } else {
            creditUnit = try self.readUnit(corrupt: corrupt)
        }
        let amount: Int64 = try self.read()
        let command: EventID = try self.readIdentifier()
        let reasonRule: RuleID? = flags & Flag.reasonRule != 0 ? try self.readIdentifier() : nil
        let reason = TransferReason(command: command, rule: reasonRule, ruleVersion: try self.read())
        // Times as they were, in range or not: a ledger's hold can end past `Timestamp.latest`.
        let at = Timestamp(unchecked: try self.read())
        let holdUntil = flags & Flag.hold != 0 ? Timestamp(unchecked: try self.read()) : nil
        return Transfer(
            id: id,
            key: key,
            kind: kind,
            debit: AccountKey(debit, unit),
            credit: AccountKey(credit, creditUnit),
            amount: amount,
            reason: reason,
            at: at,
            holdUntil: holdUntil
        )
    }

    private mutating func readOwner(
        of id: TransferID,
        corrupt: (String) -> FissionError
    ) throws(FissionError) -> AccountOwner {
        let tag: UInt8 = try self.read()
        switch tag {
        case 0: return .budget(try self.readIdentifier())
        case 1: return .wallet(try self.readIdentifier())
        case 2: return .receivable(try self.readIdentifier())
        case 3: return .outside
        default: throw corrupt("transfer \(id): account owner tag \(tag)")
        }
    }
}

extension Ledger {
    /// Appends the transfers after the first `count` as `ByteWriter.append(transfers:)` would
    /// write ``transfers(after:limit:)``'s, byte for byte, without making the transfers: each
    /// field is written from the record and the id tables. The engine journals a command's
    /// transfers this way.
    package func encodeTransfers(after count: Int, into writer: inout ByteWriter) {
        let start = max(count, 0)
        let end = self.records.count
        writer.append(UInt32(max(end - start, 0)))
        guard start < end else { return }
        for index in start..<end { self.encodeTransfer(index, into: &writer) }
    }

    private func encodeTransfer(_ index: Int, into writer: inout ByteWriter) {
        let record = self.records[index]
        writer.append(Int64(index) + 1)
        let (kind, resolved) = ByteWriter.kindCode(self.kind(of: record))
        var flags = kind
        if record.hasKey {
            flags |= Flag.key
            if record.key.rule >= 0 { flags |= Flag.keyRule }
            if record.key.beneficiary >= 0 { flags |= Flag.keyBeneficiary }
        }
        if record.reasonRule >= 0 { flags |= Flag.reasonRule }
        if record.holdUntil != Self.noHold { flags |= Flag.hold }
        writer.append(flags)
        if let resolved { writer.append(resolved.rawValue) }
        if record.hasKey {
            let key = record.key
            // As `expand(_:)` reads an operation.
            writer.append((TransferKey.Operation(rawValue: key.operation) ?? .grant).rawValue)
            writer.append(identifier: self.campaignIDs[key.campaign])
            if key.rule >= 0 { writer.append(identifier: self.ruleIDs[key.rule]) }
            if key.beneficiary >= 0 { writer.append(identifier: self.members[key.beneficiary]) }
            writer.append(identifier: self.events[key.source])
            writer.append(key.part)
        }
        writer.append(owner: self.accounts[Int(record.debit)].owner)
        writer.append(owner: self.accounts[Int(record.credit)].owner)
        let unit = self.accounts[Int(record.debit)].unit
        writer.append(unit: unit)
        // A ledger refuses a transfer between units, so this is the one byte, but it is checked as
        // `append(transfer:)` checks it, and the bytes stay the same as encoding the value.
        if self.accounts[Int(record.credit)].unit == unit {
            writer.append(ByteWriter.sameUnit)
        } else {
            writer.append(unit: self.accounts[Int(record.credit)].unit)
        }
        writer.append(record.amount)
        writer.append(identifier: self.events[record.command])
        if record.reasonRule >= 0 { writer.append(identifier: self.ruleIDs[record.reasonRule]) }
        writer.append(record.ruleVersion)
        writer.append(record.at)
        if record.holdUntil != Self.noHold { writer.append(record.holdUntil) }
    }
}
