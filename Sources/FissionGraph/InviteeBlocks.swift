/// Every member's current invitees, each member's side by side, in one arena.
///
/// Member `m`'s invitees, oldest binding first, are `slots[start..<start + count]`, where `start` is
/// `counters[m].inviteeBlock` and `count` is `counters[m].direct`; the block's capacity is always the
/// power of two at or above the count (none for 0). A block that fills moves to one twice its size
/// (amortized O(1) per invitee), one that drops to a power of two moves to one half its size, and
/// a block that moves out is kept on a free list of its size for the next member that needs one.
/// So a member's invitees stay contiguous under inserts and rebindings, a per-level walk reads
/// them as one stretch of memory instead of chasing a linked list, and nothing is allocated per
/// member (Decision 0006).
struct InviteeBlocks: Sendable {
    /// The arena of blocks; a free block's first slot holds the start of the next free block of its size.
    private(set) var slots: [Int32] = []
    /// Per size class (the log2 of a block's capacity), the start of the first free block, -1 for none.
    private var freeBlocks: [Int32] = Array(repeating: -1, count: 32)

    init() {}

    /// The size class of a block holding `count` (at least 1) invitees: log2 of the power of two at or above it.
    @inline(__always)
    static func sizeClass(of count: Int) -> Int {
        Int.bitWidth - (count - 1).leadingZeroBitCount
    }

    var allocatedBytes: Int { self.slots.capacity * 4 + self.freeBlocks.capacity * 4 }

    mutating func reserveCapacity(_ capacity: Int) {
        self.slots.reserveCapacity(capacity)
    }

    /// A block of `1 << sizeClass` slots, taken from the free list or from the end of the arena.
    mutating func allocate(sizeClass: Int) -> Int {
        let free = self.freeBlocks[sizeClass]
        if free >= 0 {
            self.freeBlocks[sizeClass] = self.slots[Int(free)]
            return Int(free)
        }
        let start = self.slots.count
        precondition(start + (1 << sizeClass) <= Int(Int32.max), "the invitee arena is full")
        self.slots.append(contentsOf: repeatElement(-1, count: 1 << sizeClass))
        return start
    }

    /// Returns a block to its free list.
    mutating func free(start: Int, sizeClass: Int) {
        self.slots[start] = self.freeBlocks[sizeClass]
        self.freeBlocks[sizeClass] = Int32(truncatingIfNeeded: start)
    }

    /// Copies `count` slots from the block at `source` to the (distinct) block at `target`. A plain
    /// loop: most blocks that move hold 1 to 8 invitees, for which a call to memmove costs more.
    mutating func copy(from source: Int, to target: Int, count: Int) {
        self.slots.withUnsafeMutableBufferPointer { slots in
            for offset in 0..<count {
                slots[target + offset] = slots[source + offset]
            }
        }
    }

    /// Sets one slot.
    @inline(__always)
    mutating func set(_ slot: Int, to member: Int32) {
        self.slots[slot] = member
    }

    /// Removes `member` from the `count` invitees at `start`, keeping the others in order.
    mutating func remove(_ member: Int32, start: Int, count: Int) {
        self.slots.withUnsafeMutableBufferPointer { slots in
            var position = start
            while slots[position] != member {
                position += 1
                precondition(position < start + count, "an invitee is missing from its inviter's block")
            }
            while position + 1 < start + count {
                slots[position] = slots[position + 1]
                position += 1
            }
            slots[position] = -1
        }
    }
}

extension InviteGraph {
    /// Appends `member` to `inviter`'s invitees (the newest last); the caller then raises the direct count.
    @inline(__always)
    mutating func appendInvitee(_ member: Int32, to inviter: Int) {
        let count = Int(self.counters[inviter].direct)
        var start = Int(self.counters[inviter].inviteeBlock)
        if count & (count &- 1) == 0 {
            // 0 or a power of two: the block is full (or there is none), so it moves to one twice the size.
            start = self.growInviteeBlock(of: inviter, from: start, count: count)
        }
        self.inviteeBlocks.set(start + count, to: member)
    }

    private mutating func growInviteeBlock(of inviter: Int, from start: Int, count: Int) -> Int {
        let target = self.inviteeBlocks.allocate(sizeClass: count == 0 ? 0 : InviteeBlocks.sizeClass(of: count) + 1)
        if count > 0 {
            self.inviteeBlocks.copy(from: start, to: target, count: count)
            self.inviteeBlocks.free(start: start, sizeClass: InviteeBlocks.sizeClass(of: count))
        }
        self.counters[inviter].inviteeBlock = Int32(truncatingIfNeeded: target)
        return target
    }

    /// Removes `member` from `inviter`'s invitees, keeping the order of the others; the caller then
    /// lowers the direct count. O(the inviter's direct count).
    mutating func removeInvitee(_ member: Int32, from inviter: Int) {
        let count = Int(self.counters[inviter].direct)
        let start = Int(self.counters[inviter].inviteeBlock)
        self.inviteeBlocks.remove(member, start: start, count: count)
        let remaining = count - 1
        if remaining == 0 {
            self.inviteeBlocks.free(start: start, sizeClass: 0)
            self.counters[inviter].inviteeBlock = -1
        } else if remaining & (remaining - 1) == 0 {
            // Down to a power of two: move to a block of exactly that size, so the capacity stays
            // the power of two at or above the count.
            let sizeClass = InviteeBlocks.sizeClass(of: remaining)
            let target = self.inviteeBlocks.allocate(sizeClass: sizeClass)
            self.inviteeBlocks.copy(from: start, to: target, count: remaining)
            self.inviteeBlocks.free(start: start, sizeClass: sizeClass + 1)
            self.counters[inviter].inviteeBlock = Int32(truncatingIfNeeded: target)
        }
    }

    /// The member's current invitees, oldest binding first, as a range of `inviteeBlocks.slots`.
    @inline(__always)
    func inviteeRange(of member: Int) -> Range<Int> {
        let start = Int(self.counters[member].inviteeBlock)
        return start..<start + Int(self.counters[member].direct)
    }

    /// Per member, the newest invitee, and per invitee the next older one (-1 ends a list): the
    /// linked-list form the snapshot format stores.
    func inviteeLists() -> (first: [Int32], next: [Int32]) {
        var first = [Int32](repeating: -1, count: self.count)
        var next = [Int32](repeating: -1, count: self.count)
        self.inviteeBlocks.slots.withUnsafeBufferPointer { slots in
            for member in 0..<self.count where self.counters[member].direct > 0 {
                let range = self.inviteeRange(of: member)
                first[member] = slots[range.upperBound - 1]
                for slot in range.dropFirst() {
                    next[Int(slots[slot])] = slots[slot - 1]
                }
            }
        }
        return (first, next)
    }

    /// Builds the blocks from the linked-list form, compactly in member order; `counters` must hold
    /// the direct counts and no blocks yet.
    mutating func rebuildInviteeBlocks(first: [Int32], next: [Int32]) {
        self.inviteeBlocks = InviteeBlocks()
        for member in 0..<self.count {
            let count = Int(self.counters[member].direct)
            guard count > 0 else { continue }
            let start = self.inviteeBlocks.allocate(sizeClass: InviteeBlocks.sizeClass(of: count))
            self.counters[member].inviteeBlock = Int32(truncatingIfNeeded: start)
            // The list runs newest first; the block runs oldest first.
            var slot = start + count - 1
            var child = first[member]
            while child >= 0 {
                self.inviteeBlocks.set(slot, to: child)
                slot -= 1
                child = next[Int(child)]
            }
        }
    }

    /// Whether the two graphs' members have the same invitees in the same order (the arena's layout aside).
    func sameInvitees(as other: InviteGraph) -> Bool {
        guard self.count == other.count else { return false }
        for member in 0..<self.count {
            let mine = self.inviteeRange(of: member)
            let theirs = other.inviteeRange(of: member)
            guard mine.count == theirs.count else { return false }
            guard !mine.isEmpty else { continue }
            guard self.inviteeBlocks.slots[mine].elementsEqual(other.inviteeBlocks.slots[theirs]) else { return false }
        }
        return true
    }
}
