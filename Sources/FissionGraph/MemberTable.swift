@_spi(FissionCoding) import FissionCore

/// The map from host ids to dense indices: a run of sequential integer ids that needs no table,
/// and an open-addressing table of `Int32` slots for every other id.
///
/// A `Dictionary<MemberID, Int32>` would cost about 56 bytes per member (a 24-byte key and a
/// 4-byte value per bucket at 50-75% load) and a SipHash per lookup. Here a member's id lives once,
/// in `storedKeys` (8 bytes: the integer itself, or a position in `strings`), and the table holds
/// only indices, so the map costs 8 + 4-to-10 bytes per member, and nothing for the run below.
/// Integer ids hash with a multiply-xorshift finalizer; the optional seed lets a host that accepts
/// ids from the outside keep the layout unpredictable.
///
/// Hosts often number members with a database sequence, so ids arrive as `k, k+1, k+2, ...`. The
/// newest members, while their integer ids keep increasing by one with their index, form the *run*:
/// the id of run member `i` is `runBase + i`, so finding it is a subtraction and a range check, no
/// memory access at all, and such members take no slot. A member that breaks the run (a string id,
/// or an integer that does not continue it) moves the run's members into the table (each member
/// moves at most once) and starts a new run of its own if it is an integer. A run member's id is
/// not stored at all: registering one appends nothing to the table, and a run of a million ids
/// costs no memory (when the run breaks, its keys are stored with their slots; a snapshot writes
/// them out from `runBase`).
struct MemberTable: Sendable {
    /// For members before `runStart`: the integer id, or for a string id its position in `strings`.
    private var storedKeys: [Int64] = []
    /// One bit per member before `runStart`: set when the id is a string.
    private var storedIsString = Bitset()
    /// The string ids, in join order.
    private(set) var strings: [String] = []
    /// Per slot: 0 when empty, else a 5-bit tag from the hash over `index + 1` in 27 bits. The tag
    /// spares most probes a look at `storedKeys` (a cache miss each). The count is a power of two.
    private var slots: [UInt32] = Array(repeating: 0, count: 16)
    /// Members at `runStart..<count` have integer ids `runBase + index`, no slot and no stored
    /// key; members before `runStart` all have a slot and a stored key.
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

    /// The number of members.
    private(set) var count = 0

    init(seed: UInt64) {
        self.seed = seed
    }

    /// Bytes held by the table's arrays (their capacity), for the memory figures.
    var allocatedBytes: Int {
        self.storedKeys.capacity * 8 + self.storedIsString.allocatedBytes + self.strings.capacity * 16
            + self.slots.capacity * 4
    }

    /// The key of the member at `index`: the integer id, or for a string id its position in `strings`.
    func key(at index: Int) -> Int64 {
        index >= self.runStart ? self.runBase &+ Int64(index) : self.storedKeys[index]
    }

    /// Whether the member at `index` has a string id.
    func isString(at index: Int) -> Bool {
        index < self.runStart && self.storedIsString[index]
    }

    /// Whether both tables hold the same ids in the same order (the layout and the seed aside).
    func sameIDs(as other: MemberTable) -> Bool {
        guard self.count == other.count, self.strings.count == other.strings.count else { return false }
        for index in 0..<self.count where self.key(at: index) != other.key(at: index) {
            return false
        }
        for index in 0..<self.count where self.isString(at: index) != other.isString(at: index) {
            return false
        }
        return self.strings.elementsEqual(other.strings) { $0.utf8.elementsEqual($1.utf8) }
    }

    /// Writes every member's key, then one bit per member (set for a string id) in 64-bit words:
    /// the snapshot's layout. The run's keys go through a small stack buffer, not a whole array.
    func write(to writer: inout ByteWriter) {
        writer.append(array: self.storedKeys)
        if self.runStart < self.count {
            // 128 keys, 1 KiB: small enough to stay on the stack (a larger buffer goes to the heap).
            withUnsafeTemporaryAllocation(of: Int64.self, capacity: 128) { chunk in
                var index = self.runStart
                while index < self.count {
                    let length = min(chunk.count, self.count - index)
                    for offset in 0..<length {
                        chunk[offset] = (self.runBase &+ Int64(index + offset)).littleEndian
                    }
                    writer.append(
                        contentsOf: UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: chunk[0..<length]))
                    )
                    index += length
                }
            }
        }
        // Run members have no string bit: their words are zero.
        writer.append(array: self.storedIsString.words)
        for _ in self.storedIsString.words.count..<((self.count + 63) / 64) {
            writer.append(UInt64(0))
        }
    }

    /// Makes room for `capacity` members; `slots: false` leaves the table as it is, for a caller
    /// that expects sequential ids (a restore: the ids it re-adds tell).
    mutating func reserveCapacity(_ capacity: Int, slots: Bool = true) {
        if slots {
            // Ids that need slots need stored keys too; a restore re-adds its ids and a run stores none.
            self.storedKeys.reserveCapacity(capacity)
            self.storedIsString.reserveCapacity(capacity)
        }
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
        if !overflow && offset >= Int64(self.runStart) && offset < Int64(self.count) {
            return Int32(truncatingIfNeeded: offset)
        }
        guard integer >= self.slottedIntegers.min && integer <= self.slottedIntegers.max else { return nil }
        return self.probe(hash: self.hash(integer: integer)) { index in
            self.storedKeys[index] == integer && !self.storedIsString[index]
        }
    }

    private func find(string: String) -> Int32? {
        self.probe(hash: self.hash(string: string)) { index in
            self.storedIsString[index] && self.strings[Int(self.storedKeys[index])].utf8.elementsEqual(string.utf8)
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
    /// changes nothing. Inlined: for the next member of the run this is a few instructions.
    @inline(__always)
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
        let index = self.count
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
        // A run member: nothing to store.
        self.runBase = base
        self.count += 1
        return nil
    }

    private mutating func appendIfAbsent(string: String) -> Int32? {
        let hash = self.hash(string: string)
        let existing = self.probe(hash: hash) { index in
            self.storedIsString[index] && self.strings[Int(self.storedKeys[index])].utf8.elementsEqual(string.utf8)
        }
        if let existing { return existing }
        self.slotRun()
        self.growIfFull()
        let index = Int32(self.count)
        self.storedKeys.append(Int64(self.strings.count))
        self.strings.append(string)
        self.storedIsString.append(true)
        self.count += 1
        self.place(index, hash: hash)
        self.runStart = self.count
        return nil
    }

    /// Appends an integer id with a slot; the run must be empty.
    private mutating func appendSlotted(integer: Int64) {
        self.growIfFull()
        let index = Int32(self.count)
        self.storedKeys.append(integer)
        self.storedIsString.append(false)
        self.count += 1
        self.place(index, hash: self.hash(integer: integer))
        self.noteSlotted(integer: integer)
        self.runStart = self.count
    }

    /// Gives every run member a stored key and a slot, and leaves the run empty.
    private mutating func slotRun() {
        let end = self.count
        guard self.runStart < end else { return }
        if self.slotted + (end - self.runStart) > self.slots.count * 3 / 4 {
            self.rehash(slotCount: Self.slotCount(for: self.slotted + (end - self.runStart)))
        }
        for index in self.runStart..<end {
            let integer = self.runBase &+ Int64(index)
            self.storedKeys.append(integer)
            self.storedIsString.append(false)
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
        guard self.isString(at: index) else { return MemberID(self.key(at: index)) }
        do {
            // The string was a valid MemberID when it came in; validating again only re-checks it.
            return try MemberID(self.strings[Int(self.storedKeys[index])])
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
                self.storedIsString[index]
                ? self.hash(string: self.strings[Int(self.storedKeys[index])])
                : self.hash(integer: self.storedKeys[index])
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
