public import FissionCore

/// Finds words from a list in text, in one pass, however long the list: an Aho-Corasick
/// automaton over Unicode scalars, built once.
///
/// The matcher sees through common evasion:
/// - case, full-width letters and digits (`ＦＵＣＫ`, `１３８`) and circled letters;
/// - filler put between the characters of a word (`f.u.c.k`, `赌 博`, `赌*博`, `f\u{200B}uck`).
///
/// Filler comes in two kinds:
/// - *soft filler*: spaces, invisible characters, combining marks, symbols and in-word marks
///   (`*`, `.`, `_`, `-`, `~`, `'`, `+`...). It is skipped inside a word wherever the word is, so
///   `我们去赌*博吧` and `来赌 博` are caught although Chinese chat puts no spaces around words;
/// - *clause punctuation*: `，。、；：！？`, their ASCII forms, brackets, quotation marks, the
///   ellipsis and line breaks. A match that skips one counts only when it stands apart: the
///   characters just before and after it are filler or the text's ends. So `，加，我，` is caught
///   but `加我` is not found across the comma of `参加，我们`.
///
/// And it keeps ordinary text clean:
/// - a word that starts (or ends) with a letter or digit of an alphabetic script (Latin, Greek,
///   Cyrillic...) matches only at a word boundary, so `ass` is not found in `class` nor `hell` in
///   `hello`;
/// - inside a run of such letters (between two spaces of the word as the list spells it),
///   filler counts only when it stands between *every* pair of letters of the run: `f.u.c.k` and
///   `f u c k` are caught, but `he'll` is not `hell`, `it's hit` is not `shit`, `who's ex` is not
///   `sex` and `a SS` is not `ass`. Words spelled with a space (`new york`) match with or without
///   filler at that space.
///
/// Words in the list drop their own whitespace (`add me` matches `addme` and `add-me`) but keep
/// visible symbols (`c++`, `+v`). Such a symbol stays filler for the other words: where no word
/// can continue with it (no state of the automaton on the current path has an edge for it), it is
/// skipped like any filler, so a list holding `c++` still catches `赌+博`. Where some word does
/// continue with it, the symbol is that word's: with `+v` in the list, `加 +v` is `+v`.
///
/// ```swift
/// let matcher = try SensitiveWordMatcher(words: ["赌博", "fuck"])
/// matcher.matches(in: "f-u-c-k this")     // one match: "fuck" at UTF-8 offsets 0..<7
/// matcher.containsMatch(in: "a classic")  // false
/// ```
///
/// In `Codable` form a matcher is its word list; decoding rebuilds the automaton. Two matchers
/// are equal when their word lists are.
public struct SensitiveWordMatcher: Hashable, Sendable, Codable {
    /// The most words one matcher may hold.
    public static var maximumWords: Int { 200_000 }
    /// The most characters (Unicode scalars, after folding and dropping whitespace) in one word.
    public static var maximumWordLength: Int { 64 }
    /// The most distinct characters across all words.
    static var maximumAlphabet: Int { 65_000 }

    /// One occurrence of a word in a text.
    public struct Match: Hashable, Sendable {
        /// The word's index in ``words``.
        public let wordIndex: Int
        /// Where the occurrence is, in UTF-8 code units of the text, filler inside it included.
        public let utf8Range: Range<Int>
    }

    /// The words, as given.
    public let words: [String]

    /// For each BMP scalar: 0 for a character no word uses, 1 for soft filler, 2 for clause
    /// punctuation, else its symbol + 3.
    private let bmpCodes: [UInt16]
    /// The same for scalars outside the BMP that words use (emoji, rare ideographs).
    private let astralCodes: [UInt32: UInt16]
    /// For each symbol, the filler class of the character it stands for (0 for a letter).
    private let symbolFillerClasses: [UInt8]
    /// The root's transition for each symbol (0: stay at the root).
    private let rootTransitions: [Int32]
    /// The outgoing edges of each state, sorted by symbol: `edgeSymbols[edgeStarts[s]..<edgeStarts[s + 1]]`.
    private let edgeStarts: [Int32]
    private let edgeSymbols: [UInt16]
    private let edgeTargets: [Int32]
    private let failure: [Int32]
    /// The first word (in list order) that ends exactly at each state, or -1.
    private let outputWord: [Int32]
    /// For each word, the next word in list order with the same symbols (words that differ only
    /// in case or spaces, such as `newyork` and `new york`), or -1.
    private let sameSymbolsNext: [Int32]
    /// The nearest state on the failure chain that ends a word, or -1.
    private let outputLink: [Int32]
    /// Each word's length in symbols.
    private let wordLengths: [Int32]
    /// Whether each word starts or ends with a letter or digit of an alphabetic script.
    private let wordStartsWithLetter: [Bool]
    private let wordEndsWithLetter: [Bool]
    /// For each word, bit *i* set when symbols *i* and *i* + 1 are letters of one alphabetic run.
    private let wordLetterPairs: [UInt64]

    /// Builds the automaton.
    ///
    /// Two words that fold to the same characters (`FUCK` and `fuck`) are one word: matches
    /// report the first. Words that differ only in spaces (`newyork`, `new york`) are found by
    /// either's rules, and a match reports the first whose rules accept it.
    ///
    /// - Parameter words: The words to find.
    /// - Throws: ``FissionError/Code/invalidWordList`` if a word is empty or whitespace only,
    ///   longer than ``maximumWordLength`` characters, or the list holds more than
    ///   ``maximumWords`` words.
    /// - Complexity: O(*total characters* + 65,536), once.
    public init(words: [String]) throws(FissionError) {
        guard words.count <= Self.maximumWords else {
            throw FissionError(code: .invalidWordList, reason: "\(words.count) words; at most \(Self.maximumWords)")
        }
        var alphabet: [UInt32: UInt16] = [:]
        var symbolsOfWords: [[UInt16]] = []
        var letterPairs: [UInt64] = []
        var startsWithLetter: [Bool] = []
        var endsWithLetter: [Bool] = []
        symbolsOfWords.reserveCapacity(words.count)
        for (index, word) in words.enumerated() {
            var symbols: [UInt16] = []
            var pairs: UInt64 = 0
            var previousIsLetter = false
            var spaceBefore = false
            // Whether the word's first and last characters are letters, past combining marks, as
            // the text's side of a boundary is read: a word listed as `cafe\u{301}` ends with `e`.
            var firstIsLetter: Bool?
            var lastIsLetter = false
            let keepsSelectors = Self.isVariationSelectorsAlone(word)
            for scalar in word.unicodeScalars {
                guard !TextFolding.isDroppedFromPatterns(scalar.value, keepingVariationSelectors: keepsSelectors) else {
                    spaceBefore = true
                    continue
                }
                guard symbols.count < Self.maximumWordLength else {
                    throw FissionError(
                        code: .invalidWordList,
                        reason: "word \(index) has more than \(Self.maximumWordLength) characters"
                    )
                }
                let folded = TextFolding.fold(scalar.value)
                let isLetter = TextFolding.isWordCharacter(scalar.value)
                if !TextFolding.isCombiningMark(scalar.value) {
                    if firstIsLetter == nil { firstIsLetter = isLetter }
                    lastIsLetter = isLetter
                }
                if isLetter && previousIsLetter && !spaceBefore { pairs |= 1 << UInt64(symbols.count - 1) }
                previousIsLetter = isLetter
                spaceBefore = false
                if let code = alphabet[folded] {
                    symbols.append(code)
                } else {
                    guard alphabet.count < Self.maximumAlphabet else {
                        throw FissionError(code: .invalidWordList, reason: "the words use too many distinct characters")
                    }
                    let code = UInt16(alphabet.count)
                    alphabet[folded] = code
                    symbols.append(code)
                }
            }
            guard !symbols.isEmpty else {
                throw FissionError(code: .invalidWordList, reason: "word \(index) is empty or only whitespace")
            }
            symbolsOfWords.append(symbols)
            letterPairs.append(pairs)
            startsWithLetter.append(firstIsLetter ?? false)
            endsWithLetter.append(lastIsLetter)
        }
        self.words = words
        (self.bmpCodes, self.astralCodes) = Self.codeTables(alphabet)
        var fillerClasses = [UInt8](repeating: 0, count: alphabet.count)
        for (folded, code) in alphabet { fillerClasses[Int(code)] = TextFolding.fillerClass(folded).rawValue }
        self.symbolFillerClasses = fillerClasses
        let trie = Trie(symbolsOfWords: symbolsOfWords, letterPairs: letterPairs, alphabetSize: alphabet.count)
        self.rootTransitions = trie.rootTransitions
        self.edgeStarts = trie.edgeStarts
        self.edgeSymbols = trie.edgeSymbols
        self.edgeTargets = trie.edgeTargets
        self.failure = trie.failure
        self.outputWord = trie.outputWord
        self.sameSymbolsNext = trie.sameSymbolsNext
        self.outputLink = trie.outputLink
        self.wordLengths = symbolsOfWords.map { Int32($0.count) }
        self.wordLetterPairs = letterPairs
        self.wordStartsWithLetter = startsWithLetter
        self.wordEndsWithLetter = endsWithLetter
    }

    /// Whether the word holds variation selectors and, besides them, only what patterns drop
    /// (whitespace): such a word keeps its selectors rather than become empty.
    private static func isVariationSelectorsAlone(_ word: String) -> Bool {
        var hasSelector = false
        for scalar in word.unicodeScalars {
            if TextFolding.isVariationSelector(scalar.value) {
                hasSelector = true
            } else if !TextFolding.isDroppedFromPatterns(scalar.value) {
                return false
            }
        }
        return hasSelector
    }

    /// Decodes a matcher from its word list and builds the automaton.
    ///
    /// - Throws: `DecodingError.dataCorrupted` for a list ``init(words:)`` refuses.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let words = try container.decode([String].self)
        do {
            try self.init(words: words)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.reason)
        }
    }

    /// Encodes the matcher as its word list.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.words)
    }

    /// Whether two matchers hold the same words in the same order.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.words == rhs.words }

    /// Hashes the word list.
    public func hash(into hasher: inout Hasher) { hasher.combine(self.words) }

    /// Every occurrence of a word in `text`, in order of where they end, up to `limit`.
    ///
    /// - Parameters:
    ///   - text: The message.
    ///   - limit: The most matches to return; 0 returns none.
    /// - Precondition: `limit` is not negative.
    /// - Complexity: O(*n* + *matches*) in the text's UTF-8 length, times the number of ways the
    ///   list spaces one word (1 unless it holds both `newyork` and `new york`). It allocates the
    ///   result and one 2 KiB scratch ring per call (too large for the stack), never per character.
    public func matches(in text: String, limit: Int = 100) -> [Match] {
        precondition(limit >= 0, "limit may not be negative")
        var result: [Match] = []
        guard limit > 0 else { return result }
        var text = text
        text.withUTF8 { bytes in
            self.forEachMatch(in: bytes) { match in
                result.append(match)
                return result.count < limit
            }
        }
        return result
    }

    /// Whether `text` holds any word.
    ///
    /// - Complexity: O(*n*) in the text's UTF-8 length (times the ways the list spaces one word,
    ///   as for ``matches(in:limit:)``); one 2 KiB scratch ring per call, never per character.
    public func containsMatch(in text: String) -> Bool {
        var found = false
        var text = text
        text.withUTF8 { bytes in
            self.forEachMatch(in: bytes) { _ in
                found = true
                return false
            }
        }
        return found
    }

    /// What the scanner remembers of each of the last 64 symbols, to judge a match that ends now.
    private struct SymbolRing {
        /// Four slots per symbol: UTF-8 start, filler before it, clause punctuation before it,
        /// and how many symbols up to and including it had filler just before them.
        let slots: UnsafeMutableBufferPointer<Int>

        @inline(__always) func start(_ symbol: Int) -> Int { self.slots[(symbol & 63) << 2] }
        @inline(__always) func filler(_ symbol: Int) -> Int { self.slots[(symbol & 63) << 2 + 1] }
        @inline(__always) func clauseFiller(_ symbol: Int) -> Int { self.slots[(symbol & 63) << 2 + 2] }
        @inline(__always) func gaps(_ symbol: Int) -> Int { self.slots[(symbol & 63) << 2 + 3] }

        @inline(__always)
        func record(_ symbol: Int, start: Int, filler: Int, clauseFiller: Int, gaps: Int) {
            let base = (symbol & 63) << 2
            self.slots[base] = start
            self.slots[base + 1] = filler
            self.slots[base + 2] = clauseFiller
            self.slots[base + 3] = gaps
        }
    }

    /// Calls `body` with each accepted match until it returns `false`.
    func forEachMatch(in bytes: UnsafeBufferPointer<UInt8>, _ body: (Match) -> Bool) {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 256) { slots in
            let ring = SymbolRing(slots: slots)
            var state: Int32 = 0
            var position = 0
            var symbolCount = 0
            var fillerCount = 0
            var clauseCount = 0
            var gapCount = 0
            var fillerAtLastSymbol = 0
            while position < bytes.count {
                let start = position
                let (value, length) = TextFolding.decode(bytes, at: position)
                position += length
                let code = self.code(of: value)
                if code == 0 {
                    state = 0
                    continue
                }
                var fillerClass = UInt8(truncatingIfNeeded: code)
                if code >= 3 {
                    let symbol = Int(code - 3)
                    let next = self.transition(from: state, on: symbol)
                    fillerClass = next == 0 ? self.symbolFillerClasses[symbol] : 0
                    if fillerClass == 0 {
                        if fillerCount != fillerAtLastSymbol { gapCount += 1 }
                        fillerAtLastSymbol = fillerCount
                        ring.record(
                            symbolCount,
                            start: start,
                            filler: fillerCount,
                            clauseFiller: clauseCount,
                            gaps: gapCount
                        )
                        symbolCount += 1
                        state = next
                        guard self.reportMatches(at: state, symbolCount: symbolCount, end: position, ring, bytes, body)
                        else { return }
                        continue
                    }
                }
                fillerCount += 1
                if fillerClass == 2 { clauseCount += 1 }
            }
        }
    }

    /// Reports the words that end at `state`; returns `false` once `body` asks to stop.
    @inline(__always)
    private func reportMatches(
        at state: Int32,
        symbolCount: Int,
        end: Int,
        _ ring: SymbolRing,
        _ bytes: UnsafeBufferPointer<UInt8>,
        _ body: (Match) -> Bool
    ) -> Bool {
        var output = self.outputWord[Int(state)] >= 0 ? state : self.outputLink[Int(state)]
        let last = symbolCount - 1
        while output >= 0 {
            // The words ending here share their symbols, so one range and the same boundaries
            // (their first and last characters fold alike); they differ only in where the list
            // spells spaces. The first in list order whose letter runs accept the filler is
            // reported (`new york` when `newyork` is refused). The chain holds one word per way of
            // spacing, so its length is the number of spacings of one word in the list.
            var word = Int(self.outputWord[Int(output)])
            let first = symbolCount - Int(self.wordLengths[word])
            let range = ring.start(first)..<end
            let hasFiller = ring.filler(first) != ring.filler(last)
            let hasClauseFiller = ring.clauseFiller(first) != ring.clauseFiller(last)
            if self.accepts(word: word, range: range, hasClauseFiller: hasClauseFiller, in: bytes) {
                while word >= 0 {
                    if !hasFiller || self.fillerSplitsLettersEvenly(word: word, first: first, ring) {
                        guard body(Match(wordIndex: word, utf8Range: range)) else { return false }
                        break
                    }
                    word = Int(self.sameSymbolsNext[word])
                }
            }
            output = self.outputLink[Int(output)]
        }
        return true
    }

    /// Whether, in every run of letters of the word, filler stands between no pair of letters or
    /// between every pair (`f.u.c.k`, not `he'll`).
    private func fillerSplitsLettersEvenly(word: Int, first: Int, _ ring: SymbolRing) -> Bool {
        var pairs = self.wordLetterPairs[word]
        var pair = 0
        var runPairs = 0
        var runGaps = 0
        while pairs != 0 || runPairs > 0 {
            if pairs & 1 == 1 {
                runPairs += 1
                runGaps += ring.gaps(first + pair + 1) - ring.gaps(first + pair)
            } else if runPairs > 0 {
                guard runGaps == 0 || runGaps == runPairs else { return false }
                runPairs = 0
                runGaps = 0
            }
            pairs >>= 1
            pair += 1
        }
        return true
    }

    @inline(__always)
    private func code(of value: UInt32) -> UInt16 {
        if value < 0x1_0000 { return self.bmpCodes[Int(value)] }
        if let code = self.astralCodes[TextFolding.fold(value)] { return code }
        return UInt16(TextFolding.fillerClass(value).rawValue)
    }

    /// Whether the scalar is filler of either class, whether or not a word uses it.
    private func isFiller(_ value: UInt32) -> Bool {
        let code = self.code(of: value)
        return code >= 3 ? self.symbolFillerClasses[Int(code - 3)] != 0 : code != 0
    }

    @inline(__always)
    private func transition(from state: Int32, on symbol: Int) -> Int32 {
        var state = state
        while state != 0 {
            if let target = self.edge(from: Int(state), on: UInt16(symbol)) { return target }
            state = self.failure[Int(state)]
        }
        return self.rootTransitions[symbol]
    }

    @inline(__always)
    private func edge(from state: Int, on symbol: UInt16) -> Int32? {
        // The edge, if any, is in `low..<high`. Halving keeps `middle` in the range when its symbol
        // is not below the one sought: it may be that very edge (`high = middle` lost it, and with
        // it every word below a state of more than 8 children whose edge fell on a midpoint).
        var low = Int(self.edgeStarts[state])
        var high = Int(self.edgeStarts[state + 1])
        while high - low > 8 {
            let middle = (low + high) / 2
            if self.edgeSymbols[middle] < symbol { low = middle + 1 } else { high = middle + 1 }
        }
        while low < high {
            if self.edgeSymbols[low] == symbol { return self.edgeTargets[low] }
            low += 1
        }
        return nil
    }

    /// The boundary rules that keep ordinary text from matching (see the type's documentation).
    private func accepts(
        word: Int,
        range: Range<Int>,
        hasClauseFiller: Bool,
        in bytes: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        // The characters next to the match, past combining diacritics (in decomposed text the
        // mark before `cole` in `e\u{301}cole` belongs to the letter `e`), read only when a rule
        // asks: a word of marks alone, matched all along a run of marks, reads nothing.
        let readsBefore = hasClauseFiller || self.wordStartsWithLetter[word]
        let readsAfter = hasClauseFiller || self.wordEndsWithLetter[word]
        let before = readsBefore ? TextFolding.base(before: range.lowerBound, in: bytes) : nil
        let after = readsAfter ? TextFolding.base(at: range.upperBound, in: bytes) : nil
        if hasClauseFiller {
            if let before, !self.isFiller(before) { return false }
            if let after, !self.isFiller(after) { return false }
        }
        if self.wordStartsWithLetter[word], let before, TextFolding.isWordCharacter(before) { return false }
        if self.wordEndsWithLetter[word], let after, TextFolding.isWordCharacter(after) { return false }
        return true
    }

    private static func codeTables(_ alphabet: [UInt32: UInt16]) -> ([UInt16], [UInt32: UInt16]) {
        var bmp = [UInt16](repeating: 0, count: 0x1_0000)
        for value in 0..<UInt32(0x1_0000) where !(0xD800...0xDFFF).contains(value) {
            if let code = alphabet[TextFolding.fold(value)] {
                bmp[Int(value)] = code + 3
            } else {
                bmp[Int(value)] = UInt16(TextFolding.fillerClass(value).rawValue)
            }
        }
        var astral: [UInt32: UInt16] = [:]
        for (folded, code) in alphabet where folded >= 0x1_0000 { astral[folded] = code + 3 }
        return (bmp, astral)
    }
}

/// A word's place in the chain of the state where it ends: one per way of spacing.
private struct ChainEntry: Hashable {
    var state: Int32
    var letterPairs: UInt64
}

/// The automaton under construction: a trie of the words with failure and output links.
private struct Trie {
    var rootTransitions: [Int32]
    var edgeStarts: [Int32] = []
    var edgeSymbols: [UInt16] = []
    var edgeTargets: [Int32] = []
    var failure: [Int32] = []
    var outputWord: [Int32] = []
    var sameSymbolsNext: [Int32] = []
    var outputLink: [Int32] = []

    /// - Parameter letterPairs: Each word's letter pairs; a word whose symbols and pairs equal an
    ///   earlier word's is left out of the chain (it would be accepted exactly when that one is).
    init(symbolsOfWords: [[UInt16]], letterPairs: [UInt64], alphabetSize: Int) {
        self.rootTransitions = [Int32](repeating: 0, count: alphabetSize)
        // Children per state while building; flattened into sorted edge arrays at the end. The
        // edges are also found through one dictionary, by state and symbol: scanning a state's
        // children made the build quadratic for a list whose words start with thousands of
        // different characters.
        var children: [[(symbol: UInt16, target: Int32)]] = [[]]
        var edges: [UInt64: Int32] = [:]
        func edgeKey(_ state: Int, _ symbol: UInt16) -> UInt64 { UInt64(state) << 16 | UInt64(symbol) }
        var outputWord: [Int32] = [-1]
        /// The last word of each state's chain of words with the same symbols.
        var lastWord: [Int32] = [-1]
        /// The letter pairs each chain holds already, by state.
        var chained: Set<ChainEntry> = []
        self.sameSymbolsNext = [Int32](repeating: -1, count: symbolsOfWords.count)
        for (wordIndex, symbols) in symbolsOfWords.enumerated() {
            var state = 0
            for symbol in symbols {
                if let target = edges[edgeKey(state, symbol)] {
                    state = Int(target)
                } else {
                    let target = Int32(children.count)
                    children[state].append((symbol, target))
                    edges[edgeKey(state, symbol)] = target
                    children.append([])
                    outputWord.append(-1)
                    lastWord.append(-1)
                    state = Int(target)
                }
            }
            guard chained.insert(ChainEntry(state: Int32(state), letterPairs: letterPairs[wordIndex])).inserted else {
                continue
            }
            if outputWord[state] < 0 {
                outputWord[state] = Int32(wordIndex)
            } else {
                self.sameSymbolsNext[Int(lastWord[state])] = Int32(wordIndex)
            }
            lastWord[state] = Int32(wordIndex)
        }
        for child in children[0] { self.rootTransitions[Int(child.symbol)] = child.target }
        var starts: [Int32] = [0]
        for index in children.indices {
            children[index].sort { $0.symbol < $1.symbol }
            for child in children[index] {
                self.edgeSymbols.append(child.symbol)
                self.edgeTargets.append(child.target)
            }
            starts.append(Int32(self.edgeSymbols.count))
        }
        self.edgeStarts = starts
        self.outputWord = outputWord
        self.failure = [Int32](repeating: 0, count: children.count)
        self.outputLink = [Int32](repeating: -1, count: children.count)
        // Breadth first, so a state's failure target is finished before the state.
        var queue: [Int32] = children[0].map(\.target)
        var head = 0
        while head < queue.count {
            let state = Int(queue[head])
            head += 1
            for child in children[state] {
                var fallback = Int(self.failure[state])
                var target: Int32 = 0
                while true {
                    if fallback == 0 {
                        target = self.rootTransitions[Int(child.symbol)]
                        break
                    }
                    if let found = edges[edgeKey(fallback, child.symbol)] {
                        target = found
                        break
                    }
                    fallback = Int(self.failure[fallback])
                }
                let childIndex = Int(child.target)
                self.failure[childIndex] = target
                self.outputLink[childIndex] =
                    self.outputWord[Int(target)] >= 0 ? target : self.outputLink[Int(target)]
                queue.append(child.target)
            }
        }
    }
}
