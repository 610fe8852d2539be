import FissionCore
import Testing

@testable import FissionGroups

/// Folding over the whole of Unicode: one letter per case pair, and folding twice changes nothing.
struct TextFoldingTests {
    @Test("every scalar whose lower case is one other scalar folds with it, and folding is idempotent")
    func foldPairsAndIdempotence() {
        var broken: [String] = []
        var unstable: [String] = []
        for value in UInt32(0)...0x1_FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let folded = TextFolding.fold(value)
            if TextFolding.fold(folded) != folded { unstable.append(String(value, radix: 16)) }
            let lower = scalar.properties.lowercaseMapping.unicodeScalars
            guard lower.count == 1, let other = lower.first, other.value != value else { continue }
            if folded != TextFolding.fold(other.value) {
                broken.append("U+\(String(value, radix: 16)) and U+\(String(other.value, radix: 16))")
            }
        }
        #expect(broken.isEmpty, "\(broken.count) pairs, such as \(broken.prefix(5))")
        #expect(unstable.isEmpty, "\(unstable.count) scalars, such as \(unstable.prefix(5))")
    }

    @Test("a word of variation selectors alone keeps them, as lists written before could hold one")
    func selectorsAlone() throws {
        let matcher = try SensitiveWordMatcher(words: ["☠", "\u{FE0F}", " \u{FE0E} "])
        #expect(matcher.matches(in: "☠\u{FE0F} ok").map(\.wordIndex) == [0, 1])
        #expect(matcher.matches(in: "a\u{FE0E}").map(\.wordIndex) == [2])
        #expect(throws: FissionError.self) { try SensitiveWordMatcher(words: [" "]) }
    }

    @Test("Cherokee in either case is one word")
    func cherokee() throws {
        let matcher = try SensitiveWordMatcher(words: ["\u{13E3}\u{13B3}\u{13A9}"])
        #expect(matcher.containsMatch(in: "\u{13E3}\u{13B3}\u{13A9}"))
        #expect(matcher.containsMatch(in: "\u{ABB3}\u{AB83}\u{AB79}"))
    }

    @Test("an Indic vowel sign after a match is a letter of the longer word, not a mark to skip")
    func indicVowelSigns() throws {
        let matcher = try SensitiveWordMatcher(words: ["काम"])
        #expect(matcher.containsMatch(in: "काम करो"))
        #expect(matcher.matches(in: "कामा").isEmpty)
    }

    @Test("a word of marks alone is found all along a run of them, reading no boundaries")
    func marksAlone() throws {
        let matcher = try SensitiveWordMatcher(words: ["\u{FE0F}"])
        let found = matcher.matches(in: String(repeating: "\u{FE0F}", count: 2_000), limit: 3_000)
        #expect(found.count == 2_000)
    }

    @Test("a word listed with a final combining mark ends at its letter")
    func listedWordEndingInAMark() throws {
        let matcher = try SensitiveWordMatcher(words: ["cafe\u{301}"])
        #expect(matcher.containsMatch(in: "un cafe\u{301} noir"))
        #expect(!matcher.containsMatch(in: "cafe\u{301}teria"))
    }

    @Test("many spellings of one word with the same spacing are found as the first of them")
    func repeatedSpacings() throws {
        let variants = ["ab"] + (1..<200).map { "a" + String(repeating: " ", count: $0) + "b" }
        let matcher = try SensitiveWordMatcher(words: variants)
        #expect(matcher.matches(in: "x ab y").map(\.wordIndex) == [0])
        #expect(matcher.matches(in: "x a b y").map(\.wordIndex) == [0])
        #expect(matcher.matches(in: "x a.b y").map(\.wordIndex) == [0])
        #expect(!matcher.containsMatch(in: "xab y"))
    }
}
