import FissionCore

/// The map from host ids to dense indices: a run of sequential integer ids that needs no table,
/// and an open-addressing table of `Int32` slots for every other id.
///
/// A `Dictionary<MemberID, Int32>` would cost about 56 bytes per member (a 24-byte key and a
/// 4-byte value per bucket at 50-75% load) and a SipHash per lookup. Here a member's id lives once,
/// in `keys` (8 bytes: the integer itself, or a position in `strings`), and the table holds only
/// indices, so the map costs 8 + 4-to-10 bytes per member. Integer ids hash with a multiply-xorshift
/// finalizer; the optional seed lets a host that accepts ids from the outside keep the layout
/// unpredictable.
///
/// Hosts often number members with a database sequence, so ids arrive as `k, k+1, k+2, ...`. The
/// newest members, while their integer ids keep increasing by one with their index, form the *run*:
/// the id of run member `i` is `runBase + i`, so finding it is a subtraction and a range check, no
/// memory access at all, and such members take no slot. A member that breaks the run (a string id,
/// or an integer that does not continue it) moves the run's members into the table (each member
/// moves at most once) and starts a new run of its own if it is an integer.
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
    /// Members at `runStart..<count` have integer ids `runBase + index` and no slot; members
    /// before `runStart` all have a slot.
    private var runStart = 0
    private var runBase: Int64 = 0
    /// How many members have a slot.
    private var slotted = 0
    /// The smallest and largest integer id that has a slot (`min > max` while none has): an
    /// integer outside them cannot be in the table, which spares a new run member its probe.
    private var slottedIntegers: (min: Int64, max: Int64) = (.max, .min)
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

    /// Makes room for `capacity` members; `slots: false` leaves the table as it is, for a caller
    /// that expects sequential ids (a restore: the ids it re-adds tell).
    mutating func reserveCapacity(_ capacity: Int, slots: Bool = true) {
        self.keys.reserveCapacity(capacity)
        self.isString.reserveCapacity(capacity)
        if slots && capacity > self.slots.count * 3 / 4 {
            self.rehash(slotCount: Self.slotCount(for: capacity))
        }
    }

    /// The index of `id`, or `nil`.
    @inline(__always)
    func find(_ id: MemberID) -> Int32? {
        switch id.value {
        case .integer(let integer): return self.find(integer: integer)
        case .string(let string): return self.find(string: string)
        }
    }

    /// The index of the integer id `integer`, or `nil`. A run member costs no memory access.
    @inline(__always)
    func find(integer: Int64) -> Int32? {
        let (offset, overflow) = integer.subtractingReportingOverflow(self.runBase)
        if !overflow && offset >= Int64(self.runStart) && offset < Int64(self.keys.count) {
            return Int32(truncatingIfNeeded: offset)
        }
        guard integer >= self.slottedIntegers.min && integer <= self.slottedIntegers.max else { return nil }
        return self.probe(hash: self.hash(integer: integer)) { index in
            self.keys[index] == integer && !self.isString[index]
        }
    }

    private func find(string: String) -> Int32? {
        self.probe(hash: self.hash(string: string)) { index in
            self.isString[index] && self.strings[Int(self.keys[index])].utf8.elementsEqual(string.utf8)
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
    /// changes nothing.
    mutating func appendIfAbsent(_ id: MemberID) -> Int32? {
        switch id.value {
        case .integer(let integer): return self.appendIfAbsent(integer: integer)
        case .string(let string): return self.appendIfAbsent(string: string)
        }
    }

    /// Adds the integer id `integer` as the next index unless it is present (then returns its index).
    @inline(__always)
    mutating func appendIfAbsent(integer: Int64) -> Int32? {
        if let existing = self.find(integer: integer) { return existing }
        let index = self.keys.count
        let (base, overflow) = integer.subtractingReportingOverflow(Int64(index))
        if self.runStart < index && (overflow || base != self.runBase) {
            // The id does not continue the run: the run's members take slots, and a new run starts here.
            self.slotRun()
        }
        if overflow {
            // Only near Int64.min: such an id cannot start a run, so it takes a slot.
            self.appendSlotted(integer: integer)
            return nil
        }
        self.runBase = base
        self.keys.append(integer)
        self.isString.append(false)
        return nil
    }

    private mutating func appendIfAbsent(string: String) -> Int32? {
        let hash = self.hash(string: string)
        let existing = self.probe(hash: hash) { index in
            self.isString[index] && self.strings[Int(self.keys[index])].utf8.elementsEqual(string.utf8)
        }
        if let existing { return existing }
        self.slotRun()
        self.growIfFull()
        let index = Int32(self.keys.count)
        self.keys.append(Int64(self.strings.count))
        self.strings.append(string)
        self.isString.append(true)
        self.place(index, hash: hash)
        self.runStart = self.keys.count
        return nil
    }

    /// Appends an integer id with a slot; the run must be empty.
    private mutating func appendSlotted(integer: Int64) {
        self.growIfFull()
        let index = Int32(self.keys.count)
        self.keys.append(integer)
        self.isString.append(false)
        self.place(index, hash: self.hash(integer: integer))
        self.noteSlotted(integer: integer)
        self.runStart = self.keys.count
    }

    /// Gives every run member a slot and leaves the run empty.
    private mutating func slotRun() {
        let end = self.keys.count
        guard self.runStart < end else { return }
        if self.slotted + (end - self.runStart) > self.slots.count * 3 / 4 {
            self.rehash(slotCount: Self.slotCount(for: self.slotted + (end - self.runStart)))
        }
        for index in self.runStart..<end {
            let integer = self.keys[index]
            self.place(Int32(index), hash: self.hash(integer: integer))
            self.noteSlotted(integer: integer)
        }
        self.runStart = end
    }

    private mutating func noteSlotted(integer: Int64) {
        self.slottedIntegers = (min(self.slottedIntegers.min, integer), max(self.slottedIntegers.max, integer))
    }

    private mutating func growIfFull() {
        if self.slotted + 1 > self.slots.count * 3 / 4 {
            self.rehash(slotCount: self.slots.count * 2)
        }
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
        self.slotted += 1
    }

    /// Rebuilds the slots at `slotCount`; run members stay out of them.
    private mutating func rehash(slotCount: Int) {
        self.slots = Array(repeating: 0, count: slotCount)
        self.slotted = 0
        for index in 0..<self.runStart {
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
