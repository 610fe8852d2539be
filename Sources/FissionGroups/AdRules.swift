public import FissionCore

/// Rules that catch advertising: links, phone numbers and "add me" phrases.
///
/// - Links: a word of letters, digits and hyphens with dots (`.`, the full-width `．` or the
///   ideographic `。`) that is
///   - right after `//` (`https://abc.to`), or
///   - `www.` and at least two more labels (`www.example.shop`), or
///   - ends in one of ``topLevelDomains`` (`example.com`, `ＥＸＡＭＰＬＥ。ＣＯＭ`), or
///   - ends in one of ``wordLikeTopLevelDomains`` (domains that are also common English words,
///     such as `to`, `me`, `in`, `so`) and is followed by a path (`t.me/abc`, `wa.me/123`).
///
///   So a missing space after a full stop (`Thanks.To be clear`, `ok.so what now`) is not a
///   link, and neither are `version 1.2.3`, `node.js` and `e.g.`.
/// - Phone numbers: Chinese mobile numbers (11 digits from `13` to `19`, optionally after `86`)
///   and `+` followed by 8 to 15 digits, in ASCII or full-width digits. Between digits there may
///   be one separator character (a space, `-`, `.`, or other soft filler; never clause punctuation
///   such as `,`). A separated mobile number must be grouped as written: 3-4-4 (`138 0013 8000`),
///   86 then 3-4-4, or one digit at a time (`1-3-8-0-0-1-3-8-0-0-0`); a `+` number may be grouped
///   any way. So scores such as `13-12, 15-11, 12-9` and longer digit runs, such as order numbers,
///   are not phone numbers.
/// - Contact phrases: a ``SensitiveWordMatcher`` over phrases such as `加我微信`, `+v` or `add me`.
///
/// In `Codable` form the rules are their settings and lists; decoding rebuilds them.
public struct AdRules: Hashable, Sendable, Codable {
    /// The contact phrases used unless the host gives its own. Bare `加我` is left out on purpose:
    /// it is inside ordinary words such as `参加我们`.
    public static let defaultContactPhrases: [String] = [
        "加我微信", "加我v", "加我vx", "加我wx", "加我qq", "加我好友", "加微信", "加v信", "加vx", "加wx", "加扣扣",
        "+v", "+vx", "+wx", "+微", "+我", "微信号", "vx号", "私聊我", "add me", "dm me", "whatsapp me",
    ]

    /// The top-level domains that make a dotted word a link on their own unless the host gives its
    /// own: none of them is a common English word. File extensions that are also domains (`zip`,
    /// `mov`) are left out.
    public static let defaultTopLevelDomains: [String] = [
        "com", "net", "org", "cn", "io", "co", "cc", "tv", "info", "biz", "xyz", "vip", "ly", "gl", "ai",
        "hk", "tw", "uk", "jp", "kr", "ru", "de", "fr", "gg", "wang", "ltd",
    ]

    /// The top-level domains that are also common English words, so they make a link only after
    /// `//`, after `www.` or before a path, unless the host gives its own.
    public static let defaultWordLikeTopLevelDomains: [String] = [
        "me", "to", "so", "in", "us", "top", "app", "dev", "link", "live", "shop", "site", "store", "club",
        "tech", "online", "ink",
    ]

    /// Whether links are flagged.
    public let detectsLinks: Bool
    /// Whether phone numbers are flagged.
    public let detectsPhoneNumbers: Bool
    /// The contact phrases, or `nil` when there are none.
    public let contactPhrases: SensitiveWordMatcher?
    /// The top-level domains that make a dotted word a link, as given.
    public let topLevelDomains: [String]
    /// The top-level domains that make a dotted word a link only after `//`, after `www.` or
    /// before a path, as given.
    public let wordLikeTopLevelDomains: [String]
    /// The top-level domains, each packed 5 bits per letter.
    private let packedDomains: Set<UInt64>
    private let packedWordLikeDomains: Set<UInt64>

    /// Creates ad rules.
    ///
    /// - Parameters:
    ///   - detectsLinks: Whether to flag links.
    ///   - detectsPhoneNumbers: Whether to flag phone numbers.
    ///   - contactPhrases: Phrases that ask people to get in touch elsewhere; may be empty.
    ///   - topLevelDomains: Lower-case ASCII domains of 1 to 12 letters that make a dotted word a
    ///     link.
    ///   - wordLikeTopLevelDomains: Lower-case ASCII domains of 1 to 12 letters that make a dotted
    ///     word a link only after `//`, after `www.` or before a path.
    /// - Throws: ``FissionError/Code/invalidWordList`` for an empty or over-long phrase or a
    ///   domain that is not 1 to 12 ASCII letters.
    public init(
        detectsLinks: Bool = true,
        detectsPhoneNumbers: Bool = true,
        contactPhrases: [String] = AdRules.defaultContactPhrases,
        topLevelDomains: [String] = AdRules.defaultTopLevelDomains,
        wordLikeTopLevelDomains: [String] = AdRules.defaultWordLikeTopLevelDomains
    ) throws(FissionError) {
        self.detectsLinks = detectsLinks
        self.detectsPhoneNumbers = detectsPhoneNumbers
        self.contactPhrases = contactPhrases.isEmpty ? nil : try SensitiveWordMatcher(words: contactPhrases)
        self.topLevelDomains = topLevelDomains
        self.wordLikeTopLevelDomains = wordLikeTopLevelDomains
        self.packedDomains = try Self.pack(topLevelDomains)
        self.packedWordLikeDomains = try Self.pack(wordLikeTopLevelDomains)
    }

    private static func pack(_ domains: [String]) throws(FissionError) -> Set<UInt64> {
        var packed: Set<UInt64> = []
        for domain in domains {
            var value: UInt64 = 0
            guard (1...12).contains(domain.utf8.count) else {
                throw FissionError(
                    code: .invalidWordList,
                    reason: "top-level domain \"\(domain)\" is not 1 to 12 letters"
                )
            }
            for byte in domain.utf8 {
                guard (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) else {
                    throw FissionError(
                        code: .invalidWordList,
                        reason: "top-level domain \"\(domain)\" is not lower-case ASCII"
                    )
                }
                value = value << 5 | UInt64(byte - UInt8(ascii: "a") + 1)
            }
            packed.insert(value)
        }
        return packed
    }

    /// Whether two rule sets have the same settings and lists.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.detectsLinks == rhs.detectsLinks && lhs.detectsPhoneNumbers == rhs.detectsPhoneNumbers
            && lhs.contactPhrases == rhs.contactPhrases && lhs.topLevelDomains == rhs.topLevelDomains
            && lhs.wordLikeTopLevelDomains == rhs.wordLikeTopLevelDomains
    }

    /// Hashes the settings and lists.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.detectsLinks)
        hasher.combine(self.detectsPhoneNumbers)
        hasher.combine(self.contactPhrases)
        hasher.combine(self.topLevelDomains)
        hasher.combine(self.wordLikeTopLevelDomains)
    }

    /// Decodes rules from their settings and lists, checking them as ``init(detectsLinks:detectsPhoneNumbers:contactPhrases:topLevelDomains:wordLikeTopLevelDomains:)`` does.
    ///
    /// - Throws: `DecodingError.dataCorrupted` for a list the initializer refuses.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        do {
            try self.init(
                detectsLinks: container.decode(Bool.self, forKey: .detectsLinks),
                detectsPhoneNumbers: container.decode(Bool.self, forKey: .detectsPhoneNumbers),
                contactPhrases: container.decode([String].self, forKey: .contactPhrases),
                topLevelDomains: container.decode([String].self, forKey: .topLevelDomains),
                wordLikeTopLevelDomains: container.decode([String].self, forKey: .wordLikeTopLevelDomains)
            )
        } catch let error as FissionError {
            throw DecodingError.dataCorruptedError(
                forKey: .contactPhrases,
                in: container,
                debugDescription: error.reason
            )
        }
    }

    /// Encodes the settings and lists.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.detectsLinks, forKey: .detectsLinks)
        try container.encode(self.detectsPhoneNumbers, forKey: .detectsPhoneNumbers)
        try container.encode(self.contactPhrases?.words ?? [], forKey: .contactPhrases)
        try container.encode(self.topLevelDomains, forKey: .topLevelDomains)
        try container.encode(self.wordLikeTopLevelDomains, forKey: .wordLikeTopLevelDomains)
    }

    private enum CodingKeys: String, CodingKey {
        case detectsLinks
        case detectsPhoneNumbers
        case contactPhrases
        case topLevelDomains
        case wordLikeTopLevelDomains
    }

    /// Calls `body` with the UTF-8 range of each link until it returns `false`.
    func forEachLink(in bytes: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Bool) {
        var scanner = LinkScanner()
        var position = 0
        while position < bytes.count {
            let (value, length) = TextFolding.decode(bytes, at: position)
            let folded: UInt32 =
                value < 0x80
                ? value | (value >= 0x41 && value <= 0x5A ? 0x20 : 0)
                : value == 0x3002 ? 0x2E : (0xFF01...0xFF5E).contains(value) ? TextFolding.fold(value) : value
            if let range = scanner.feed(folded, at: position, length: length, rules: self) {
                guard body(range) else { return }
            }
            position += length
        }
        if let range = scanner.finish(rules: self, terminator: nil) { _ = body(range) }
    }

    /// Calls `body` with the UTF-8 range of each phone number until it returns `false`.
    ///
    /// A number cut from the front of a longer run of digit groups (`13800138000 13900139000`)
    /// leaves the rest of the run to be read again from the cut's end as a run of its own, so a
    /// run of numbers gives each of them. A number is still found only at the start of a run (or
    /// of such a rest): in `12 13900139000` none is, as before. The scanner decides a run once it
    /// has more digits than any number has, so reading again after a cut costs at most that many
    /// digits: the scan stays linear in the text.
    func forEachPhoneNumber(in bytes: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Bool) {
        var scanner = PhoneScanner()
        var position = 0
        while true {
            let found: PhoneScanner.Found?
            var next = position
            if position < bytes.count {
                let (value, length) = TextFolding.decode(bytes, at: position)
                let folded = (0xFF01...0xFF5E).contains(value) ? value - 0xFEE0 : value
                found = scanner.feed(folded, at: position, length: length)
                next = position + length
            } else {
                found = scanner.finish()
            }
            if let found {
                guard body(found.range) else { return }
                if found.isCut {
                    // A digit comes before the rest of the run, so it is not a `+` number.
                    scanner = PhoneScanner()
                    scanner.previous = 0x30
                    position = found.range.upperBound
                    continue
                }
            }
            guard position < bytes.count else { return }
            position = next
        }
    }
}

extension AdRules {
    /// Whether a packed label is a top-level domain of either kind.
    fileprivate func isDomain(_ label: UInt64, wordLike: Bool) -> Bool {
        wordLike ? self.packedWordLikeDomains.contains(label) : self.packedDomains.contains(label)
    }
}

/// Finds dotted words that look like links, one scalar at a time.
private struct LinkScanner {
    /// "www", packed 5 bits per letter.
    static let packedWWW: UInt64 = 23 << 10 | 23 << 5 | 23

    var tokenStart = -1
    var tokenEnd = 0
    var labelLength = 0
    var label: UInt64 = 0
    var labelIsLetters = true
    var previousLabel: UInt64 = 0
    var previousIsLetters = false
    var firstLabelLength = 0
    var firstLabel: UInt64 = 0
    var dots = 0
    var afterSlashes = false
    /// The two scalars before the current one, to see `//` before a word.
    var previous: UInt32 = 0
    var beforePrevious: UInt32 = 0

    mutating func feed(_ value: UInt32, at position: Int, length: Int, rules: AdRules) -> Range<Int>? {
        defer {
            self.beforePrevious = self.previous
            self.previous = value
        }
        let isLetter = value >= 0x61 && value <= 0x7A
        let isLabelCharacter = isLetter || (value >= 0x30 && value <= 0x39) || value == 0x2D
        if isLabelCharacter {
            if self.tokenStart < 0 {
                self.tokenStart = position
                self.afterSlashes = self.previous == 0x2F && self.beforePrevious == 0x2F
            }
            if isLetter && self.labelLength < 12 {
                self.label = self.label << 5 | UInt64(value - 0x60)
            } else {
                self.labelIsLetters = false
            }
            self.labelLength += 1
            self.tokenEnd = position + length
            return nil
        }
        if value == 0x2E && self.tokenStart >= 0 && self.labelLength > 0 {
            if self.dots == 0 {
                self.firstLabelLength = self.labelLength
                self.firstLabel = self.labelIsLetters && self.labelLength <= 12 ? self.label : 0
            }
            self.dots += 1
            self.previousLabel = self.label
            self.previousIsLetters = self.labelIsLetters && self.labelLength <= 12
            self.label = 0
            self.labelLength = 0
            self.labelIsLetters = true
            return nil
        }
        return self.finish(rules: rules, terminator: value)
    }

    /// Ends the current word; returns its range if it is a link. `terminator` is the scalar that
    /// ended it, `nil` at the end of the text.
    mutating func finish(rules: AdRules, terminator: UInt32?) -> Range<Int>? {
        let (previous, beforePrevious) = (self.previous, self.beforePrevious)
        defer {
            self = LinkScanner()
            self.previous = previous
            self.beforePrevious = beforePrevious
        }
        guard self.tokenStart >= 0, self.dots > 0, self.firstLabelLength > 0 else { return nil }
        // A dot can end the word, as at the end of a sentence: the label before it is the last.
        let endsWithDot = self.labelLength == 0
        let labels = self.dots + (endsWithDot ? 0 : 1)
        let lastLabel = endsWithDot ? self.previousLabel : self.label
        let lastIsLetters = endsWithDot ? self.previousIsLetters : self.labelIsLetters && self.labelLength <= 12
        let isLink: Bool
        if labels < 2 {
            isLink = false
        } else if (self.afterSlashes && lastIsLetters) || (self.firstLabel == Self.packedWWW && labels >= 3) {
            isLink = true
        } else if lastIsLetters && rules.isDomain(lastLabel, wordLike: false) {
            isLink = true
        } else {
            isLink = lastIsLetters && !endsWithDot && terminator == 0x2F && rules.isDomain(lastLabel, wordLike: true)
        }
        return isLink ? self.tokenStart..<self.tokenEnd : nil
    }
}

/// Finds runs of digits that look like phone numbers, one scalar at a time.
private struct PhoneScanner {
    var runStart = -1
    var runEnd = 0
    var digits = 0
    /// The first four digits, as a number with a leading 1 to keep leading zeros.
    var prefix = 1
    var previous: UInt32 = 0
    var startsWithPlus = false
    /// Whether a separator came after the last digit.
    var separatorPending = false
    /// The lengths of the finished digit groups, 4 bits each, first group highest.
    var shape: UInt64 = 0
    var groupCount = 0
    var groupLength = 0
    /// The run's first groups when they hold exactly 11 or 13 digits: a number followed across
    /// one space by another ("13800138000 2点后", "call 13800138000 8pm") is still a number.
    var firstEleven: Cut?
    var firstThirteen: Cut?

    /// Set once the run has more digits than a number and its first digits are not one: the
    /// rest of the run is read only to find where it ends.
    var isDecided = false

    /// The run up to the end of one of its groups.
    struct Cut {
        var shape: UInt64
        var groupCount: Int
        var end: Int
    }

    /// A number found, and whether it is the first digits of a longer run (whose rest may hold
    /// another).
    struct Found {
        var range: Range<Int>
        var isCut: Bool
    }

    mutating func feed(_ value: UInt32, at position: Int, length: Int) -> Found? {
        defer { self.previous = value }
        if value >= 0x30 && value <= 0x39 {
            if self.runStart < 0 {
                self.runStart = position
                self.startsWithPlus = self.previous == 0x2B
            }
            if self.separatorPending {
                self.closeGroup()
                self.separatorPending = false
            }
            if self.digits < 4 { self.prefix = self.prefix * 10 + Int(value - 0x30) }
            self.digits += 1
            self.groupLength += 1
            self.runEnd = position + length
            // Past 13 digits (15 after a `+`) the whole run is no number, and the cuts are known.
            if !self.isDecided && self.digits == (self.startsWithPlus ? 16 : 14) {
                if let found = self.cut() { return found }
                self.isDecided = true
            }
            return nil
        }
        if self.runStart >= 0 && !self.separatorPending && value != 0x2B
            && TextFolding.fillerClass(value) == .soft
        {
            self.separatorPending = true
            return nil
        }
        return self.finish()
    }

    private mutating func closeGroup() {
        // Groups past 15 digits or 15 groups cannot be a phone number; the shape saturates.
        self.shape = self.groupCount < 15 ? self.shape << 4 | UInt64(min(self.groupLength, 15)) : .max
        self.groupCount += 1
        self.groupLength = 0
        // `digits` counts this group's digits and no later ones; `runEnd` is this group's end.
        let cut = Cut(shape: self.shape, groupCount: self.groupCount, end: self.runEnd)
        if self.digits == 11 { self.firstEleven = cut }
        if self.digits == 13 { self.firstThirteen = cut }
    }

    mutating func finish() -> Found? {
        defer {
            let previous = self.previous
            self = PhoneScanner()
            self.previous = previous
        }
        guard self.runStart >= 0, !self.isDecided else { return nil }
        self.closeGroup()
        if self.isNumber(digits: self.digits, shape: self.shape, groupCount: self.groupCount, isCut: false) {
            return Found(range: self.runStart..<self.runEnd, isCut: false)
        }
        return self.cut()
    }

    /// The whole run is not a number; its first 13 or 11 digits, ending a group, may be one.
    private func cut() -> Found? {
        if let cut = self.firstThirteen,
            self.isNumber(digits: 13, shape: cut.shape, groupCount: cut.groupCount, isCut: true)
        {
            return Found(range: self.runStart..<cut.end, isCut: true)
        }
        if let cut = self.firstEleven,
            self.isNumber(digits: 11, shape: cut.shape, groupCount: cut.groupCount, isCut: true)
        {
            return Found(range: self.runStart..<cut.end, isCut: true)
        }
        return nil
    }

    /// Whether the run's first `digits` digits, in groups of `shape`, are a phone number.
    ///
    /// The first digits of a longer run (`isCut`) are one only as a Chinese mobile grouped as one
    /// is (`138 0013 8000`, `86 138 0013 8000`): never one digit at a time (a row of dice or
    /// answers is not a number because its first 11 start with 1 and 3), nor by the `+` rule,
    /// whose 8 to 15 digits any long run would start with.
    private func isNumber(digits: Int, shape: UInt64, groupCount: Int, isCut: Bool) -> Bool {
        let oneDigitAtATime = !isCut && groupCount == digits
        // prefix holds 1 followed by the first four digits.
        let firstTwo = self.prefix / 100 % 100
        let isChineseMobile =
            digits == 11 && (13...19).contains(firstTwo) && (shape == 11 || shape == 0x344 || oneDigitAtATime)
        let isWithCountryCode =
            digits == 13 && firstTwo == 86 && (13...19).contains(self.prefix % 100)
            && (shape == 13 || shape == 0x2B || shape == 0x2344 || oneDigitAtATime)
        let isInternational = !isCut && self.startsWithPlus && (8...15).contains(digits)
        return isChineseMobile || isWithCountryCode || isInternational
    }
}
