import FissionCore

/// The map from host ids to dense indices: an open-addressing table of `Int32` slots.
///
/// A `Dictionary<MemberID, Int32>` would cost about 56 bytes per member (a 24-byte key and a
/// 4-byte value per bucket at 50-75% load) and a SipHash per lookup. Here a member's id lives once,
/// in `keys` (8 bytes: the integer itself, or a position in `strings`), and the table holds only
/// indices, so the map costs 8 + 4-to-10 bytes per member. Integer ids, the common case, hash with a
/// multiply-xorshift finalizer; the optional seed lets a host that accepts ids from the outside keep
/// the layout unpredictable.
struct MemberTable: Sendable {
    /// The integer id, or for a string id its position in `strings`.
    private(set) var keys: [Int64] = []
    /// One bit per member: set when the id is a string.
    private(set) var isString = Bitset()
    /// The string ids, in join order.
    private(set) var strings: [String] = []
    /// Per slot: 0 when empty, else a 5-bit tag from the hash over `index + 1` in 27 bits. The tag
    /// spares most probes a look at `keys` (a cache miss each). The count is a power of two.
    private var slots: [UInt32] = Array(repeating: 0, count: 16)
    let seed: UInt64

    /// Bits of a slot that hold `index + 1`; the rest hold the tag.
    static let indexBits: UInt32 = 27
    private static let indexMask: UInt32 = 1 << indexBits - 1
    private static let tagMask: UInt32 = ~indexMask
    /// The most members the table can index: 2^27 - 2, about 134 million.
    static let capacityLimit = Int(indexMask) - 1

    init(seed: UInt64) {
        self.seed = seed
    }

    var count: Int { self.keys.count }

    /// Bytes held by the table's arrays (their capacity), for the memory figures.
    var allocatedBytes: Int {
        self.keys.capacity * 8 + self.isString.allocatedBytes + self.strings.capacity * 16 + self.slots.capacity * 4
    }

    mutating func reserveCapacity(_ capacity: Int) {
        self.keys.reserveCapacity(capacity)
        self.isString.reserveCapacity(capacity)
        if capacity > self.slots.count * 3 / 4 {
            self.rehash(slotCount: Self.slotCount(for: capacity))
        }
    }

    /// The index of `id`, or `nil`.
    func find(_ id: MemberID) -> Int32? {
        switch id.value {
        case .integer(let integer):
            return self.probe(hash: self.hash(integer: integer)) { index in
                self.keys[index] == integer && !self.isString[index]
            }
        case .string(let string):
            return self.probe(hash: self.hash(string: string)) { index in
                self.isString[index] && self.strings[Int(self.keys[index])].utf8.elementsEqual(string.utf8)
            }
        }
    }

    /// Walks the probe sequence of `hash`; only slots whose tag matches cost a look at the key.
    private func probe(hash: UInt64, matches: (Int) -> Bool) -> Int32? {
        let mask = self.slots.count - 1
        let tag = UInt32(truncatingIfNeeded: hash >> 59) << Self.indexBits
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = self.slots[slot]
            if entry == 0 { return nil }
            if entry & Self.tagMask == tag {
                let index = Int(entry & Self.indexMask) - 1
                if matches(index) { return Int32(index) }
            }
            slot = (slot &+ 1) & mask
        }
    }

    /// Adds `id` as the next index, unless it is already present: then it returns that index and
    /// changes nothing. One probe sequence serves both the duplicate check and the placement.
    mutating func appendIfAbsent(_ id: MemberID) -> Int32? {
        let hash: UInt64
        let existing: Int32?
        switch id.value {
        case .integer(let integer):
            hash = self.hash(integer: integer)
            existing = self.probe(hash: hash) { index in self.keys[index] == integer && !self.isString[index] }
        case .string(let string):
            hash = self.hash(string: string)
            existing = self.probe(hash: hash) { index in
                self.isString[index] && self.strings[Int(self.keys[index])].utf8.elementsEqual(string.utf8)
            }
        }
        if let existing { return existing }
        if self.keys.count + 1 > self.slots.count * 3 / 4 {
            self.rehash(slotCount: self.slots.count * 2)
        }
        let index = Int32(self.keys.count)
        switch id.value {
        case .integer(let integer):
            self.keys.append(integer)
            self.isString.append(false)
        case .string(let string):
            self.keys.append(Int64(self.strings.count))
            self.strings.append(string)
            self.isString.append(true)
        }
        self.place(index, hash: hash)
        return nil
    }

    /// The id at `index`.
    func id(at index: Int) -> MemberID {
        guard self.isString[index] else { return MemberID(self.keys[index]) }
        do {
            // The string was a valid MemberID when it came in; validating again only re-checks it.
            return try MemberID(self.strings[Int(self.keys[index])])
        } catch {
            preconditionFailure("a stored member id became invalid: \(error.reason)")
        }
    }

    private mutating func place(_ index: Int32, hash: UInt64) {
        let mask = self.slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while self.slots[slot] != 0 {
            slot = (slot &+ 1) & mask
        }
        self.slots[slot] = UInt32(truncatingIfNeeded: hash >> 59) << Self.indexBits | UInt32(index + 1)
    }

    private mutating func rehash(slotCount: Int) {
        self.slots = Array(repeating: 0, count: slotCount)
        for index in 0..<self.keys.count {
            let hash =
                self.isString[index]
                ? self.hash(string: self.strings[Int(self.keys[index])]) : self.hash(integer: self.keys[index])
            self.place(Int32(index), hash: hash)
        }
    }

    private static func slotCount(for memberCount: Int) -> Int {
        var slots = 16
        while memberCount > slots * 3 / 4 {
            slots *= 2
        }
        return slots
    }

    private func hash(integer: Int64) -> UInt64 {
        mix(UInt64(bitPattern: integer) ^ self.seed)
    }

    private func hash(string: String) -> UInt64 {
        // FNV-1a over the UTF-8 bytes, then the same finalizer; strings differ from integers by a salt.
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ self.seed
        for byte in string.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return mix(hash ^ 0x9E37_79B9_7F4A_7C15)
    }
}

/// The murmur3 64-bit finalizer: every input bit affects every output bit.
private func mix(_ value: UInt64) -> UInt64 {
    var mixed = value
    mixed = (mixed ^ (mixed >> 33)) &* 0xFF51_AFD7_ED55_8CCD
    mixed = (mixed ^ (mixed >> 33)) &* 0xC4CE_B9FE_1A85_EC53
    return mixed ^ (mixed >> 33)
}

/// A growable array of bits, one word per 64 members.
struct Bitset: Hashable, Sendable {
    private(set) var words: [UInt64] = []
    private(set) var count = 0

    init() {}

    init(words: [UInt64], count: Int) {
        self.words = words
        self.count = count
    }

    var allocatedBytes: Int { self.words.capacity * 8 }

    mutating func reserveCapacity(_ capacity: Int) {
        self.words.reserveCapacity((capacity + 63) / 64)
    }

    mutating func append(_ bit: Bool) {
        if self.count & 63 == 0 { self.words.append(0) }
        if bit { self.words[self.count >> 6] |= 1 << UInt64(self.count & 63) }
        self.count += 1
    }

    subscript(index: Int) -> Bool {
        get { self.words[index >> 6] & (1 << UInt64(index & 63)) != 0 }
        set {
            if newValue {
                self.words[index >> 6] |= 1 << UInt64(index & 63)
            } else {
                self.words[index >> 6] &= ~(1 << UInt64(index & 63))
            }
        }
    }
}
