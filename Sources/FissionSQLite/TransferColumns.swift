import FissionCore
import FissionRewards

/// Writes a transfer into the `transfers` columns and rebuilds it from them, exactly.
///
/// `Transfer` has no public memberwise initialiser (a ledger makes transfers, nobody else), but it
/// is `Decodable`: the columns are read into its parts, which all have public initialisers, and the
/// transfer is decoded from those parts by ``TransferDecoder``. No second copy of the transfer is
/// stored, so the columns a host queries are the only truth.
enum TransferColumns {
    /// Binds `transfer`, made by entry `entry`, to the parameters of row `row` of an insert made by
    /// ``SQLiteSchema/insertTransfers(rows:)``. Parameters it leaves unbound stay NULL.
    static func bind(_ transfer: Transfer, entry: Int64, to statement: Statement, row: Int32 = 0) {
        let base = row * SQLiteSchema.transferParameters
        statement.bind(base + 1, transfer.id.rawValue)
        statement.bind(base + 2, entry)
        let (kind, resolves) = Self.kind(transfer.kind)
        statement.bind(base + 3, name: kind)
        statement.bind(base + 4, resolves?.rawValue)
        if let key = transfer.key {
            statement.bind(base + 5, name: Self.operation(key.operation))
            statement.bind(base + 6, identifier: key.campaign)
            statement.bind(base + 7, identifier: key.rule)
            statement.bind(base + 8, identifier: key.beneficiary)
            statement.bind(base + 9, identifier: key.source)
            statement.bind(base + 10, Int64(key.part))
        }
        Self.bind(transfer.debit.owner, at: base + 11, to: statement)
        Self.bind(transfer.credit.owner, at: base + 13, to: statement)
        switch transfer.unit {
        case .money(let currency):
            statement.bind(base + 15, name: "money")
            statement.bind(base + 16, currency.code)
            statement.bind(base + 17, Int64(currency.minorUnitDigits))
        case .points: statement.bind(base + 15, name: "points")
        case .coupon(let sku):
            statement.bind(base + 15, name: "coupon")
            statement.bind(base + 18, identifier: sku)
        case .gift(let sku):
            statement.bind(base + 15, name: "gift")
            statement.bind(base + 18, identifier: sku)
        case .virtualGood(let sku):
            statement.bind(base + 15, name: "virtualGood")
            statement.bind(base + 18, identifier: sku)
        case .cardDraw: statement.bind(base + 15, name: "cardDraw")
        case .lotteryDraw: statement.bind(base + 15, name: "lotteryDraw")
        }
        statement.bind(base + 19, transfer.amount)
        statement.bind(base + 20, identifier: transfer.reason.command)
        statement.bind(base + 21, identifier: transfer.reason.rule)
        statement.bind(base + 22, Int64(transfer.reason.ruleVersion))
        statement.bind(base + 23, transfer.at.millisecondsSinceEpoch)
        statement.bind(base + 24, transfer.holdUntil?.millisecondsSinceEpoch)
    }

    /// Rebuilds the transfer in the current row of a statement selecting
    /// ``SQLiteSchema/transferColumns``, and returns it with the entry that made it.
    ///
    /// - Throws: ``FissionError/Code/corruptStore`` if the columns do not make a valid transfer.
    static func read(_ row: Statement) throws(FissionError) -> (entry: Int64, transfer: Transfer) {
        let id = TransferID(rawValue: row.int64(0))
        func corrupt(_ why: String) -> FissionError {
            FissionError(code: .corruptStore, reason: "transfer \(id) cannot be read back: \(why)")
        }
        let resolves = row.optionalInt64(3).map(TransferID.init(rawValue:))
        let kind: TransferKind
        switch (row.text(2), resolves) {
        case ("posted", nil): kind = .posted
        case ("pending", nil): kind = .pending
        case ("postPending", let pending?): kind = .postPending(pending)
        case ("voidPending", let pending?): kind = .voidPending(pending)
        case ("reversal", let original?): kind = .reversal(original)
        case (let name, _): throw corrupt("kind \(name ?? "NULL") with resolves \(resolves?.description ?? "NULL")")
        }
        var key: TransferKey?
        if let operationName = row.text(4) {
            guard let operation = Self.operation(named: operationName),
                let campaign = try row.identifier(5, CampaignID.self),
                let source = try row.identifier(8, EventID.self), let part = Int32(exactly: row.int64(9))
            else { throw corrupt("key operation \(operationName) with missing parts") }
            key = TransferKey(
                operation,
                campaign: campaign,
                rule: try row.identifier(6),
                beneficiary: try row.identifier(7),
                source: source,
                part: part
            )
        }
        let unit: LedgerUnit
        switch row.text(14) {
        case "money":
            do {
                unit = .money(
                    try Currency(code: row.text(15) ?? "", minorUnitDigits: Int(clamping: row.int64(16)))
                )
            } catch {
                throw corrupt(error.reason)
            }
        case "points": unit = .points
        case "coupon": unit = .coupon(try Self.sku(row, corrupt))
        case "gift": unit = .gift(try Self.sku(row, corrupt))
        case "virtualGood": unit = .virtualGood(try Self.sku(row, corrupt))
        case "cardDraw": unit = .cardDraw
        case "lotteryDraw": unit = .lotteryDraw
        case let name: throw corrupt("unit \(name ?? "NULL")")
        }
        let debit = AccountKey(try Self.owner(row, at: 10, corrupt), unit)
        let credit = AccountKey(try Self.owner(row, at: 12, corrupt), unit)
        guard let command = try row.identifier(19, EventID.self), let ruleVersion = Int32(exactly: row.int64(21)) else {
            throw corrupt("reason without a command")
        }
        let reason = TransferReason(command: command, rule: try row.identifier(20), ruleVersion: ruleVersion)
        // Unchecked, as the journal's binary form reads them: a settlement adds hold days without a
        // range check, so a hold may end after `Timestamp.latest`, and what was stored reads back.
        let at = Timestamp(unchecked: row.int64(22))
        let holdUntil = row.optionalInt64(23).map { Timestamp(unchecked: $0) }
        var fields: [String: any Sendable] = [
            "id": id, "kind": kind, "debit": debit, "credit": credit, "amount": row.int64(18), "reason": reason,
            "at": at,
        ]
        fields["key"] = key
        fields["holdUntil"] = holdUntil
        do {
            return (row.int64(1), try Transfer(from: TransferDecoder(fields: fields)))
        } catch {
            throw corrupt("\(error)")
        }
    }

    private static func bind(_ owner: AccountOwner, at index: Int32, to statement: Statement) {
        switch owner {
        case .budget(let campaign):
            statement.bind(index, name: "budget")
            statement.bind(index + 1, identifier: campaign)
        case .wallet(let member):
            statement.bind(index, name: "wallet")
            statement.bind(index + 1, identifier: member)
        case .receivable(let member):
            statement.bind(index, name: "receivable")
            statement.bind(index + 1, identifier: member)
        case .outside:
            statement.bind(index, name: "outside")
        }
    }

    private static func owner(
        _ row: Statement,
        at index: Int32,
        _ corrupt: (String) -> FissionError
    ) throws(FissionError) -> AccountOwner {
        let name = row.text(index)
        if name == "outside" { return .outside }
        switch (name, try row.identifier(index + 1, MemberID.self)) {
        case ("budget", _):
            guard let campaign = try row.identifier(index + 1, CampaignID.self) else {
                throw corrupt("budget without a campaign")
            }
            return .budget(campaign)
        case ("wallet", let member?): return .wallet(member)
        case ("receivable", let member?): return .receivable(member)
        default: throw corrupt("account owner \(name ?? "NULL") without its id")
        }
    }

    private static func sku(_ row: Statement, _ corrupt: (String) -> FissionError) throws(FissionError) -> SKUID {
        guard let sku = try row.identifier(17, SKUID.self) else { throw corrupt("unit without its SKU") }
        return sku
    }

    private static func kind(_ kind: TransferKind) -> (StaticString, TransferID?) {
        switch kind {
        case .posted: ("posted", nil)
        case .pending: ("pending", nil)
        case .postPending(let pending): ("postPending", pending)
        case .voidPending(let pending): ("voidPending", pending)
        case .reversal(let original): ("reversal", original)
        }
    }

    private static func operation(_ operation: TransferKey.Operation) -> StaticString {
        switch operation {
        case .funding: "funding"
        case .grant: "grant"
        case .reversal: "reversal"
        case .withdrawal: "withdrawal"
        }
    }

    private static func operation(named name: String) -> TransferKey.Operation? {
        switch name {
        case "funding": .funding
        case "grant": .grant
        case "reversal": .reversal
        case "withdrawal": .withdrawal
        default: nil
        }
    }
}

/// Decodes a `Transfer` from its already-built parts, keyed by property name.
///
/// Each field is handed over as the value it is (a `TransferKind`, an `AccountKey` ...), so only
/// `Transfer`'s own coding keys matter, never how its parts encode themselves.
struct TransferDecoder: Decoder {
    let fields: [String: any Sendable]

    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Fields<Key>(fields: self.fields))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "a transfer is keyed"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "a transfer is keyed"))
    }

    struct Fields<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let fields: [String: any Sendable]

        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { self.fields.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { self.fields[key.stringValue] != nil }

        func decodeNil(forKey key: Key) throws -> Bool { self.fields[key.stringValue] == nil }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            guard let value = self.fields[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: [key], debugDescription: "no column for it"))
            }
            guard let typed = value as? T else {
                throw DecodingError.typeMismatch(
                    T.self,
                    .init(codingPath: [key], debugDescription: "column holds \(value)")
                )
            }
            return typed
        }

        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try self.decode(type, key) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try self.decode(type, key) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try self.decode(type, key) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try self.decode(type, key) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try self.decode(type, key) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try self.decode(type, key) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try self.decode(type, key) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try self.decode(type, key) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try self.decode(type, key) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try self.decode(type, key) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try self.decode(type, key) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try self.decode(type, key) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try self.decode(type, key) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try self.decode(type, key) }

        private func decode<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T {
            try self.decode(type, forKey: key)
        }

        func nestedContainer<NestedKey: CodingKey>(
            keyedBy type: NestedKey.Type,
            forKey key: Key
        ) throws -> KeyedDecodingContainer<NestedKey> {
            throw DecodingError.typeMismatch(
                type,
                .init(codingPath: [key], debugDescription: "fields are whole values")
            )
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw DecodingError.typeMismatch(
                [Any].self,
                .init(codingPath: [key], debugDescription: "fields are whole values")
            )
        }

        func superDecoder() throws -> any Decoder { TransferDecoder(fields: [:]) }

        func superDecoder(forKey key: Key) throws -> any Decoder { TransferDecoder(fields: [:]) }
    }
}
