public import FissionCore

/// Finds words from a list in text, in one pass, however long the list: an Aho-Corasick
/// automaton over Unicode scalars, built once.
///
/// The matcher sees through common evasion:
/// - case, full-width letters and digits (`ＦＵＣＫ`, `１３８`) and circled letters;
/// - spaces, punctuation, symbols, combining marks or invisible characters put between the
///   characters of a word (`f.u.c.k`, `赌 博`, `赌*博`, `f\u{200B}uck`).
///
/// And it keeps ordinary text clean:
/// - a word that starts (or ends) with a letter of an alphabetic script matches only at a word
///   boundary, so `ass` is not found in `class` nor `hell` in `hello`;
/// - a match that needed filler to be skipped counts only when it stands apart: the characters
///   just before and after it are filler or the text's ends. So `加 我` is caught in `请 加 我`
///   but `加我` is not found across the comma of `参加，我们`.
///
/// Words in the list drop their own whitespace (`add me` matches `addme` and `add-me`) but keep
/// visible symbols (`+v`); a symbol that appears in some word is no longer filler for that matcher.
///
/// ```swift
/// let matcher = try SensitiveWordMatcher(words: ["赌博", "fuck"])
/// matcher.matches(in: "f-u-c-k this")     // one match: "fuck" at UTF-8 offsets 0..<7
/// matcher.containsMatch(in: "a classic")  // false
/// ```
public struct SensitiveWordMatcher: Sendable {
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

    /// For each BMP scalar: 0 for a character no word uses, 1 for filler, else its symbol + 2.
    private let bmpCodes: [UInt16]
    /// The same for scalars outside the BMP that words use (emoji, rare ideographs).
    private let astralCodes: [UInt32: UInt16]
    /// The root's transition for each symbol (0: stay at the root).
    private let rootTransitions: [Int32]
    /// The outgoing edges of each state, sorted by symbol: `edgeSymbols[edgeStarts[s]..<edgeStarts[s + 1]]`.
    private let edgeStarts: [Int32]
    private let edgeSymbols: [UInt16]
    private let edgeTargets: [Int32]
    private let failure: [Int32]
    /// The word that ends exactly at each state, or -1.
    private let outputWord: [Int32]
    /// The nearest state on the failure chain that ends a word, or -1.
    private let outputLink: [Int32]
    /// Each word's length in symbols.
    private let wordLengths: [Int32]
    /// Whether each word starts or ends with a letter or digit of an alphabetic script.
    private let wordStartsWithLetter: [Bool]
    private let wordEndsWithLetter: [Bool]

    /// Builds the automaton.
    ///
    /// Two words that fold to the same characters (`FUCK` and `fuck`) are one word: matches
    /// report the first.
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
        symbolsOfWords.reserveCapacity(words.count)
        for (index, word) in words.enumerated() {
            var symbols: [UInt16] = []
            for scalar in word.unicodeScalars where !TextFolding.isDroppedFromPatterns(scalar.value) {
                let folded = TextFolding.fold(scalar.value)
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
            guard symbols.count <= Self.maximumWordLength else {
                throw FissionError(
                    code: .invalidWordList,
                    reason: "word \(index) has \(symbols.count) characters; at most \(Self.maximumWordLength)"
                )
            }
            symbolsOfWords.append(symbols)
        }
        self.words = words
        (self.bmpCodes, self.astralCodes) = Self.codeTables(alphabet)
        let trie = Trie(symbolsOfWords: symbolsOfWords, alphabetSize: alphabet.count)
        self.rootTransitions = trie.rootTransitions
        self.edgeStarts = trie.edgeStarts
        self.edgeSymbols = trie.edgeSymbols
        self.edgeTargets = trie.edgeTargets
        self.failure = trie.failure
        self.outputWord = trie.outputWord
        self.outputLink = trie.outputLink
        self.wordLengths = symbolsOfWords.map { Int32($0.count) }
        var startsWithLetter: [Bool] = []
        var endsWithLetter: [Bool] = []
        for word in words {
            let kept = word.unicodeScalars.filter { !TextFolding.isDroppedFromPatterns($0.value) }
            startsWithLetter.append(kept.first.map { TextFolding.isWordCharacter($0.value) } ?? false)
            endsWithLetter.append(kept.last.map { TextFolding.isWordCharacter($0.value) } ?? false)
        }
        self.wordStartsWithLetter = startsWithLetter
        self.wordEndsWithLetter = endsWithLetter
    }

    /// Every occurrence of a word in `text`, in order of where they end, up to `limit`.
    ///
    /// - Parameters:
    ///   - text: The message.
    ///   - limit: The most matches to return.
    /// - Complexity: O(*n* + *matches*) in the text's UTF-8 length; no allocation apart from the
    ///   result.
    public func matches(in text: String, limit: Int = 100) -> [Match] {
        var result: [Match] = []
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
    /// - Complexity: O(*n*) in the text's UTF-8 length; no allocation.
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

    /// Calls `body` with each accepted match until it returns `false`.
    func forEachMatch(in bytes: UnsafeBufferPointer<UInt8>, _ body: (Match) -> Bool) {
        // The last 64 symbols' start offsets and filler counts, to find where a match began.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 128) { ring in
            var state: Int32 = 0
            var position = 0
            var symbolCount = 0
            var fillerCount = 0
            while position < bytes.count {
                let start = position
                let (value, length) = TextFolding.decode(bytes, at: position)
                position += length
                let code = self.code(of: value)
                if code == 0 {
                    state = 0
                    continue
                }
                if code == 1 {
                    fillerCount += 1
                    continue
                }
                ring[symbolCount & 63] = start
                ring[64 + (symbolCount & 63)] = fillerCount
                symbolCount += 1
                state = self.transition(from: state, on: Int(code - 2))
                var output = self.outputWord[Int(state)] >= 0 ? state : self.outputLink[Int(state)]
                while output >= 0 {
                    let word = Int(self.outputWord[Int(output)])
                    let first = symbolCount - Int(self.wordLengths[word])
                    let range = ring[first & 63]..<position
                    let hasFiller = ring[64 + (first & 63)] != fillerCount
                    if self.accepts(word: word, range: range, hasFiller: hasFiller, in: bytes) {
                        guard body(Match(wordIndex: word, utf8Range: range)) else { return }
                    }
                    output = self.outputLink[Int(output)]
                }
            }
        }
    }

    @inline(__always)
    private func code(of value: UInt32) -> UInt16 {
        if value < 0x1_0000 { return self.bmpCodes[Int(value)] }
        if let code = self.astralCodes[TextFolding.fold(value)] { return code }
        return TextFolding.isFiller(value) ? 1 : 0
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
        var low = Int(self.edgeStarts[state])
        var high = Int(self.edgeStarts[state + 1])
        while high - low > 8 {
            let middle = (low + high) / 2
            if self.edgeSymbols[middle] < symbol { low = middle + 1 } else { high = middle }
        }
        while low < high {
            if self.edgeSymbols[low] == symbol { return self.edgeTargets[low] }
            low += 1
        }
        return nil
    }

    /// The boundary rules that keep ordinary text from matching (see the type's documentation).
    private func accepts(word: Int, range: Range<Int>, hasFiller: Bool, in bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let before = TextFolding.scalar(before: range.lowerBound, in: bytes)
        let after = TextFolding.scalar(at: range.upperBound, in: bytes)
        if hasFiller {
            if let before, self.code(of: before) != 1 { return false }
            if let after, self.code(of: after) != 1 { return false }
        }
        if self.wordStartsWithLetter[word], let before, TextFolding.isWordCharacter(before) { return false }
        if self.wordEndsWithLetter[word], let after, TextFolding.isWordCharacter(after) { return false }
        return true
    }

    private static func codeTables(_ alphabet: [UInt32: UInt16]) -> ([UInt16], [UInt32: UInt16]) {
        var bmp = [UInt16](repeating: 0, count: 0x1_0000)
        for value in 0..<UInt32(0x1_0000) where !(0xD800...0xDFFF).contains(value) {
            if let code = alphabet[TextFolding.fold(value)] {
                bmp[Int(value)] = code + 2
            } else if TextFolding.isFiller(value) {
                bmp[Int(value)] = 1
            }
        }
        var astral: [UInt32: UInt16] = [:]
        for (folded, code) in alphabet where folded >= 0x1_0000 { astral[folded] = code + 2 }
        return (bmp, astral)
    }
}

/// The automaton under construction: a trie of the words with failure and output links.
private struct Trie {
    var rootTransitions: [Int32]
    var edgeStarts: [Int32] = []
    var edgeSymbols: [UInt16] = []
    var edgeTargets: [Int32] = []
    var failure: [Int32] = []
    var outputWord: [Int32] = []
    var outputLink: [Int32] = []

    init(symbolsOfWords: [[UInt16]], alphabetSize: Int) {
        self.rootTransitions = [Int32](repeating: 0, count: alphabetSize)
        // Children per state while building; flattened into sorted edge arrays at the end.
        var children: [[(symbol: UInt16, target: Int32)]] = [[]]
        var outputWord: [Int32] = [-1]
        for (wordIndex, symbols) in symbolsOfWords.enumerated() {
            var state = 0
            for symbol in symbols {
                if let child = children[state].first(where: { $0.symbol == symbol }) {
                    state = Int(child.target)
                } else {
                    let target = Int32(children.count)
                    children[state].append((symbol, target))
                    children.append([])
                    outputWord.append(-1)
                    state = Int(target)
                }
            }
            if outputWord[state] < 0 { outputWord[state] = Int32(wordIndex) }
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
                    if let found = children[fallback].first(where: { $0.symbol == child.symbol }) {
                        target = found.target
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
