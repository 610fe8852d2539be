import FissionCore
import FissionGroups
import FissionMembers
import Foundation
import Testing

/// Bugs a review of entry rules, the directory's decoding, the phone scanner, the sensitive-word
/// matcher and the moderator found (2026-12-06); each test failed before its fix.
struct GroupsReviewTests {
    @Test("an operator claiming more children than nodes follow is refused, not a trap")
    func hugeChildCounts() throws {
        for count in [Int.max, 3, 2] {
            let error = #expect(throws: FissionError.self) {
                try EntryRule(nodes: [.all(childCount: count), .clause(.hasPaidOrder)])
            }
            #expect(error?.code == .invalidEntryRule, "count \(count)")
        }
        let json = Data(#"[{"op": "any", "count": 9223372036854775807}]"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(EntryRule.self, from: json) }
        // The largest count that fits still builds.
        let fits = try EntryRule(nodes: [.any(childCount: 2), .clause(.hasPaidOrder), .clause(.hasPaidEntryFee)])
        #expect(fits.nodes.count == 3)
    }

    @Test("a decoded directory numbering more events than its logs can hold is refused")
    func decodedSequenceBeyondTheLogs() throws {
        var directory = GroupDirectory(policy: try makePolicy())
        try directory.addSeries(GroupSeries(id: "acq", name: "Acq", purpose: .acquisition, maximumGroups: 3))
        _ = try directory.join(member("a"), into: .series("acq"), at: hour(1))
        let text = String(decoding: try JSONEncoder().encode(directory), as: UTF8.self)
        #expect(text.contains(#""lastSequence":1"#))
        for value in ["9223372036854775807", "\(CommunityGroup.maximumLogEntries + 1)"] {
            let changed = text.replacingOccurrences(of: #""lastSequence":1"#, with: #""lastSequence":\#(value)"#)
            #expect(throws: DecodingError.self) {
                try JSONDecoder().decode(GroupDirectory.self, from: Data(changed.utf8))
            }
        }
        // As many as one group's log holds still decodes, and the next join numbers on.
        let most = text.replacingOccurrences(
            of: #""lastSequence":1"#,
            with: #""lastSequence":\#(CommunityGroup.maximumLogEntries)"#
        )
        var decoded = try JSONDecoder().decode(GroupDirectory.self, from: Data(most.utf8))
        _ = try decoded.join(member("b"), into: .series("acq"), at: hour(2))
        #expect(decoded.lastEventSequence == Int64(CommunityGroup.maximumLogEntries) + 1)
    }

    @Test(
        "a mobile number followed across one space by more digits is still a phone number",
        arguments: ["加我13800138000 2点后联系", "call 13800138000 8pm", "电话13800138000 3个名额", "86 138 0013 8000 12"]
    )
    func phoneNumberBeforeAnotherNumber(_ text: String) throws {
        let rules = try ModerationRules(sensitiveWords: [], ads: AdRules())
        let hits = try rules.scan(text)
        let phone = try #require(hits.first { $0.kind == .phoneNumber }, "\(text): \(hits)")
        // The hit covers the number, not the digits after it.
        let covered = String(decoding: Array(text.utf8)[phone.utf8Range], as: UTF8.self)
        #expect(covered.filter(\.isNumber).count <= 13, "\(covered)")
    }

    @Test(
        "every number of a run of numbers is found, each covering its own digits",
        arguments: [
            ("13800138000 13900139000", ["13800138000", "13900139000"]),
            ("13800138000 13900139000 13700137000", ["13800138000", "13900139000", "13700137000"]),
            ("86 138 0013 8000 139 0013 9000", ["86 138 0013 8000", "139 0013 9000"]),
            ("联系13800138000 139-0013-9000 12", ["13800138000", "139-0013-9000"]),
        ]
    )
    func runsOfNumbers(_ text: String, _ numbers: [String]) throws {
        let rules = try ModerationRules(sensitiveWords: [], ads: AdRules())
        let covered = try rules.scan(text).filter { $0.kind == .phoneNumber }.map {
            String(decoding: Array(text.utf8)[$0.utf8Range], as: UTF8.self)
        }
        #expect(covered == numbers, "\(text)")
    }

    @Test("a run of thousands of numbers gives the most hits a scan reports, all of them numbers")
    func longRunOfNumbers() throws {
        let rules = try ModerationRules(sensitiveWords: [], ads: AdRules())
        let text = Array(repeating: "13800138000", count: 5_000).joined(separator: " ")
        let hits = try rules.scan(text)
        #expect(hits.count == ModerationRules.maximumHits)
        #expect(hits.allSatisfy { $0.kind == .phoneNumber && $0.utf8Range.count == 11 })
        #expect(hits.map(\.utf8Range.lowerBound) == (0..<ModerationRules.maximumHits).map { $0 * 12 })
    }

    @Test("scores, rows of single digits and short numbers next to each other are still not phone numbers")
    func scoresStayClean() throws {
        let rules = try ModerationRules(sensitiveWords: [], ads: AdRules())
        for text in [
            "13-12, 15-11, 12-9", "2026 12 06 3 4", "1380013800 2", "骰子: 1 6 3 2 5 4 4 1 6 2 3 5",
            "answers 1-4-2-3-3-1-2-4-4-2-1-3-2", "1 5 2 3 4 1 2 3 4 1 2 3 4 1 2",
            "+1 2 3 4 5 6 7 8 9 10 11 12 13", "+12345678901 23456",
        ] {
            #expect(try rules.scan(text).allSatisfy { $0.kind != .phoneNumber }, "\(text)")
        }
    }

    @Test("in decomposed text a word is not found inside another word")
    func combiningMarksBelongToTheLetterBefore() throws {
        let matcher = try SensitiveWordMatcher(words: ["cole", "ass"])
        #expect(!matcher.containsMatch(in: "école"))
        #expect(!matcher.containsMatch(in: "e\u{301}cole"))
        #expect(!matcher.containsMatch(in: "cole\u{301}s"))
        #expect(!matcher.containsMatch(in: "clas\u{301}s"))
        // Marks used to disguise a word (zalgo) are still skipped.
        #expect(matcher.containsMatch(in: "a\u{336}s\u{336}s\u{336} !"))
    }

    @Test(
        "upper-case forms fold as case folding does",
        arguments: [("μαλάκας", "ΜΑΛΆΚΑΣ"), ("μαλάκας", "μαλάκασ"), ("sik", "SİK"), ("sik", "ſik")]
    )
    func caseFolding(word: String, text: String) throws {
        #expect(try SensitiveWordMatcher(words: [word]).containsMatch(in: text), "\(word) in \(text)")
    }

    @Test("a Thai word is found inside unspaced Thai text")
    func wordsOfScriptsWithoutSpaces() throws {
        let matcher = try SensitiveWordMatcher(words: ["เหี้ย"])
        #expect(matcher.containsMatch(in: "เหี้ย"))
        #expect(matcher.containsMatch(in: "ไอ้เหี้ยนี่"))
    }

    @Test("an emoji word matches with or without its variation selector")
    func variationSelectors() throws {
        for word in ["☠\u{FE0F}", "☠"] {
            let matcher = try SensitiveWordMatcher(words: [word])
            #expect(matcher.containsMatch(in: "☠\u{FE0F}"), "\(word.unicodeScalars.map(\.value))")
            #expect(matcher.containsMatch(in: "hi ☠ there"), "\(word.unicodeScalars.map(\.value))")
        }
    }

    @Test("words that differ only by a space are each found by their own rules")
    func spacedVariants() throws {
        for words in [["newyork", "new york"], ["new york", "newyork"]] {
            let matcher = try SensitiveWordMatcher(words: words)
            let spaced = matcher.matches(in: "new york")
            #expect(spaced.count == 1 && words[spaced[0].wordIndex] == "new york", "\(words)")
            let joined = matcher.matches(in: "newyork")
            #expect(joined.count == 1 && joined[0].wordIndex == 0, "\(words): the first in the list")
        }
        // The same symbols in the same case are one word: the first is reported.
        let same = try SensitiveWordMatcher(words: ["FUCK", "fuck"])
        #expect(same.matches(in: "f.u.c.k").map(\.wordIndex) == [0])
    }

    @Test("a list whose words start with thousands of different characters builds")
    func wideListsBuild() throws {
        func ideograph(_ offset: Int) -> String { String(Unicode.Scalar(UInt32(0x4E00 + offset))!) }
        // 8,000 different first characters: a linear search of the root's children took about
        // 8,000 x 8,000 / 2 steps.
        let words = (0..<16_000).map { ideograph($0 % 8_000) + ideograph(8_000 + $0 / 8_000) }
        let matcher = try SensitiveWordMatcher(words: words)
        #expect(matcher.containsMatch(in: "看" + ideograph(7_999) + ideograph(8_001) + "吧"))
        #expect(!matcher.containsMatch(in: ideograph(7_999) + ideograph(8_002)))
    }

    @Test("a message reviewed after later ones counts its own strike")
    func lateMessage() throws {
        let rules = try ModerationRules(sensitiveWords: ["赌博"], ads: AdRules())
        var moderator = GroupModerator(rules: rules, policy: .standard)
        for hours: Int64 in [10, 11, 12] { _ = try moderator.review("赌博", from: "m", at: hour(hours)) }
        let late = try moderator.review("赌博", from: "m", at: hour(9))
        #expect(late.strikesInWindow == 1, "\(late)")
        #expect(late.action == .warn)
    }
}
