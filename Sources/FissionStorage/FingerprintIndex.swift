public import FissionCore
public import FissionRewards

/// A hash index from a key's 64-bit fingerprint to a position (an entry's place in the journal, a
/// transfer's place in its entry) for keys that are stored elsewhere.
///
/// It keeps no keys: a lookup hands each candidate position to the caller, who compares the key
/// stored there, so two keys with one fingerprint are still told apart and a match is exact.
/// Growing moves fingerprints without hashing a key again, which is what makes it cheaper than a
/// `Set` of the keys themselves: `TransferKey` hashes five identifiers through a freshly seeded
/// `Hasher`, and a growing set hashes every key again on each resize.
///
/// Linear probing over a power-of-two table at most three quarters full. There is no removal,
/// only ``undoInsertion(at:)`` of the latest insertions in reverse order, which restores the
/// table exactly (an insertion fills one empty slot); that is all a refused append needs.
@_spi(FissionIndexing) public struct FingerprintIndex: Sendable {
    @usableFromInline
    struct Slot: Sendable {
        @usableFromInline var fingerprint: UInt64
        @usableFromInline var position: UInt64

        @usableFromInline static let empty = Slot(fingerprint: 0, position: .max)

        @usableFromInline
        init(fingerprint: UInt64, position: UInt64) {
            self.fingerprint = fingerprint
            self.position = position
        }
    }

    @usableFromInline var slots: [Slot]
    /// The number of positions stored.
    public var count: Int { self.storedCount }
    @usableFromInline var storedCount = 0

    /// Creates an empty index with room for `capacity` positions before it grows.
    public init(capacity: Int = 0) {
        self.slots = Array(repeating: .empty, count: Self.tableSize(for: capacity))
    }

    /// The position among those stored under `fingerprint` whose key `matches`, or `nil`.
    @inlinable
    public func find(_ fingerprint: UInt64, matching matches: (UInt64) -> Bool) -> UInt64? {
        let mask = self.slots.count - 1
        var slot = Int(truncatingIfNeeded: fingerprint) & mask
        return self.slots.withUnsafeBufferPointer { slots in
            while true {
                let candidate = slots[slot]
                if candidate.position == .max { return nil }
                if candidate.fingerprint == fingerprint && matches(candidate.position) { return candidate.position }
                slot = (slot + 1) & mask
            }
        }
    }

    /// Reads the first slot of each fingerprint, so that inserting or finding them next finds
    /// the slots in the cache.
    ///
    /// In a table bigger than the cache each slot is a miss. Inserting keys one at a time takes
    /// the misses one after another, each behind the work of checking a key; this loop does
    /// nothing else, so the processor has many of them in flight at once. Call it after
    /// ``reserve(_:)``: growing moves the slots. Returns a value made from what it read, which
    /// the caller keeps so the reads are not optimised away.
    public func touch(_ fingerprints: [UInt64]) -> UInt64 {
        let mask = self.slots.count - 1
        return self.slots.withUnsafeBufferPointer { slots in
            var gathered: UInt64 = 0
            for fingerprint in fingerprints {
                gathered &+= slots[Int(truncatingIfNeeded: fingerprint) & mask].position
            }
            return gathered
        }
    }

    /// Stores `position` under `fingerprint` unless a stored position's key `matches`.
    ///
    /// - Returns: The slot used, for ``undoInsertion(at:)``; `nil` if a matching key is stored
    ///   (nothing is inserted).
    /// - Precondition: ``reserve(_:)`` made room for it.
    @inlinable
    public mutating func insert(
        _ fingerprint: UInt64,
        position: UInt64,
        unlessMatching matches: (UInt64) -> Bool
    ) -> Int? {
        precondition(position != .max && self.count < self.slots.count / 4 * 3, "reserve before inserting")
        let mask = self.slots.count - 1
        var slot = Int(truncatingIfNeeded: fingerprint) & mask
        let inserted: Int? = self.slots.withUnsafeMutableBufferPointer { slots in
            while true {
                let candidate = slots[slot]
                if candidate.position == .max {
                    slots[slot] = Slot(fingerprint: fingerprint, position: position)
                    return slot
                }
                if candidate.fingerprint == fingerprint && matches(candidate.position) { return nil }
                slot = (slot + 1) & mask
            }
        }
        if inserted != nil { self.storedCount += 1 }
        return inserted
    }

    /// Empties the slot of the latest insertion not yet undone.
    ///
    /// Undoing insertions from the latest back, with no ``reserve(_:)`` in between, leaves the
    /// table exactly as it was before them.
    public mutating func undoInsertion(at slot: Int) {
        precondition(self.slots[slot].position != .max, "undoing an empty slot")
        self.slots[slot] = .empty
        self.storedCount -= 1
    }

    /// Grows the table, if needed, so `additional` insertions fit without growing in between.
    public mutating func reserve(_ additional: Int) {
        // The common case, room already, without computing a size.
        guard self.count + additional >= self.slots.count / 4 * 3 else { return }
        let needed = Self.tableSize(for: self.count + additional)
        guard needed > self.slots.count else { return }
        var grown = Array(repeating: Slot.empty, count: needed)
        let mask = needed - 1
        for stored in self.slots where stored.position != .max {
            var slot = Int(truncatingIfNeeded: stored.fingerprint) & mask
            while grown[slot].position != .max { slot = (slot + 1) & mask }
            grown[slot] = stored
        }
        self.slots = grown
    }

    /// The smallest power of two of at least 8 slots that holds `count` at three quarters full.
    private static func tableSize(for count: Int) -> Int {
        var size = 8
        while size / 4 * 3 <= count { size *= 2 }
        return size
    }
}

/// Fingerprints for ``FingerprintIndex``: fast, well mixed and seeded per process, so a host
/// cannot pick keys that collide in every run. Not cryptographic; an index never trusts a
/// fingerprint alone, it compares the keys.
@_spi(FissionIndexing) public enum Fingerprint: Sendable {
    /// The per-process seed, from Swift's own hashing seed.
    public static let seed: UInt64 = {
        var hasher = Hasher()
        hasher.combine(0x4669_7373_696F_6E)  // "Fission"
        return UInt64(UInt(bitPattern: hasher.finalize()))
    }()

    /// An identifier's fingerprint; an integer and a string id never share one by construction.
    @inlinable
    public static func of<Kind>(_ identifier: Identifier<Kind>, seed: UInt64) -> UInt64 {
        Self.finish(Self.combine(seed, identifier))
    }

    /// A transfer key's fingerprint, over all six of its parts.
    public static func of(_ key: TransferKey, seed: UInt64) -> UInt64 {
        var state = Self.mix(seed, UInt64(key.operation.rawValue) | UInt64(UInt32(bitPattern: key.part)) << 8)
        state = Self.combine(state, key.campaign)
        state = key.rule.map { Self.combine(state, $0) } ?? Self.mix(state, 2)
        state = key.beneficiary.map { Self.combine(state, $0) } ?? Self.mix(state, 2)
        state = Self.combine(state, key.source)
        return Self.finish(state)
    }

    /// The fingerprint of a tag and a run of bytes (an encoded transfer key and its presence bits).
    static func of(tag: UInt8, bytes raw: UnsafeRawBufferPointer, seed: UInt64) -> UInt64 {
        Self.finish(Self.mix(Self.mix(seed, UInt64(tag) | UInt64(raw.count) << 8), bytes: raw))
    }

    @inlinable
    static func combine<Kind>(_ state: UInt64, _ identifier: Identifier<Kind>) -> UInt64 {
        switch identifier.value {
        case .integer(let integer):
            return Self.mix(Self.mix(state, 0), UInt64(bitPattern: integer))
        case .string(var string):
            return string.withUTF8 { bytes in
                Self.mix(Self.mix(state, 1 | UInt64(bytes.count) << 8), bytes: UnsafeRawBufferPointer(bytes))
            }
        }
    }

    /// Bytes into the state, eight at a time, the last few as one word.
    @inlinable
    static func mix(_ state: UInt64, bytes raw: UnsafeRawBufferPointer) -> UInt64 {
        var state = state
        var offset = 0
        while offset + 8 <= raw.count {
            state = Self.mix(state, UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
            offset += 8
        }
        if offset < raw.count {
            var tail: UInt64 = 0
            for (shift, byte) in raw[offset...].enumerated() { tail |= UInt64(byte) << (shift * 8) }
            state = Self.mix(state, tail)
        }
        return state
    }

    /// One word into the state: a multiply and a rotation, so every input bit reaches every bit.
    @inlinable
    static func mix(_ state: UInt64, _ word: UInt64) -> UInt64 {
        let multiplied = (state ^ word) &* 0x9E37_79B9_7F4A_7C15
        return (multiplied << 27 | multiplied >> 37) &* 0xBF58_476D_1CE4_E5B9
    }

    /// MurmurHash3's 64-bit finaliser: the low bits, which pick the slot, depend on all of the state.
    @inlinable
    static func finish(_ state: UInt64) -> UInt64 {
        var value = state
        value ^= value >> 33
        value &*= 0xFF51_AFD7_ED55_8CCD
        value ^= value >> 33
        value &*= 0xC4CE_B9FE_1A85_EC53
        value ^= value >> 33
        return value
    }
}
