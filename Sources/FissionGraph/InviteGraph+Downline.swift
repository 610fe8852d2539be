public import FissionCore

extension InviteGraph {
    /// Calls `body` with each member up to `levels` levels below `index`, level by level; within a
    /// level, invitees of the same inviter come newest binding first.
    ///
    /// - Parameters:
    ///   - index: The member whose downline to walk.
    ///   - levels: How many levels, `1...3`.
    ///   - buffer: Scratch memory; reuse it and the walk allocates nothing.
    ///   - body: Receives each member and its level (1 for direct invitees).
    /// - Throws: ``FissionError/Code/invalidDepth`` for `levels` outside `1...3`.
    /// - Precondition: `index` is in `0..<count`.
    /// - Complexity: O(members visited). Inlinable, so that `body` is inlined into the caller's
    ///   loop rather than called once per member; the level-building work stays in the module.
    @inlinable
    public func forEachInvitee(
        of index: MemberIndex,
        upTo levels: Int,
        using buffer: inout TraversalBuffer,
        _ body: (MemberIndex, _ level: Int) -> Void
    ) throws(FissionError) {
        guard levels >= 1 && levels <= Self.maximumDepth else { throw Self.depthError(levels) }
        let root = Int32(self.checked(index))
        buffer.queue.removeAll(keepingCapacity: true)
        buffer.queue.append(root)
        var levelStart = 0
        var levelEnd = 1
        for level in 1...levels {
            let levelSize = self.appendLevel(to: &buffer.queue, frontier: levelStart..<levelEnd)
            if levelSize == 0 { break }
            buffer.queue.withUnsafeBufferPointer { queue in
                for position in levelEnd..<levelEnd + levelSize {
                    body(MemberIndex(rawValue: queue[position]), level)
                }
            }
            levelStart = levelEnd
            levelEnd += levelSize
        }
    }

    /// Appends the invitees of the members in `queue[frontier]` (the level below) and returns how many.
    @usableFromInline
    func appendLevel(to queue: inout [Int32], frontier: Range<Int>) -> Int {
        // The next level's size is the sum of kept direct counts: the queue grows once per level.
        var levelSize = 0
        self.counters.withUnsafeBufferPointer { counters in
            queue.withUnsafeBufferPointer { queue in
                for position in frontier {
                    levelSize &+= Int(counters[Int(queue[position])].direct)
                }
            }
        }
        if levelSize == 0 { return 0 }
        let start = queue.count
        queue.append(contentsOf: repeatElement(-1, count: levelSize))
        self.fillLevel(&queue, frontier: frontier, at: start)
        return levelSize
    }

    /// Writes the invitees of each member in `frontier` into `queue` from `start` on, each inviter's
    /// block newest first. Each block is one contiguous read, and the reads of different inviters
    /// do not depend on one another, so the processor overlaps their cache misses.
    private func fillLevel(_ queue: inout [Int32], frontier: Range<Int>, at start: Int) {
        queue.withUnsafeMutableBufferPointer { queue in
            self.counters.withUnsafeBufferPointer { counters in
                self.inviteeBlocks.slots.withUnsafeBufferPointer { slots in
                    var write = start
                    for position in frontier {
                        let entry = counters[Int(queue[position])]
                        if entry.direct == 1 {
                            // The one invitee sits in the entry itself.
                            queue[write] = entry.inviteeBlock
                            write += 1
                            continue
                        }
                        var slot = Int(entry.inviteeBlock) + Int(entry.direct)
                        let first = Int(entry.inviteeBlock)
                        while slot > first {
                            slot -= 1
                            queue[write] = slots[slot]
                            write += 1
                        }
                    }
                }
            }
        }
    }

    /// The member's downline per level, up to `levels` levels: element 0 holds the direct invitees.
    ///
    /// - Throws: ``FissionError/Code/unknownMember``, ``FissionError/Code/invalidDepth``.
    /// - Complexity: O(members returned).
    public func invitees(of member: MemberID, perLevelUpTo levels: Int) throws(FissionError) -> [[MemberID]] {
        let index = MemberIndex(rawValue: Int32(try self.requireIndex(member)))
        var buffer = TraversalBuffer()
        var perLevel: [[MemberID]] = Array(repeating: [], count: max(0, min(levels, Self.maximumDepth)))
        try self.forEachInvitee(of: index, upTo: levels, using: &buffer) { invitee, level in
            perLevel[level - 1].append(self.table.id(at: invitee.position))
        }
        return perLevel
    }

    /// Calls `body` with every member below `index`, at any depth, in join order (earliest first).
    ///
    /// Large downlines are found by one pass over the inviter array from `index` on, marking
    /// members whose inviter is marked (an inviter always joined earlier, so one forward pass
    /// suffices); small ones by a breadth-first walk of the child lists, then sorted. The team
    /// size, kept up to date, chooses between them and stops the pass at the last descendant.
    ///
    /// - Parameters:
    ///   - index: The member whose downline to walk.
    ///   - buffer: Scratch memory; reuse it and the walk allocates nothing.
    ///   - body: Receives each member of the downline.
    /// - Precondition: `index` is in `0..<count`.
    /// - Complexity: O(team size) for small downlines, O(last descendant - index) for large ones.
    public func forEachDescendant(
        of index: MemberIndex,
        using buffer: inout TraversalBuffer,
        _ body: (MemberIndex) -> Void
    ) {
        let root = self.checked(index)
        let team = Int(self.counters[root].team)
        guard team > 0 else { return }
        if team * 16 >= self.count - root - 1 {
            self.sweepDescendants(of: root, team: team, marks: &buffer.marks, body)
        } else {
            self.walkDescendants(of: root, team: team, queue: &buffer.queue, body)
        }
    }

    /// Every member below `member`, at any depth, in join order.
    ///
    /// - Throws: ``FissionError/Code/unknownMember``.
    /// - Complexity: O(team size) plus the pass described at ``forEachDescendant(of:using:_:)``.
    public func descendants(of member: MemberID) throws(FissionError) -> [MemberID] {
        let index = MemberIndex(rawValue: Int32(try self.requireIndex(member)))
        var buffer = TraversalBuffer()
        var members: [MemberID] = []
        members.reserveCapacity(Int(self.counters[index.position].team))
        self.forEachDescendant(of: index, using: &buffer) { members.append(self.table.id(at: $0.position)) }
        return members
    }

    private func sweepDescendants(of root: Int, team: Int, marks: inout [UInt64], _ body: (MemberIndex) -> Void) {
        let wordCount = (self.count + 63) >> 6
        if marks.count < wordCount {
            marks.append(contentsOf: repeatElement(0, count: wordCount - marks.count))
        }
        let memberCount = self.count
        self.parent.withUnsafeBufferPointer { parents in
            marks.withUnsafeMutableBufferPointer { marks in
                marks[root >> 6] |= 1 << UInt64(root & 63)
                var remaining = team
                var position = root + 1
                while remaining > 0 && position < memberCount {
                    let inviter = Int(parents[position])
                    if inviter >= root && marks[inviter >> 6] & (1 << UInt64(inviter & 63)) != 0 {
                        marks[position >> 6] |= 1 << UInt64(position & 63)
                        body(MemberIndex(rawValue: Int32(truncatingIfNeeded: position)))
                        remaining -= 1
                    }
                    position += 1
                }
                // Leave the marks clear for the next walk: only the words this pass touched.
                for word in (root >> 6)...((position - 1) >> 6) {
                    marks[word] = 0
                }
            }
        }
    }

    private func walkDescendants(of root: Int, team: Int, queue: inout [Int32], _ body: (MemberIndex) -> Void) {
        queue.removeAll(keepingCapacity: true)
        queue.append(Int32(root))
        var head = 0
        while head < queue.count {
            self.withInvitees(of: Int(queue[head])) { queue.append(contentsOf: $0) }
            head += 1
        }
        queue.withUnsafeMutableBufferPointer { members in
            let downline = UnsafeMutableBufferPointer(rebasing: members[1...])
            heapSort(downline)
            for member in downline {
                body(MemberIndex(rawValue: member))
            }
        }
    }
}
