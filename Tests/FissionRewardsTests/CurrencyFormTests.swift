@_spi(FissionCoding) import FissionCore
import Testing

@_spi(FissionCoding) @testable import FissionRewards

/// A currency's letters are packed in an integer; what it writes and how it orders must be what
/// the code string gave, or stored snapshots and journals would no longer read back.
struct CurrencyFormTests {
    @Test func aCurrencyWritesTheBytesItsCodeStringWrote() throws {
        for currency in [Currency.cny, .usd, .jpy, try Currency(code: "ZAR", minorUnitDigits: 6)] {
            var packed = ByteWriter(capacity: 8)
            packed.append(currency: currency)
            var spelled = ByteWriter(capacity: 8)
            spelled.append(string: currency.code)
            spelled.append(UInt8(currency.minorUnitDigits))
            #expect(packed.bytes == spelled.bytes, "\(currency)")
        }
        var writer = ByteWriter(capacity: 8)
        writer.append(currency: .cny)
        #expect(writer.bytes == [3, 0] + Array("CNY".utf8) + [2])
    }

    @Test func moneyUnitsOrderByCodeThenDigits() throws {
        let eur = LedgerUnit.money(.eur)
        let usd = LedgerUnit.money(.usd)
        let cnyThreeDigits = LedgerUnit.money(try Currency(code: "CNY", minorUnitDigits: 3))
        #expect(eur < usd && !(usd < eur))
        #expect(LedgerUnit.money(.cny) < cnyThreeDigits && !(cnyThreeDigits < .money(.cny)))
        #expect(cnyThreeDigits < eur)
        #expect(!(usd < usd))
        // The same order as sorting by the codes' text, then by digits.
        let codes = ["USD", "AAA", "ZZZ", "CNY", "CNX", "EUR", "JPY"]
        let units = try codes.map { LedgerUnit.money(try Currency(code: $0, minorUnitDigits: 2)) }
        #expect(units.sorted().map(\.description) == codes.sorted().map { "money(\($0))" })
    }
}
