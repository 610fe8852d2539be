/// Every member's current invitees, each member's side by side, in one arena.
///
/// With `count` = `counters[m].direct` and `field` = `counters[m].inviteeBlock`: no invitees, the
/// field is -1; one invitee, the field *is* that invitee (no block: about a sixth of all members
/// have exactly one, and the first invitee of a member then costs no arena access); two or more,
/// the invitees, oldest binding first, are `slots[field..<field + count]`, in a block whose
/// capacity is always the power of two at or above the count. A block that fills moves to one twice
/// its size (amortized O(1) per invitee), one that drops to a power of two moves to one half its
/// size, and a block that moves out waits on a free list of its size for the next member that
/// needs one. So a member's invitees stay contiguous under inserts and rebindings, a per-level walk
/// reads them as one stretch of memory instead of chasing a linked list, and nothing is allocated
/// per member (Decision 0006).
struct InviteeBlocks: Sendable {
    /// The arena of blocks; a free block's first slot holds the start of the next free block of its size.
    private(set) var slots: [Int32] = []
    /// How much of `slots` blocks have taken; the rest is room to allocate from without appending.
    private(set) var usedCount = 0
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

    /// Sizes an empty arena to exactly `count` slots, for blocks allocated next (a restore).
    mutating func reserveExactly(_ count: Int) {
        precondition(self.usedCount == 0 && count <= Int(Int32.max), "the arena is in use or too large")
        self.slots = Array(repeating: -1, count: count)
    }

    /// A block of `1 << sizeClass` slots, taken from the free list or from the end of the arena.
    mutating func allocate(sizeClass: Int) -> Int {
        let free = self.freeBlocks[sizeClass]
        if free >= 0 {
            self.freeBlocks[sizeClass] = self.slots[Int(free)]
            return Int(free)
        }
        let start = self.usedCount
        let size = 1 << sizeClass
        precondition(start + size <= Int(Int32.max), "the invitee arena is full")
        if start + size > self.slots.count {
            // The arena doubles, rather than grow by each small block: an append costs about a
            // hundred instructions, as much as the rest of an insert's block work.
            let growth = min(max(size, self.slots.count, 64), Int(Int32.max) - self.slots.count)
            self.slots.append(contentsOf: repeatElement(-1, count: growth))
        }
        self.usedCount = start + size
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

    /// Appends `member` after a member's `count` current invitees, whose block field (the start of
    /// their block, or with one invitee that invitee) is `field`, and returns the field's new value.
    /// The caller stores it and raises the direct count: this touches only the arena.
    @inline(__always)
    mutating func append(_ member: Int32, afterCount count: Int, field: Int32) -> Int32 {
        if count == 0 { return member }
        var start = Int(field)
        if count & (count &- 1) == 0 {
            // A power of two: the block is full (or the one invitee is inline), so it moves to one
            // twice the size.
            start = self.grow(from: start, count: count)
        }
        self.set(start + count, to: member)
        return Int32(truncatingIfNeeded: start)
    }

    /// Moves a full block of `count` invitees at `start` (with one invitee, `start` is that
    /// invitee) to a new block twice the size, and returns the new block's start.
    private mutating func grow(from start: Int, count: Int) -> Int {
        let target = self.allocate(sizeClass: Self.sizeClass(of: count) + 1)
        if count == 1 {
            self.set(target, to: Int32(truncatingIfNeeded: start))
        } else {
            self.copy(from: start, to: target, count: count)
            self.free(start: start, sizeClass: Self.sizeClass(of: count))
        }
        return target
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
    mutating func appendInvitee(_ member: Int32, to inviter: Int) {
        let entry = self.counters[inviter]
        self.counters[inviter].inviteeBlock = self.inviteeBlocks.append(
            member,
            afterCount: Int(entry.direct),
            field: entry.inviteeBlock
        )
    }

    /// Removes `member` from `inviter`'s invitees, keeping the order of the others; the caller then
    /// lowers the direct count. O(the inviter's direct count).
    mutating func removeInvitee(_ member: Int32, from inviter: Int) {
        let count = Int(self.counters[inviter].direct)
        let field = self.counters[inviter].inviteeBlock
        if count == 1 {
            precondition(field == member, "an invitee is missing from its inviter")
            self.counters[inviter].inviteeBlock = -1
            return
        }
        let start = Int(field)
        self.inviteeBlocks.remove(member, start: start, count: count)
        let remaining = count - 1
        if remaining == 1 {
            // Back to one: the invitee goes inline.
            self.counters[inviter].inviteeBlock = self.inviteeBlocks.slots[start]
            self.inviteeBlocks.free(start: start, sizeClass: 1)
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

    /// Calls `body` with the member's current invitees, oldest binding first.
    @inline(__always)
    func withInvitees<Result>(of member: Int, _ body: (UnsafeBufferPointer<Int32>) -> Result) -> Result {
        let entry = self.counters[member]
        switch entry.direct {
        case 0:
            return body(UnsafeBufferPointer(start: nil, count: 0))
        case 1:
            return withUnsafePointer(to: entry.inviteeBlock) { body(UnsafeBufferPointer(start: $0, count: 1)) }
        default:
            return self.inviteeBlocks.slots.withUnsafeBufferPointer { slots in
                body(
                    UnsafeBufferPointer(
                        rebasing: slots[Int(entry.inviteeBlock)..<Int(entry.inviteeBlock + entry.direct)]
                    )
                )
            }
        }
    }

    /// Per member, the newest invitee, and per invitee the next older one (-1 ends a list): the
    /// linked-list form the snapshot format stores.
    func inviteeLists() -> (first: [Int32], next: [Int32]) {
        var first = [Int32](repeating: -1, count: self.count)
        var next = [Int32](repeating: -1, count: self.count)
        for member in 0..<self.count where self.counters[member].direct > 0 {
            self.withInvitees(of: member) { invitees in
                first[member] = invitees[invitees.count - 1]
                for position in invitees.indices.dropFirst() {
                    next[Int(invitees[position])] = invitees[position - 1]
                }
            }
        }
        return (first, next)
    }

    /// Builds the blocks from the linked-list form, compactly in member order; `counters` must hold
    /// the direct counts and no blocks yet.
    mutating func rebuildInviteeBlocks(first: [Int32], next: [Int32]) {
        self.inviteeBlocks = InviteeBlocks()
        var arenaSize = 0
        for member in 0..<self.count where self.counters[member].direct > 1 {
            arenaSize += 1 << InviteeBlocks.sizeClass(of: Int(self.counters[member].direct))
        }
        self.inviteeBlocks.reserveExactly(arenaSize)
        for member in 0..<self.count {
            let count = Int(self.counters[member].direct)
            if count == 1 { self.counters[member].inviteeBlock = first[member] }
            guard count > 1 else { continue }
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
            let same = self.withInvitees(of: member) { mine in
                other.withInvitees(of: member) { theirs in mine.elementsEqual(theirs) }
            }
            guard same else { return false }
        }
        return true
    }
}
