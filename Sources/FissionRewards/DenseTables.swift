import FissionCore

/// An open-addressing index from 32-bit hashes to dense `Int32` positions, for the settlement's
/// hot tables.
///
/// A `Dictionary` keyed by ``Identifier`` (or by a struct of them) pays a SipHash over the key
/// and a generic equality per probe, and stores the whole key again in every bucket. Here the
/// caller keeps its keys in flat arrays by position; the index holds only an 8-byte slot per
/// entry (the hash and the position) and asks the caller to confirm a match only when the 32-bit
/// hashes agree. Linear probing at most half full, so a miss (the common case: a new event, a new
/// key) ends after about two probes. Removal (for rollback) leaves a tombstone that
/// the next growth drops.
struct HashIndex: Sendable {
    struct Slot: Sendable {
        var hash: UInt32
        /// The position, or `-1` for an empty slot and `-2` for a removed one.
        var position: Int32
    }

    private static let empty: Int32 = -1
    private static let removed: Int32 = -2

    private var slots: [Slot] = Array(repeating: Slot(hash: 0, position: -1), count: 16)
    /// Live entries plus tombstones.
    private var used = 0
    /// Live entries.
    private(set) var count = 0

    init() {}

    /// Room for `capacity` entries without growing.
    init(capacity: Int) {
        self.slots = Array(repeating: Slot(hash: 0, position: Self.empty), count: Self.slotCount(for: capacity))
    }

    /// Bytes held by the slots.
    var allocatedBytes: Int { self.slots.capacity * MemoryLayout<Slot>.stride }

    /// The position of the entry with `hash` that `matches` confirms, or `nil`.
    @inline(__always)
    func find(_ hash: UInt32, _ matches: (Int32) -> Bool) -> Int32? {
        let mask = self.slots.count - 1
        var slot = Int(hash) & mask
        return self.slots.withUnsafeBufferPointer { slots in
            while true {
                let entry = slots[slot]
                if entry.position == Self.empty { return nil }
                if entry.hash == hash, entry.position >= 0, matches(entry.position) { return entry.position }
                slot = (slot &+ 1) & mask
            }
        }
    }

    /// Adds `position` under `hash`; the caller has checked that no entry matches.
    @inline(__always)
    mutating func insert(_ hash: UInt32, _ position: Int32) {
        if self.used + 1 > self.slots.count / 2 { self.grow() }
        let mask = self.slots.count - 1
        var slot = Int(hash) & mask
        while self.slots[slot].position >= 0 { slot = (slot &+ 1) & mask }
        if self.slots[slot].position == Self.empty { self.used += 1 }
        self.slots[slot] = Slot(hash: hash, position: position)
        self.count += 1
    }

    /// Removes the entry `position` filed under `hash`, if present.
    mutating func remove(_ hash: UInt32, _ position: Int32) {
        let mask = self.slots.count - 1
        var slot = Int(hash) & mask
        while self.slots[slot].position != Self.empty {
            if self.slots[slot].position == position, self.slots[slot].hash == hash {
                self.slots[slot].position = Self.removed
                self.count -= 1
                return
            }
            slot = (slot &+ 1) & mask
        }
    }

    private mutating func grow() {
        // Tombstones alone can fill the table: rebuild at the size the live entries need.
        let old = self.slots
        let size = max(old.count, Self.slotCount(for: (self.count + 1) * 3 / 2))
        self.slots = Array(repeating: Slot(hash: 0, position: Self.empty), count: size)
        self.used = 0
        self.count = 0
        let mask = size - 1
        for entry in old where entry.position >= 0 {
            var slot = Int(entry.hash) & mask
            while self.slots[slot].position != Self.empty { slot = (slot &+ 1) & mask }
            self.slots[slot] = entry
            self.used += 1
            self.count += 1
        }
    }

    private static func slotCount(for count: Int) -> Int {
        var slots = 16
        while count > slots / 2 { slots *= 2 }
        return slots
    }
}

/// The murmur3 64-bit finalizer, folded to 32 bits: every input bit affects every output bit.
@inline(__always)
func mixHash(_ value: UInt64) -> UInt32 {
    var mixed = value
    mixed = (mixed ^ (mixed >> 33)) &* 0xFF51_AFD7_ED55_8CCD
    mixed = (mixed ^ (mixed >> 33)) &* 0xC4CE_B9FE_1A85_EC53
    mixed ^= mixed >> 33
    return UInt32(truncatingIfNeeded: mixed >> 32) ^ UInt32(truncatingIfNeeded: mixed)
}

/// A 32-bit mixer that is a bijection (lowbias32): distinct inputs never share a hash, so a table
/// keyed by 32-bit values can trust a hash match without reading the key.
@inline(__always)
func invertibleHash(_ value: UInt32) -> UInt32 {
    var mixed = value
    mixed ^= mixed >> 16
    mixed = mixed &* 0x7FEB_352D
    mixed ^= mixed >> 15
    mixed = mixed &* 0x846C_A68B
    return mixed ^ (mixed >> 16)
}

/// Combines words into one hash (for composite keys).
@inline(__always)
func mixHash(_ first: UInt64, _ second: UInt64) -> UInt32 {
    mixHash(first &* 0x9E37_79B9_7F4A_7C15 ^ (second &+ 0x632B_E59B_D9B4_E019))
}

/// A fast, deterministic hash of an identifier: by its integer, or by its UTF-8 bytes (FNV-1a).
@inline(__always)
func identifierHash<Kind>(_ id: Identifier<Kind>) -> UInt64 {
    switch id.value {
    case .integer(let integer):
        return UInt64(bitPattern: integer)
    case .string(let string):
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in string.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash ^ 0x5851_F42D_4C95_7F2D
    }
}

/// Identifier equality (same form, same integer or the same UTF-8 bytes), inlined.
@inline(__always)
func sameIdentifier<Kind>(_ lhs: Identifier<Kind>, _ rhs: Identifier<Kind>) -> Bool {
    switch (lhs.value, rhs.value) {
    case (.integer(let left), .integer(let right)): left == right
    case (.string(let left), .string(let right)): left.utf8.elementsEqual(right.utf8)
    default: false
    }
}

/// Maps identifiers of one kind to dense `Int32` indices, in the order they were first seen.
///
/// Hosts often number members, orders and events with database keys that are small and dense;
/// such an integer id is looked up in a flat array indexed by the id itself (one load, no hash,
/// no comparison). The array covers `0..<direct.count` and grows only while it stays within a
/// small multiple of the ids held, so sparse or huge ids (and every string id) go to the hash
/// index instead. An integer in the array's range is always in the array, never in the index.
struct IdentifierTable<Kind>: Sendable {
    /// The identifiers, by index.
    private(set) var ids = SegmentedArray<Identifier<Kind>>()
    private var index = HashIndex()
    /// Per integer id below `direct.count`: its index + 1, or 0.
    private var direct: [Int32] = []

    init() {}

    var count: Int { self.ids.count }

    subscript(position: Int32) -> Identifier<Kind> { self.ids[Int(position)] }

    /// The index of `id`, or `nil`.
    @inline(__always)
    func find(_ id: Identifier<Kind>) -> Int32? {
        if case .integer(let integer) = id.value {
            if integer >= 0, integer < Int64(self.direct.count) {
                let entry = self.direct[Int(integer)]
                return entry == 0 ? nil : entry - 1
            }
            return self.index.find(mixHash(UInt64(bitPattern: integer))) { position in
                if case .integer(let other) = self.ids[Int(position)].value { return other == integer }
                return false
            }
        }
        return self.index.find(mixHash(identifierHash(id))) { sameIdentifier(self.ids[Int($0)], id) }
    }

    /// The index of `id`, adding it as the next index if it is new.
    @inline(__always)
    mutating func intern(_ id: Identifier<Kind>) -> Int32 {
        if let found = self.find(id) { return found }
        return self.append(id)
    }

    /// Adds `id`, which is not in the table, as the next index.
    @discardableResult
    mutating func append(_ id: Identifier<Kind>) -> Int32 {
        let position = Int32(self.ids.count)
        self.ids.append(id)
        if case .integer(let integer) = id.value, integer >= 0 {
            if integer >= Int64(self.direct.count), integer < Int64(2 * self.ids.count + 1_024) {
                self.growDirect(toCover: Int(integer))
            }
            if integer < Int64(self.direct.count) {
                self.direct[Int(integer)] = position + 1
                return position
            }
        }
        self.index.insert(mixHash(identifierHash(id)), position)
        return position
    }

    /// Widens the flat array past `integer`, moving the integer ids it now covers out of the index.
    private mutating func growDirect(toCover integer: Int) {
        let old = self.direct.count
        var size = max(1_024, old)
        while size <= integer { size *= 2 }
        // A filled array appends by copying its bytes; a repeated element, one element at a time.
        self.direct.append(contentsOf: [Int32](repeating: 0, count: size - old))
        // Only ids in the index can move; with dense ids it is empty and there is nothing to scan.
        guard self.index.count > 0 else { return }
        // The id being added is last and not in the index yet.
        for position in 0..<self.ids.count - 1 {
            guard case .integer(let other) = self.ids[position].value, other >= Int64(old), other < Int64(size) else {
                continue
            }
            self.index.remove(mixHash(UInt64(bitPattern: other)), Int32(position))
            self.direct[Int(other)] = Int32(position) + 1
        }
    }

    /// Forgets every identifier from index `count` on (a rollback).
    mutating func removeLast(downTo count: Int) {
        while self.ids.count > count {
            let id = self.ids.removeLast()
            if case .integer(let integer) = id.value, integer >= 0, integer < Int64(self.direct.count) {
                self.direct[Int(integer)] = 0
            } else {
                self.index.remove(mixHash(identifierHash(id)), Int32(self.ids.count))
            }
        }
    }
}

/// Maps 64-bit composite keys to dense `Int32` positions (keys kept in a flat array by position).
struct CompositeTable: Sendable {
    /// The keys, by position.
    private(set) var keys: [UInt64] = []
    private var index = HashIndex()

    init() {}

    var count: Int { self.keys.count }

    @inline(__always)
    func find(_ key: UInt64) -> Int32? {
        self.index.find(mixHash(key)) { self.keys[Int($0)] == key }
    }

    /// Adds `key`, which is not in the table, as the next position.
    @inline(__always)
    @discardableResult
    mutating func append(_ key: UInt64) -> Int32 {
        let position = Int32(self.keys.count)
        self.keys.append(key)
        self.index.insert(mixHash(key), position)
        return position
    }

    mutating func removeLast(downTo count: Int) {
        while self.keys.count > count {
            let key = self.keys.removeLast()
            self.index.remove(mixHash(key), Int32(self.keys.count))
        }
    }
}

/// Which campaigns settled which events: per ledger event index, a chain of (campaign, position)
/// links, newest first.
///
/// Event indices are dense and given out in arrival order, so the event being settled is the
/// newest: recording it appends to both arrays, and a replay of a stream in order reads them in
/// order. A hash of the event index would instead send every record and every lookup to a random
/// slot, a cache miss per event once the table outgrows the cache. An event settled for several
/// campaigns has one link per campaign, usually adjacent.
struct SettledIndex: Sendable {
    struct Link: Sendable {
        let campaign: Int32
        /// The position of the settled record in the campaign's own list.
        let position: Int32
        let next: Int32
    }

    /// Per event index: the newest link, or -1.
    private var heads: [Int32] = []
    private var links: [Link] = []

    init() {}

    /// The position of `event`'s record in `campaign`'s list, or `nil` if that campaign has not settled it.
    @inline(__always)
    func find(_ event: Int32, campaign: Int32) -> Int32? {
        guard event >= 0, Int(event) < self.heads.count else { return nil }
        var link = self.heads[Int(event)]
        while link >= 0 {
            let entry = self.links[Int(link)]
            if entry.campaign == campaign { return entry.position }
            link = entry.next
        }
        return nil
    }

    /// Records that `campaign` settled `event` (not recorded before) as its record `position`.
    @inline(__always)
    mutating func insert(_ event: Int32, campaign: Int32, position: Int32) {
        // Events come in order, so this is usually one append (`append(contentsOf:)` of a repeated
        // element walks a generic path that costs more than the rest of the insert).
        while self.heads.count <= Int(event) { self.heads.append(-1) }
        self.links.append(Link(campaign: campaign, position: position, next: self.heads[Int(event)]))
        self.heads[Int(event)] = Int32(self.links.count - 1)
    }
}
