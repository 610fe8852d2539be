import FissionCore
import Foundation
import Testing

struct MoneyTests {
    @Test(
        "Decimal amounts parse to exact minor units",
        arguments: [
            ("12.34", Currency.cny, 1_234 as Int64),
            ("12.3", .cny, 1_230),
            ("12", .cny, 1_200),
            ("0.01", .cny, 1),
            ("-0.5", .cny, -50),
            ("1500", .jpy, 1_500),
            ("92233720368547758.07", .cny, Int64.max),
            ("-92233720368547758.08", .cny, Int64.min),
        ]
    )
    func parsing(text: String, currency: Currency, minorUnits: Int64) throws {
        #expect(try Money(parsing: text, currency: currency) == Money(minorUnits: minorUnits, currency: currency))
    }

    @Test(
        "Malformed amounts are refused, never rounded",
        arguments: ["", "-", ".5", "12.", "12.345", "1,000", "1e3", " 12", "12 ", "--1", "¥12", "12.3.4"]
    )
    func malformedAmounts(text: String) {
        #expect(throws: FissionError(code: .malformedAmount)) { try Money(parsing: text, currency: .cny) }
    }

    @Test func amountsPastInt64AreOverflowErrors() {
        #expect(throws: FissionError(code: .arithmeticOverflow)) {
            try Money(parsing: "92233720368547758.08", currency: .cny)
        }
        #expect(throws: FissionError(code: .malformedAmount)) { try Money(parsing: "1.5", currency: .jpy) }
    }

    @Test(
        "Formatting shows exactly the currency's digits",
        arguments: [
            (Money(minorUnits: 1_230, currency: .cny), "12.30 CNY"),
            (Money(minorUnits: -5, currency: .usd), "-0.05 USD"),
            (Money(minorUnits: 0, currency: .eur), "0.00 EUR"),
            (Money(minorUnits: 1_500, currency: .jpy), "1500 JPY"),
            (Money(minorUnits: Int64.min, currency: .cny), "-92233720368547758.08 CNY"),
        ]
    )
    func formatting(money: Money, text: String) throws {
        #expect(money.description == text)
        #expect(try Money(parsing: money.decimalString, currency: money.currency) == money)
    }

    @Test func currencyMismatchIsAnError() {
        let yuan = Money(minorUnits: 100, currency: .cny)
        let dollars = Money(minorUnits: 100, currency: .usd)
        #expect(throws: FissionError(code: .currencyMismatch)) { try yuan.adding(dollars) }
        #expect(throws: FissionError(code: .currencyMismatch)) { try yuan.subtracting(dollars) }
        let oddYuan = try! Currency(code: "CNY", minorUnitDigits: 3)
        #expect(throws: FissionError(code: .currencyMismatch)) {
            try yuan.adding(Money(minorUnits: 1, currency: oddYuan))
        }
    }

    @Test(
        "Malformed currencies are refused",
        arguments: [("CN", 2), ("cny", 2), ("CNYY", 2), ("C1Y", 2), ("CNY", -1), ("CNY", 7)]
    )
    func malformedCurrencies(code: String, digits: Int) {
        #expect(throws: FissionError(code: .invalidCurrency)) { try Currency(code: code, minorUnitDigits: digits) }
    }

    @Test func overflowIsAnErrorNeverATrap() {
        let maximum = Money(minorUnits: .max, currency: .cny)
        let minimum = Money(minorUnits: .min, currency: .cny)
        let one = Money(minorUnits: 1, currency: .cny)
        #expect(throws: FissionError(code: .arithmeticOverflow)) { try maximum.adding(one) }
        #expect(throws: FissionError(code: .arithmeticOverflow)) { try minimum.subtracting(one) }
        #expect(throws: FissionError(code: .arithmeticOverflow)) { try maximum.multiplied(by: 2) }
        #expect(throws: FissionError(code: .arithmeticOverflow)) { try minimum.negated() }
    }

    @Test func checkedArithmeticAgreesWithWideIntegers() throws {
        var generator = SeededGenerator(seed: 0x5EED_0001)
        for caseNumber in 0..<10_000 {
            let left = Money(minorUnits: randomAmount(&generator), currency: .cny)
            let right = Money(minorUnits: randomAmount(&generator), currency: .cny)
            let factor = randomAmount(&generator) >> Int64(generator.next(below: 64))
            let context = "seed 0x5EED0001 case \(caseNumber): \(left.minorUnits), \(right.minorUnits), \(factor)"
            expectAgrees(Int128(left.minorUnits) + Int128(right.minorUnits), context) { try left.adding(right) }
            expectAgrees(Int128(left.minorUnits) - Int128(right.minorUnits), context) { try left.subtracting(right) }
            expectAgrees(Int128(left.minorUnits) * Int128(factor), context) { try left.multiplied(by: factor) }
            expectAgrees(-Int128(left.minorUnits), context) { try left.negated() }
        }
    }

    @Test func portionRoundsDownAndNeverExceedsTheAmount() throws {
        var generator = SeededGenerator(seed: 0x5EED_0002)
        for caseNumber in 0..<10_000 {
            let amount = Money(minorUnits: abs(randomAmount(&generator) / 2), currency: .cny)
            let rate = try BasisPoints(generator.next(in: 0...10_000))
            let portion = try amount.portion(rate)
            let exact = Int128(amount.minorUnits) * Int128(rate.value) / 10_000
            #expect(Int128(portion.minorUnits) == exact, "seed 0x5EED0002 case \(caseNumber)")
            #expect(portion.minorUnits <= amount.minorUnits, "seed 0x5EED0002 case \(caseNumber)")
            #expect(portion.minorUnits >= 0, "seed 0x5EED0002 case \(caseNumber)")
        }
        #expect(try Money(minorUnits: 999, currency: .cny).portion(.percent(30)).minorUnits == 299)
        #expect(throws: FissionError(code: .negativeAmount)) {
            try Money(minorUnits: -1, currency: .cny).portion(.whole)
        }
    }

    @Test func splitsAreExactAndNeverNegative() throws {
        var generator = SeededGenerator(seed: 0x5EED_0003)
        for caseNumber in 0..<10_000 {
            let amount = Money(minorUnits: abs(randomAmount(&generator) / 2), currency: .cny)
            let count = Int(generator.next(in: 1...12))
            var weights = (0..<count).map { _ in Int64(generator.next(below: 1_000)) }
            if weights.allSatisfy({ $0 == 0 }) { weights[0] = 1 }
            if generator.chance(try .percent(10)) {
                weights = weights.map { $0 * (Int64.max / 12 / 1_000) }  // huge weights
            }
            let parts = try amount.split(weights: weights)
            let context = "seed 0x5EED0003 case \(caseNumber): \(amount.minorUnits) by \(weights)"
            #expect(parts.count == weights.count, "\(context)")
            #expect(parts.reduce(Int128(0)) { $0 + Int128($1.minorUnits) } == Int128(amount.minorUnits), "\(context)")
            let totalWeight = weights.reduce(Int128(0)) { $0 + Int128($1) }
            for (part, weight) in zip(parts, weights) {
                let floor = Int128(amount.minorUnits) * Int128(weight) / totalWeight
                #expect(part.minorUnits >= 0, "\(context)")
                #expect(Int128(part.minorUnits) == floor || Int128(part.minorUnits) == floor + 1, "\(context)")
                if weight == 0 { #expect(part.isZero, "\(context)") }
            }
        }
    }

    @Test func theArticlesMilestoneSplit() throws {
        let reward = try Money(parsing: "50", currency: .cny)
        let parts = try reward.split(weights: [15, 15, 20])
        #expect(parts.map(\.decimalString) == ["15.00", "15.00", "20.00"])
        let thirds = try Money(minorUnits: 100, currency: .cny).split(evenly: 3)
        #expect(thirds.map(\.minorUnits) == [34, 33, 33])
        let largestRemainder = try Money(minorUnits: 10, currency: .cny).split(weights: [1, 2, 3])
        // 1.67, 3.33 and 5: the largest remainder gets the odd fen.
        #expect(largestRemainder.map(\.minorUnits) == [2, 3, 5])
    }

    @Test(
        "Bad split weights are refused",
        arguments: [[], [0, 0], [1, -1], [Int64.max, 1], Array(repeating: 1, count: 10_001)]
    )
    func badWeights(weights: [Int64]) {
        #expect(throws: FissionError(code: .invalidWeights)) {
            try Money(minorUnits: 100, currency: .cny).split(weights: weights)
        }
    }

    @Test func negativeAmountsCannotBeSplit() {
        #expect(throws: FissionError(code: .negativeAmount)) {
            try Money(minorUnits: -100, currency: .cny).split(weights: [1, 1])
        }
        #expect(throws: FissionError(code: .invalidWeights)) {
            try Money(minorUnits: 100, currency: .cny).split(evenly: 0)
        }
    }

    @Test func moneyRoundTripsThroughJSON() throws {
        let money = Money(minorUnits: 1_234, currency: .cny)
        let data = try JSONEncoder().encode(money)
        #expect(try JSONDecoder().decode(Money.self, from: data) == money)
        let bad = Data(#"{"minorUnits":1,"currency":{"code":"cn","minorUnitDigits":2}}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Money.self, from: bad) }
    }

    @Test func currencyKeepsItsCodeAndJSONAsAPlainValue() throws {
        let zar = try Currency(code: "ZAR", minorUnitDigits: 2)
        #expect(zar.code == "ZAR" && zar.minorUnitDigits == 2 && zar.description == "ZAR")
        #expect(Currency.jpy.code == "JPY" && Currency.jpy.minorUnitDigits == 0)
        // The JSON shape is the one hosts already store.
        let json = String(decoding: try JSONEncoder().encode(Currency.jpy), as: UTF8.self)
        #expect(json.contains(#""code":"JPY""#) && json.contains(#""minorUnitDigits":0"#))
        #expect(try JSONDecoder().decode(Currency.self, from: Data(json.utf8)) == .jpy)
        #expect(try Currency(code: "CNY", minorUnitDigits: 2) == .cny)
        #expect(try Currency(code: "CNY", minorUnitDigits: 3) != .cny)
        // Copying money never touches a reference count.
        #expect(_isPOD(Money.self))
        #expect(MemoryLayout<Money>.size <= 16)
    }

    @Test func pointsAreCheckedAndSplitExactly() throws {
        #expect(try Points(5).adding(Points(7)) == Points(12))
        #expect(throws: FissionError(code: .arithmeticOverflow)) { try Points(.max).adding(Points(1)) }
        #expect(throws: FissionError(code: .arithmeticOverflow)) { try Points(.min).subtracting(Points(1)) }
        #expect(try Points(100).split(weights: [1, 2]).map(\.value) == [33, 67])
    }
}

struct BasisPointsTests {
    @Test(arguments: [-1, 10_001, Int64.max, Int64.min])
    func ratesOutsideZeroToOneHundredPercentAreRefused(value: Int64) {
        #expect(throws: FissionError(code: .invalidRate)) { try BasisPoints(value) }
    }

    @Test func percentagesAndText() throws {
        #expect(try BasisPoints.percent(30).value == 3_000)
        #expect(throws: FissionError(code: .invalidRate)) { try BasisPoints.percent(101) }
        #expect(try BasisPoints(1_250).description == "12.5%")
        #expect(try BasisPoints(5).description == "0.05%")
        #expect(BasisPoints.whole.description == "100%")
    }
}

/// A random Int64 that is often near the edges, where overflow lives.
private func randomAmount(_ generator: inout SeededGenerator) -> Int64 {
    switch generator.next(below: 4) {
    case 0: Int64(bitPattern: generator.next())
    case 1: generator.next(in: -1_000_000...1_000_000)
    case 2: Int64.max - generator.next(in: 0...1_000)
    default: Int64.min + generator.next(in: 0...1_000)
    }
}

/// Expects `operation` to return `reference` when it fits in Int64 and to throw overflow otherwise.
private func expectAgrees(_ reference: Int128, _ context: String, _ operation: () throws -> Money) {
    if let expected = Int64(exactly: reference) {
        #expect((try? operation())?.minorUnits == expected, "\(context)")
    } else {
        #expect(throws: FissionError(code: .arithmeticOverflow), "\(context)") { try operation() }
    }
}
