public import FissionCore

/// Rules that catch advertising: links, phone numbers and "add me" phrases.
///
/// - Links: a word of letters, digits and hyphens with dots (`.`, the full-width `．` or the
///   ideographic `。`) whose last part is a known top-level domain: `example.com`,
///   `t.me/abc`, `ＥＸＡＭＰＬＥ。ＣＯＭ`. `version 1.2.3`, `node.js` and `e.g.` are not links.
/// - Phone numbers: Chinese mobile numbers (11 digits from `13` to `19`, optionally after `86`)
///   and `+` followed by 8 to 15 digits, in ASCII or full-width digits, with up to two characters
///   of filler between digits (`138 0013 8000`, `1-3-8-0-0-1-3-8-0-0-0`). Longer digit runs, such
///   as order numbers, are not phone numbers.
/// - Contact phrases: a ``SensitiveWordMatcher`` over phrases such as `加我微信`, `+v` or `add me`.
public struct AdRules: Sendable {
    /// The contact phrases used unless the host gives its own. Bare `加我` is left out on purpose:
    /// it is inside ordinary words such as `参加我们`.
    public static let defaultContactPhrases: [String] = [
        "加我微信", "加我v", "加我vx", "加我wx", "加我qq", "加我好友", "加微信", "加v信", "加vx", "加wx", "加扣扣",
        "+v", "+vx", "+wx", "+微", "+我", "微信号", "vx号", "私聊我", "add me", "dm me", "whatsapp me",
    ]

    /// The top-level domains that make a dotted word a link unless the host gives its own.
    /// File extensions that are also domains (`zip`, `mov`) are left out.
    public static let defaultTopLevelDomains: [String] = [
        "com", "net", "org", "cn", "io", "co", "me", "cc", "tv", "info", "biz", "top", "xyz", "vip", "shop",
        "site", "online", "club", "app", "dev", "link", "ly", "gl", "ai", "hk", "tw", "us", "uk", "jp", "kr",
        "ru", "de", "fr", "in", "to", "gg", "so", "ink", "live", "store", "tech", "wang", "ltd",
    ]

    /// Whether links are flagged.
    public let detectsLinks: Bool
    /// Whether phone numbers are flagged.
    public let detectsPhoneNumbers: Bool
    /// The contact phrases, or `nil` when there are none.
    public let contactPhrases: SensitiveWordMatcher?
    /// The top-level domains, each packed 5 bits per letter.
    private let packedDomains: Set<UInt64>

    /// Creates ad rules.
    ///
    /// - Parameters:
    ///   - detectsLinks: Whether to flag links.
    ///   - detectsPhoneNumbers: Whether to flag phone numbers.
    ///   - contactPhrases: Phrases that ask people to get in touch elsewhere; may be empty.
    ///   - topLevelDomains: Lower-case ASCII domains of 1 to 12 letters.
    /// - Throws: ``FissionError/Code/invalidWordList`` for an empty or over-long phrase or a
    ///   domain that is not 1 to 12 ASCII letters.
    public init(
        detectsLinks: Bool = true,
        detectsPhoneNumbers: Bool = true,
        contactPhrases: [String] = AdRules.defaultContactPhrases,
        topLevelDomains: [String] = AdRules.defaultTopLevelDomains
    ) throws(FissionError) {
        self.detectsLinks = detectsLinks
        self.detectsPhoneNumbers = detectsPhoneNumbers
        self.contactPhrases = contactPhrases.isEmpty ? nil : try SensitiveWordMatcher(words: contactPhrases)
        var packed: Set<UInt64> = []
        for domain in topLevelDomains {
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
        self.packedDomains = packed
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
            if let range = scanner.feed(folded, at: position, length: length, domains: self.packedDomains) {
                guard body(range) else { return }
            }
            position += length
        }
        if let range = scanner.finish(domains: self.packedDomains) { _ = body(range) }
    }

    /// Calls `body` with the UTF-8 range of each phone number until it returns `false`.
    func forEachPhoneNumber(in bytes: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Bool) {
        var scanner = PhoneScanner()
        var position = 0
        while position < bytes.count {
            let (value, length) = TextFolding.decode(bytes, at: position)
            let folded = (0xFF01...0xFF5E).contains(value) ? value - 0xFEE0 : value
            if let range = scanner.feed(folded, at: position, length: length) {
                guard body(range) else { return }
            }
            position += length
        }
        if let range = scanner.finish() { _ = body(range) }
    }
}

/// Finds dotted words that end in a known top-level domain, one scalar at a time.
private struct LinkScanner {
    var tokenStart = -1
    var tokenEnd = 0
    var labelLength = 0
    var label: UInt64 = 0
    var labelIsLetters = true
    var previousLabel: UInt64 = 0
    var previousIsLetters = false
    var firstLabelLength = 0
    var dots = 0

    mutating func feed(_ value: UInt32, at position: Int, length: Int, domains: Set<UInt64>) -> Range<Int>? {
        let isLetter = value >= 0x61 && value <= 0x7A
        let isLabelCharacter = isLetter || (value >= 0x30 && value <= 0x39) || value == 0x2D
        if isLabelCharacter {
            if self.tokenStart < 0 { self.tokenStart = position }
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
            if self.dots == 0 { self.firstLabelLength = self.labelLength }
            self.dots += 1
            self.previousLabel = self.label
            self.previousIsLetters = self.labelIsLetters && self.labelLength <= 12
            self.label = 0
            self.labelLength = 0
            self.labelIsLetters = true
            return nil
        }
        return self.finish(domains: domains)
    }

    mutating func finish(domains: Set<UInt64>) -> Range<Int>? {
        defer { self = LinkScanner() }
        guard self.tokenStart >= 0, self.dots > 0 else { return nil }
        let isLink: Bool
        if self.labelLength > 0 {
            isLink = self.labelIsLetters && self.labelLength <= 12 && domains.contains(self.label)
        } else {
            // A dot ends the word, as at the end of a sentence: the label before it is the last.
            isLink = self.dots > 1 && self.previousIsLetters && domains.contains(self.previousLabel)
        }
        return isLink && self.firstLabelLength > 0 ? self.tokenStart..<self.tokenEnd : nil
    }
}

/// Finds runs of digits that look like phone numbers, one scalar at a time.
private struct PhoneScanner {
    var runStart = -1
    var runEnd = 0
    var digits = 0
    /// The first four digits, as a number with a leading 1 to keep leading zeros.
    var prefix = 1
    var fillerInARow = 0
    var previous: UInt32 = 0
    var startsWithPlus = false

    mutating func feed(_ value: UInt32, at position: Int, length: Int) -> Range<Int>? {
        defer { self.previous = value }
        if value >= 0x30 && value <= 0x39 {
            if self.runStart < 0 {
                self.runStart = position
                self.startsWithPlus = self.previous == 0x2B
            }
            if self.digits < 4 { self.prefix = self.prefix * 10 + Int(value - 0x30) }
            self.digits += 1
            self.fillerInARow = 0
            self.runEnd = position + length
            return nil
        }
        if self.runStart >= 0 && self.fillerInARow < 2 && TextFolding.isFiller(value) && value != 0x2B {
            self.fillerInARow += 1
            return nil
        }
        return self.finish()
    }

    mutating func finish() -> Range<Int>? {
        defer {
            let previous = self.previous
            self = PhoneScanner()
            self.previous = previous
        }
        guard self.runStart >= 0 else { return nil }
        // prefix holds 1 followed by the first four digits.
        let firstTwo = self.prefix / 100 % 100
        let isChineseMobile = self.digits == 11 && (13...19).contains(firstTwo)
        let isWithCountryCode = self.digits == 13 && firstTwo == 86 && (13...19).contains(self.prefix % 100)
        let isInternational = self.startsWithPlus && (8...15).contains(self.digits)
        return isChineseMobile || isWithCountryCode || isInternational ? self.runStart..<self.runEnd : nil
    }
}
