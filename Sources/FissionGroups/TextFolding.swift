/// How the moderation matchers see text: which characters are the same, and which are filler
/// that evaders put between the characters of a word.
enum TextFolding {
    /// The scalar's folded form: ASCII and other cased letters to lower case, full-width forms
    /// (`Ｆ`, `１`, `＋`) and circled letters (`Ⓕ`) to their ASCII letter, digit or sign, the
    /// ideographic space to a space.
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
        guard let scalar = Unicode.Scalar(value), scalar.properties.changesWhenLowercased else { return value }
        // Only cased letters get here, a few thousand scalars, and only while a matcher is built.
        let lowered = scalar.properties.lowercaseMapping.unicodeScalars
        return lowered.count == 1 ? lowered.first!.value : value
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
    static func isDroppedFromPatterns(_ value: UInt32) -> Bool {
        guard let scalar = Unicode.Scalar(value) else { return true }
        switch scalar.properties.generalCategory {
        case .spaceSeparator, .lineSeparator, .paragraphSeparator, .control, .format: return true
        default: return false
        }
    }

    /// Whether the scalar is a letter or digit of an alphabetic script, where words have
    /// boundaries (Latin, Greek, Cyrillic...), as opposed to Chinese, Japanese or Korean, where
    /// they do not.
    static func isWordCharacter(_ value: UInt32) -> Bool {
        let folded = Self.fold(value)
        guard folded < 0x2E80, let scalar = Unicode.Scalar(folded) else { return false }
        return scalar.properties.isAlphabetic || scalar.properties.generalCategory == .decimalNumber
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

    /// The scalar that ends just before `position` of valid UTF-8, or `nil` at the start.
    static func scalar(before position: Int, in bytes: UnsafeBufferPointer<UInt8>) -> UInt32? {
        guard position > 0 else { return nil }
        var start = position - 1
        while start > 0 && bytes[start] & 0xC0 == 0x80 { start -= 1 }
        return Self.decode(bytes, at: start).value
    }

    /// The scalar that starts at `position` of valid UTF-8, or `nil` at the end.
    static func scalar(at position: Int, in bytes: UnsafeBufferPointer<UInt8>) -> UInt32? {
        position < bytes.count ? Self.decode(bytes, at: position).value : nil
    }
}
