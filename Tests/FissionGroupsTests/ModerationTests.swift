import FissionCore
import FissionGroups
import Testing

struct ModerationTests {
    static let matcher = try! SensitiveWordMatcher(words: ["赌博", "fuck", "法轮", "rapist", "new york", "york city"])

    static let evasions: [(String, String)] = [
        ("plain Chinese", "这里有赌博活动"),
        ("space between", "这里有 赌 博 活动"),
        ("asterisk between", "这里有，赌*博，活动"),
        ("zero-width space", "赌\u{200B}博"),
        ("emoji between", "赌🎲博"),
        ("upper case", "FUCK"),
        ("mixed case", "FuCk"),
        ("full-width", "ｆｕｃｋ"),
        ("full-width upper", "ＦＵＣＫ off"),
        ("dots", "f.u.c.k off"),
        ("spaces", "so f u c k this"),
        ("full-width hyphens", "Ｆ－Ｕ－Ｃ－Ｋ"),
        ("combining strokes", "f\u{336}u\u{336}c\u{336}k\u{336}"),
        ("circled letters", "ⓕⓤⓒⓚ"),
        ("ideographic space", "赌\u{3000}博"),
        ("punctuation around", "...fuck!!!"),
    ]

    @Test(arguments: ModerationTests.evasions)
    func evasionFormsAreCaught(name: String, text: String) {
        #expect(Self.matcher.containsMatch(in: text), "\(name): \(text)")
    }

    static let ordinaryTexts: [(String, String)] = [
        ("word inside a word", "the therapist was helpful"),
        ("prefix of a longer word", "fuckwit? no: refuckle is not a word"),
        ("Chinese across a comma", "我们要依法，轮流值班"),
        ("characters apart", "法律轮船"),
        ("letters apart", "f-ing u c k"),
        ("spaced inside a word", "classic f.u.c.king"),
        ("empty", ""),
    ]

    @Test(arguments: ModerationTests.ordinaryTexts)
    func ordinaryTextIsNotFlagged(name: String, text: String) {
        #expect(Self.matcher.matches(in: text).isEmpty, "\(name): \(text) -> \(Self.matcher.matches(in: text))")
    }

    @Test func overlappingWordsAreAllReportedWithTheirRanges() throws {
        let chinese = try SensitiveWordMatcher(words: ["中国", "国人", "中国人民", "人民"])
        let found = chinese.matches(in: "中国人民").map { (chinese.words[$0.wordIndex], $0.utf8Range) }
        #expect(found.map(\.0).sorted() == ["中国", "中国人民", "人民", "国人"])
        #expect(found.first { $0.0 == "人民" }?.1 == 6..<12)
        let latin = Self.matcher.matches(in: "I love New York City!").map { Self.matcher.words[$0.wordIndex] }
        #expect(latin == ["new york", "york city"])
        #expect(Self.matcher.matches(in: "f.u.c.k off").first?.utf8Range == 0..<7)
    }

    @Test func wordListsAreValidated() {
        for words in [[""], ["  "], ["ok", "\u{200B}"], [String(repeating: "a", count: 65)]] {
            #expect(throws: FissionError(code: .invalidWordList), "\(words)") { try SensitiveWordMatcher(words: words) }
        }
        #expect(throws: FissionError(code: .invalidWordList)) { try AdRules(topLevelDomains: ["c0m"]) }
    }

    static let ads: [(String, String, ModerationHit.Kind?)] = [
        ("domain", "看看 example.com 吧", .link),
        ("url", "https://t.me/abcdef", .link),
        ("full-width domain", "ＥＸＡＭＰＬＥ。ＣＯＭ", .link),
        ("end of sentence", "Visit shop.example.cn.", .link),
        ("mobile", "电话13800138000", .phoneNumber),
        ("spaced mobile", "call 138 0013 8000 now", .phoneNumber),
        ("dashed digits", "1-3-8-0-0-1-3-8-0-0-0", .phoneNumber),
        ("full-width digits", "１３８００１３８０００", .phoneNumber),
        ("country code", "+86 138-0013-8000", .phoneNumber),
        ("international", "ring +44 20 7946 0958", .phoneNumber),
        ("add me", "加我微信", .contactPhrase("加我微信")),
        ("spaced add me", "好 加 我 微 信 哦", .contactPhrase("加我微信")),
        ("plus v", "有需要+V", .contactPhrase("+v")),
        ("English", "ＡＤＤ ＭＥ on the other app", .contactPhrase("add me")),
        ("joining us", "欢迎参加我们的活动", nil),
        ("version", "version 1.2.3 of node.js, e.g. today", nil),
        ("order number", "order 20261122000123456", nil),
        ("price and date", "¥1999 on 2026-11-22 10:30", nil),
        ("file", "send report.zip", nil),
    ]

    @Test(arguments: ModerationTests.ads)
    func adRulesCatchLinksPhonesAndContactPhrases(name: String, text: String, expected: ModerationHit.Kind?) throws {
        let rules = try ModerationRules(sensitiveWords: [], ads: AdRules())
        let hits = try rules.scan(text)
        if let expected {
            #expect(hits.map(\.kind) == [expected], "\(name): \(hits)")
        } else {
            #expect(hits.isEmpty, "\(name): \(hits)")
        }
    }

    @Test func strikesWarnThenMuteThenRemoveWithinTheWindow() throws {
        let rules = try ModerationRules(sensitiveWords: ["赌博"], ads: AdRules())
        var moderator = GroupModerator(rules: rules, policy: .standard)
        let clean = try moderator.review("大家好", from: "m", at: hour(0))
        #expect(clean.action == .none && clean.hits.isEmpty && !clean.flagForStaff)
        #expect(try moderator.review("赌博", from: "m", at: hour(1)).action == .warn)
        // Eight days later the first strike is out of the 7-day window: a warning again.
        #expect(try moderator.review("加我微信", from: "m", at: hour(24 * 8 + 2)).action == .warn)
        let mute = try moderator.review("赌 博", from: "m", at: hour(24 * 8 + 3))
        #expect(mute.action == .mute(until: try hour(24 * 8 + 4)))
        #expect(mute.strikesInWindow == 2 && mute.flagForStaff)
        #expect(try moderator.review("13800138000", from: "m", at: hour(24 * 8 + 5)).action == .remove)
        #expect(try moderator.review("赌博", from: "other", at: hour(24 * 8 + 5)).action == .warn)
        moderator.pardon("m")
        #expect(moderator.strikeCount(of: "m", asOf: try hour(24 * 8 + 6)) == 0)
        let tooLong = String(repeating: "a", count: ModerationRules.maximumTextUTF8Length + 1)
        #expect(throws: FissionError(code: .messageTooLong)) { try moderator.review(tooLong, from: "m", at: hour(0)) }
        #expect(throws: FissionError(code: .invalidStrikePolicy)) {
            try StrikePolicy(windowDays: 7, muteAfterStrikes: 4, muteMinutes: 60, removeAfterStrikes: 3)
        }
    }
}
