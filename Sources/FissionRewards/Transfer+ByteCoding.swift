@_spi(FissionCoding) package import FissionCore

// The binary form of a transfer, for stores that keep transfers as bytes (the in-memory store's
// journal). A transfer is about 140 bytes this way, against 304 as a `Transfer` value plus the
// array that holds it.
//
// Layout: the id; one byte of flags (bits 0 to 2 the kind, bit 3 a key, bit 4 the key's rule,
// bit 5 the key's beneficiary, bit 6 the reason's rule, bit 7 a hold); the resolved transfer for
// the kinds that resolve one; the key (operation, campaign, rule, beneficiary, source, part); the
// debit and credit owners; the unit; the amount; the reason (command, rule, rule version); the
// time; the hold's end.

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
            flags |= 1 << 3
            if key.rule != nil { flags |= 1 << 4 }
            if key.beneficiary != nil { flags |= 1 << 5 }
        }
        if transfer.reason.rule != nil { flags |= 1 << 6 }
        if transfer.holdUntil != nil { flags |= 1 << 7 }
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
        self.append(unit: transfer.unit)
        self.append(transfer.amount)
        self.append(identifier: transfer.reason.command)
        if let rule = transfer.reason.rule { self.append(identifier: rule) }
        self.append(transfer.reason.ruleVersion)
        self.append(transfer.at.millisecondsSinceEpoch)
        if let holdUntil = transfer.holdUntil { self.append(holdUntil.millisecondsSinceEpoch) }
    }

    private mutating func append(owner: AccountOwner) {
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

    private static func kindCode(_ kind: TransferKind) -> (UInt8, TransferID?) {
        switch kind {
        case .posted: (0, nil)
        case .pending: (1, nil)
        case .postPending(let pending): (2, pending)
        case .voidPending(let pending): (3, pending)
        case .reversal(let original): (4, original)
        }
    }
}

extension ByteReader {
    /// Reads a list written by `ByteWriter.append(transfers:)`.
    package mutating func readTransfers(corrupt: (String) -> FissionError) throws(FissionError) -> [Transfer] {
        let count = Int(try self.read() as UInt32)
        // Each transfer takes at least 40 bytes: a count past what is left is damage, not a reason
        // to reserve room for four billion.
        guard count <= self.remaining / 40 else { throw corrupt("\(count) transfers in \(self.remaining) bytes") }
        var transfers: [Transfer] = []
        transfers.reserveCapacity(count)
        for _ in 0..<count { transfers.append(try self.readTransfer(corrupt: corrupt)) }
        return transfers
    }

    /// Reads a transfer written by `ByteWriter.append(transfer:)`.
    ///
    /// - Parameter corrupt: makes the caller's error from a description of what is wrong.
    /// - Throws: `corrupt`'s error for a kind, operation or owner tag that does not exist, an
    ///   amount that is not positive or a time out of range; the reader's own error for bytes that
    ///   run out or an identifier that is not valid.
    package mutating func readTransfer(corrupt: (String) -> FissionError) throws(FissionError) -> Transfer {
        let id = TransferID(rawValue: try self.read())
        let flags: UInt8 = try self.read()
        let kind: TransferKind
        switch flags & 0b111 {
        case 0: kind = .posted
        case 1: kind = .pending
        case 2: kind = .postPending(TransferID(rawValue: try self.read()))
        case 3: kind = .voidPending(TransferID(rawValue: try self.read()))
        case 4: kind = .reversal(TransferID(rawValue: try self.read()))
        case let code: throw corrupt("transfer \(id): kind \(code)")
        }
        var key: TransferKey?
        if flags & 1 << 3 != 0 {
            let code: UInt8 = try self.read()
            guard let operation = TransferKey.Operation(rawValue: code) else {
                throw corrupt("transfer \(id): key operation \(code)")
            }
            let campaign: CampaignID = try self.readIdentifier()
            let rule: RuleID? = flags & 1 << 4 != 0 ? try self.readIdentifier() : nil
            let beneficiary: MemberID? = flags & 1 << 5 != 0 ? try self.readIdentifier() : nil
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
        let amount: Int64 = try self.read()
        guard amount > 0 else { throw corrupt("transfer \(id): amount \(amount)") }
        let command: EventID = try self.readIdentifier()
        let reasonRule: RuleID? = flags & 1 << 6 != 0 ? try self.readIdentifier() : nil
        let reason = TransferReason(command: command, rule: reasonRule, ruleVersion: try self.read())
        let at = try self.readTime(of: id, corrupt: corrupt)
        let holdUntil = flags & 1 << 7 != 0 ? try self.readTime(of: id, corrupt: corrupt) : nil
        return Transfer(
            id: id,
            key: key,
            kind: kind,
            debit: AccountKey(debit, unit),
            credit: AccountKey(credit, unit),
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

    private mutating func readTime(
        of id: TransferID,
        corrupt: (String) -> FissionError
    ) throws(FissionError) -> Timestamp {
        let milliseconds: Int64 = try self.read()
        do {
            return try Timestamp(millisecondsSinceEpoch: milliseconds)
        } catch {
            throw corrupt("transfer \(id): time \(milliseconds) out of range")
        }
    }
}
