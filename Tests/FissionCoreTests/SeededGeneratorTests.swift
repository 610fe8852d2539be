import FissionCore
import Foundation
import Testing

struct SeededGeneratorTests {
    @Test func matchesTheReferenceAlgorithm() {
        // SplitMix64 seeding and xoshiro256** outputs, computed with an independent implementation.
        var zero = SeededGenerator(seed: 0)
        #expect(
            zero.state == [0xE220_A839_7B1D_CDAF, 0x6E78_9E6A_A1B9_65F4, 0x06C4_5D18_8009_454F, 0xF88B_B8A8_724C_81EC]
        )
        #expect(
            [zero.next(), zero.next(), zero.next()] == [
                11_091_344_671_253_066_420, 13_793_997_310_169_335_082, 1_900_383_378_846_508_768,
            ]
        )
        var fortyTwo = SeededGenerator(seed: 42)
        #expect(
            [fortyTwo.next(), fortyTwo.next(), fortyTwo.next()] == [
                1_546_998_764_402_558_742, 6_990_951_692_964_543_102, 12_544_586_762_248_559_009,
            ]
        )
    }

    @Test func savedStateResumesTheSameStream() throws {
        var original = SeededGenerator(seed: 7)
        for _ in 0..<100 { _ = original.next() }
        var restored = try SeededGenerator(state: original.state)
        var decoded = try JSONDecoder().decode(SeededGenerator.self, from: JSONEncoder().encode(original))
        for _ in 0..<100 {
            let expected = original.next()
            #expect(restored.next() == expected)
            #expect(decoded.next() == expected)
        }
    }

    @Test func invalidStatesAreRefused() {
        #expect(throws: FissionError(code: .invalidGeneratorState)) { try SeededGenerator(state: [0, 0, 0, 0]) }
        #expect(throws: FissionError(code: .invalidGeneratorState)) { try SeededGenerator(state: [1, 2, 3]) }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(SeededGenerator.self, from: Data("[0,0,0,0]".utf8))
        }
    }

    @Test func boundedDrawsStayInRangeAndCoverIt() {
        var generator = SeededGenerator(seed: 0x5EED_0005)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 {
            let draw = generator.next(below: 7)
            #expect(draw < 7)
            counts[Int(draw)] += 1
        }
        // Each bucket expects 10,000; 5 standard deviations is about 475.
        #expect(counts.allSatisfy { abs($0 - 10_000) < 500 }, "\(counts)")
        for _ in 0..<1_000 {
            let value = generator.next(in: -3...3)
            #expect((-3...3).contains(value))
            let unit = generator.nextUnitInterval()
            #expect(unit >= 0 && unit < 1)
        }
        #expect(generator.next(in: Int64.min...Int64.max) != generator.next(in: Int64.min...Int64.max))
    }

    @Test func chanceFollowsTheRate() throws {
        var generator = SeededGenerator(seed: 0x5EED_0006)
        #expect((0..<1_000).allSatisfy { _ in !generator.chance(.zero) })
        #expect((0..<1_000).allSatisfy { _ in generator.chance(.whole) })
        let quarter = try BasisPoints(2_500)
        let hits = (0..<40_000).count { _ in generator.chance(quarter) }
        #expect(abs(hits - 10_000) < 500, "\(hits)")
    }
}
