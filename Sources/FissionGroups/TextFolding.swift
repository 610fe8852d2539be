/// How the moderation matchers see text: which characters are the same, and which are filler
/// that evaders put between the characters of a word.
enum TextFolding {
    /// The scalar's folded form: ASCII and other cased letters case-folded, full-width forms
    /// (`Ｆ`, `１`, `＋`) and circled letters (`Ⓕ`) to their ASCII letter, digit or sign, the
    /// ideographic space to a space.
    ///
    /// Case folding is the lower case of the upper case, one scalar: `Σ`, `σ` and the final `ς`
    /// all fold to `σ`, the long `ſ` to `s`, and `İ` (whose lower case is two scalars, `i` and a
    /// combining dot) to `i`. A letter whose upper case is two scalars (`ß`) folds to its lower case.
    static func fold(_ value: UInt32) -> UInt32 {
        var value = value
        if (0xFF01...0xFF5E).contains(value) {
            value -= 0xFEE0
        } else if value == 0x3000 {
            value = 0x20
        } else if (0x24B6...0x24CF).contains(value) {
            value = value - 0x24B6 + 0x61
        } else if (0x24D0...0x24E9).contains(value) {
            value = value - 0x24D0 + 0x61
        }
        if value < 0x80 {
            return (0x41...0x5A).contains(value) ? value | 0x20 : value
        }
        // Both tests: case folding maps Cherokee's lower case to its upper case, so an upper-case
        // Cherokee letter does not change when case-folded, only when lowercased.
        guard let scalar = Unicode.Scalar(value),
            scalar.properties.changesWhenCaseFolded || scalar.properties.changesWhenLowercased
        else { return value }
        // Only cased letters get here, a few thousand scalars, and only while a matcher is built.
        let upper = scalar.properties.uppercaseMapping.unicodeScalars
        let cased = upper.count == 1 ? upper.first! : scalar
        return cased.properties.lowercaseMapping.unicodeScalars.first?.value ?? value
    }

    /// Whether the scalar is filler between the characters of a word: spaces, punctuation,
    /// symbols, combining marks, controls and invisible format characters.
    static func isFiller(_ value: UInt32) -> Bool {
        Self.fillerClass(value) != .none
    }

    /// How a scalar may stand between the characters of a word.
    enum FillerClass: UInt8 {
        /// A letter, digit or ideograph: part of the text, never skipped.
        case none = 0
        /// Spaces, invisible characters, combining marks, symbols and in-word marks (`*`, `.`,
        /// `_`, `-`, `~`, `'`...): skipped inside a word wherever the word is.
        case soft = 1
        /// Clause punctuation (`，。、；：！？`, their ASCII forms, brackets, quotation marks, the
        /// ellipsis) and line breaks: they end a clause, so a word is matched across them only
        /// when the match stands apart from the text around it.
        case clause = 2
    }

    /// The scalar's filler class (see ``FillerClass``).
    static func fillerClass(_ value: UInt32) -> FillerClass {
        guard let scalar = Unicode.Scalar(value) else { return .none }
        switch Self.fold(value) {
        case 0x2C, 0x3B, 0x3A, 0x21, 0x3F, 0x22, 0x0A, 0x0B, 0x0C, 0x0D, 0x85,
            0x3001, 0x3002, 0xFF61, 0xFF64, 0x2025, 0x2026, 0xFE10...0xFE19, 0xFE50...0xFE57:
            return .clause
        default:
            break
        }
        switch scalar.properties.generalCategory {
        case .lineSeparator, .paragraphSeparator, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation:
            return .clause
        case .spaceSeparator, .control, .format, .connectorPunctuation, .dashPunctuation, .otherPunctuation,
            .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol, .nonspacingMark, .enclosingMark:
            return .soft
        default:
            return .none
        }
    }

    /// Whether a pattern drops the scalar: whitespace and invisible characters, so that `add me`
    /// also matches `addme`. Visible symbols such as `+` stay part of the pattern.
    ///
    /// Variation selectors choose how the character before them is drawn (`☠\u{FE0F}` is `☠`
    /// drawn as an emoji), so text may have them or not: a pattern drops them too, unless the word
    /// is nothing but selectors (`keepingVariationSelectors`), which lists held before 2026-12-06
    /// and which must still build from a journal or a snapshot.
    static func isDroppedFromPatterns(_ value: UInt32, keepingVariationSelectors: Bool = false) -> Bool {
        if !keepingVariationSelectors && Self.isVariationSelector(value) { return true }
        guard let scalar = Unicode.Scalar(value) else { return true }
        switch scalar.properties.generalCategory {
        case .spaceSeparator, .lineSeparator, .paragraphSeparator, .control, .format: return true
        default: return false
        }
    }

    /// Whether the scalar is a variation selector (U+FE00 to U+FE0F, U+E0100 to U+E01EF).
    static func isVariationSelector(_ value: UInt32) -> Bool {
        (0xFE00...0xFE0F).contains(value) || (0xE0100...0xE01EF).contains(value)
    }

    /// Whether the scalar is a letter or digit of an alphabetic script, where words have
    /// boundaries (Latin, Greek, Cyrillic...), as opposed to scripts written without spaces
    /// between words: Chinese, Japanese, Korean, Thai, Lao, Myanmar and Khmer.
    static func isWordCharacter(_ value: UInt32) -> Bool {
        let folded = Self.fold(value)
        guard folded < 0x2E80, !Self.isWrittenWithoutSpaces(folded), let scalar = Unicode.Scalar(folded) else {
            return false
        }
        return scalar.properties.isAlphabetic || scalar.properties.generalCategory == .decimalNumber
    }

    /// Thai, Lao, Myanmar and Khmer below the CJK blocks: words run on without spaces.
    private static func isWrittenWithoutSpaces(_ value: UInt32) -> Bool {
        (0x0E00...0x0EFF).contains(value) || (0x1000...0x109F).contains(value) || (0x1780...0x17FF).contains(value)
            || (0x19E0...0x19FF).contains(value) || (0xA9E0...0xA9FF).contains(value)
            || (0xAA60...0xAA7F).contains(value)
    }

    /// Whether the scalar is a generic combining diacritic (the Combining Diacritical Marks
    /// blocks: accents that decomposed Latin, Greek or Cyrillic text puts after a letter, and the
    /// marks used to disguise text), which belongs to the letter before it.
    ///
    /// Only these: a script's own marks (an Indic virama or nukta, the Tamil pulli, a keycap)
    /// stay what they were before 2026-12-06, so that journals written before replay alike.
    static func isCombiningMark(_ value: UInt32) -> Bool {
        (0x0300...0x036F).contains(value) || (0x1AB0...0x1AFF).contains(value) || (0x1DC0...0x1DFF).contains(value)
            || (0xFE20...0xFE2F).contains(value)
    }

    /// The character that ends just before `position`, past its combining marks: the base they
    /// belong to, or `nil` at the start (`e\u{301}cole` has `e` before `cole`).
    static func base(before position: Int, in bytes: UnsafeBufferPointer<UInt8>) -> UInt32? {
        var position = position
        while position > 0 {
            var start = position - 1
            while start > 0 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
            let value = Self.decode(bytes, at: start).value
            if !Self.isCombiningMark(value) { return value }
            position = start
        }
        return nil
    }

    /// The first character at or after `position` that is not a combining mark, or `nil` at the
    /// end: the marks right after a match belong to its last character.
    static func base(at position: Int, in bytes: UnsafeBufferPointer<UInt8>) -> UInt32? {
        var position = position
        while position < bytes.count {
            let (value, length) = Self.decode(bytes, at: position)
            if !Self.isCombiningMark(value) { return value }
            position += length
        }
        return nil
    }

    /// Decodes the scalar that starts at `position` of valid UTF-8; returns it and its length.
    @inline(__always)
    static func decode(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int) -> (value: UInt32, length: Int) {
        let lead = bytes[position]
        if lead < 0x80 { return (UInt32(lead), 1) }
        if lead < 0xE0 {
            return (UInt32(lead & 0x1F) << 6 | UInt32(bytes[position + 1] & 0x3F), 2)
        }
        if lead < 0xF0 {
            return (
                UInt32(lead & 0x0F) << 12 | UInt32(bytes[position + 1] & 0x3F) << 6
                    | UInt32(bytes[position + 2] & 0x3F),
                3
            )
        }
        return (
            UInt32(lead & 0x07) << 18 | UInt32(bytes[position + 1] & 0x3F) << 12
                | UInt32(bytes[position + 2] & 0x3F) << 6 | UInt32(bytes[position + 3] & 0x3F),
            4
        )
    }
}
