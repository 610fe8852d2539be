/// A reproducible random number generator: xoshiro256** seeded through SplitMix64.
///
/// Fission never uses system randomness. Whatever needs chance (a bargain's cut sizes, a card
/// draw, a simulation) takes a `SeededGenerator`, and the generator is a plain value: store it
/// with the campaign's state (it is `Codable`) and the same seed replays the same draws, byte for
/// byte, on any machine and any Swift version.
///
/// Use ``next(below:)``, ``next(in:)`` and ``nextUnitInterval()`` rather than the standard
/// library's `random(in:using:)` on integers: their algorithms are fixed here, while the standard
/// library is free to change how it maps raw bits to a range.
public struct SeededGenerator: RandomNumberGenerator, Hashable, Sendable, Codable {
    // Four words rather than an array: no allocation or bounds check per draw.
    private var word0: UInt64
    private var word1: UInt64
    private var word2: UInt64
    private var word3: UInt64

    /// The four 64-bit words of xoshiro256** state, never all zero; save them to resume the stream.
    public var state: [UInt64] { [self.word0, self.word1, self.word2, self.word3] }

    /// Creates a generator from a seed. Every seed, including 0, gives a valid, distinct stream.
    public init(seed: UInt64) {
        var splitMix = seed
        func nextSplitMix() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var mixed = splitMix
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            return mixed ^ (mixed >> 31)
        }
        self.word0 = nextSplitMix()
        self.word1 = nextSplitMix()
        self.word2 = nextSplitMix()
        self.word3 = nextSplitMix()
    }

    /// Restores a generator from a saved ``state``.
    ///
    /// - Throws: ``FissionError/Code/invalidGeneratorState`` unless `state` is four words, not all zero.
    public init(state: [UInt64]) throws(FissionError) {
        guard state.count == 4 else {
            throw FissionError(code: .invalidGeneratorState, reason: "state has \(state.count) words; 4 are needed")
        }
        guard state.contains(where: { $0 != 0 }) else {
            throw FissionError(code: .invalidGeneratorState, reason: "an all-zero state never leaves zero")
        }
        self.word0 = state[0]
        self.word1 = state[1]
        self.word2 = state[2]
        self.word3 = state[3]
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotateLeft(self.word1 &* 5, by: 7) &* 9
        let shifted = self.word1 << 17
        self.word2 ^= self.word0
        self.word3 ^= self.word1
        self.word1 ^= self.word2
        self.word0 ^= self.word3
        self.word2 ^= shifted
        self.word3 = rotateLeft(self.word3, by: 45)
        return result
    }

    /// A uniformly distributed integer in `0..<upperBound`, without bias (Lemire's method).
    ///
    /// - Precondition: `upperBound > 0`.
    public mutating func next(below upperBound: UInt64) -> UInt64 {
        precondition(upperBound > 0, "next(below:) needs a positive bound")
        var product = self.next().multipliedFullWidth(by: upperBound)
        if product.low < upperBound {
            let threshold = (0 &- upperBound) % upperBound
            while product.low < threshold {
                product = self.next().multipliedFullWidth(by: upperBound)
            }
        }
        return product.high
    }

    /// A uniformly distributed integer in `range`.
    public mutating func next(in range: ClosedRange<Int64>) -> Int64 {
        let width = UInt64(bitPattern: range.upperBound &- range.lowerBound)
        guard width < UInt64.max else { return Int64(bitPattern: self.next()) }
        return range.lowerBound &+ Int64(bitPattern: self.next(below: width + 1))
    }

    /// A uniformly distributed value in `0..<1` with 53 random bits, for simulations.
    /// Never use it for money.
    public mutating func nextUnitInterval() -> Double {
        Double(self.next() >> 11) * 0x1p-53
    }

    /// `true` with probability `rate` (for example `BasisPoints(2_500)` is one time in four).
    public mutating func chance(_ rate: BasisPoints) -> Bool {
        Int64(self.next(below: UInt64(BasisPoints.whole.value))) < rate.value
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let words = try container.decode([UInt64].self)
        do {
            try self.init(state: words)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.reason)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.state)
    }
}

private func rotateLeft(_ value: UInt64, by amount: UInt64) -> UInt64 {
    (value << amount) | (value >> (64 - amount))
}
