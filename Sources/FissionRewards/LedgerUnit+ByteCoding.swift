@_spi(FissionCoding) package import FissionCore

// The one binary form of currencies, money, ledger units and reward amounts, shared by the
// settlement snapshot and the engine's journal. A reader names the error a malformed value
// becomes (a corrupt snapshot or a corrupt journal), so each format keeps its own error code.

extension ByteWriter {
    /// Appends a currency: its code, then its minor-unit digits.
    package mutating func append(currency: Currency) {
        // As `append(string: currency.code)` would, without making the string: the length 3 in
        // two bytes, then the three letters; then the digits. Six bytes in one store.
        let letters = UInt64(currency.letters)
        let packed: UInt64 =
            3 | (letters >> 16 & 0xFF) << 16 | (letters >> 8 & 0xFF) << 24 | (letters & 0xFF) << 32
            | UInt64(currency.minorUnitDigits) << 40
        self.append(lowBytesOf: packed, byteCount: 6)
    }

    /// Appends an amount of money: minor units, then the currency.
    package mutating func append(money: Money) {
        self.append(money.minorUnits)
        self.append(currency: money.currency)
    }

    /// Appends a ledger unit: a tag byte, then what the case carries.
    package mutating func append(unit: LedgerUnit) {
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

    /// Appends a reward amount: the quantity, then its unit.
    package mutating func append(amount: RewardAmount) {
        self.append(amount.quantity)
        self.append(unit: amount.unit)
    }
}

extension ByteReader {
    /// Reads a currency written by `ByteWriter.append(currency:)`.
    ///
    /// - Parameter corrupt: makes the caller's error from a description of what is wrong.
    package mutating func readCurrency(
        corrupt: (String) -> FissionError
    ) throws(FissionError) -> Currency {
        let code = try self.readString()
        let digits: UInt8 = try self.read()
        do {
            return try Currency(code: code, minorUnitDigits: Int(digits))
        } catch {
            throw corrupt("currency \(code): \(error.reason)")
        }
    }

    /// Reads money written by `ByteWriter.append(money:)`.
    package mutating func readMoney(corrupt: (String) -> FissionError) throws(FissionError) -> Money {
        let minorUnits: Int64 = try self.read()
        return Money(minorUnits: minorUnits, currency: try self.readCurrency(corrupt: corrupt))
    }

    /// Reads a ledger unit written by `ByteWriter.append(unit:)`.
    package mutating func readUnit(corrupt: (String) -> FissionError) throws(FissionError) -> LedgerUnit {
        let tag: UInt8 = try self.read()
        switch tag {
        case 0: return .money(try self.readCurrency(corrupt: corrupt))
        case 1: return .points
        case 2: return .coupon(try self.readIdentifier())
        case 3: return .gift(try self.readIdentifier())
        case 4: return .virtualGood(try self.readIdentifier())
        case 5: return .cardDraw
        case 6: return .lotteryDraw
        default: throw corrupt("ledger unit tag \(tag)")
        }
    }

    /// Reads a reward amount written by `ByteWriter.append(amount:)`.
    package mutating func readAmount(
        corrupt: (String) -> FissionError
    ) throws(FissionError) -> RewardAmount {
        let quantity: Int64 = try self.read()
        let unit = try self.readUnit(corrupt: corrupt)
        do {
            return try RewardAmount(quantity, unit)
        } catch {
            throw corrupt("reward amount \(quantity) \(unit): \(error.reason)")
        }
    }
}
