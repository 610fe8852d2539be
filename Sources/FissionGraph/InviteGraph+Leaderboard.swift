public import FissionCore

extension InviteGraph {
    /// Calls `body` with the `limit` members ranked highest by `kind`, best first.
    ///
    /// Ranking: a higher count first; among equal counts, the member the graph reached earlier
    /// (the lower join order) first. Members with a count of 0 are not ranked, so fewer than
    /// `limit` rows may come back. A rank is the row's position, 1, 2, 3 and so on: members
    /// with equal counts get different ranks, the earlier member the better one.
    ///
    /// - Parameters:
    ///   - limit: How many rows, `1...maximumLeaderboardSize`.
    ///   - kind: The count to rank by.
    ///   - buffer: Scratch memory; reuse it and the query allocates nothing.
    ///   - body: Receives the rank (the row's position, 1 for the top), the member and the count.
    /// - Throws: ``FissionError/Code/invalidLimit`` for `limit` outside its range.
    /// - Complexity: O(count × log(limit)) for the kept counts; `.campaign` is O(bindings in
    ///   campaigns) and `.boundDuring` O(count + bound members).
    public func forEachTopInviter(
        limit: Int,
        by kind: InviteCountKind,
        using buffer: inout TraversalBuffer,
        _ body: (_ rank: Int, MemberIndex, _ count: Int) -> Void
    ) throws(FissionError) {
        guard limit >= 1 && limit <= Self.maximumLeaderboardSize else {
            throw FissionError(
                code: .invalidLimit,
                reason: "a leaderboard of \(limit) rows is outside 1...\(Self.maximumLeaderboardSize)"
            )
        }
        if buffer.heap.count < limit {
            buffer.heap.append(contentsOf: repeatElement(0, count: limit - buffer.heap.count))
        }
        let kept = buffer.heap.withUnsafeMutableBufferPointer { heap in
            var ranking = Ranking(heap: UnsafeMutableBufferPointer(rebasing: heap[0..<limit]))
            switch kind {
            case .direct: self.counters.withUnsafeBufferPointer { ranking.offer(all: $0) { $0.direct } }
            case .secondLevel: self.counters.withUnsafeBufferPointer { ranking.offer(all: $0) { $0.secondLevel } }
            case .team: self.counters.withUnsafeBufferPointer { ranking.offer(all: $0) { $0.team } }
            case .campaign(let campaign):
                if let slot = self.campaignSlots[campaign] {
                    for (key, count) in self.campaignInviteCounts where key >> 32 == UInt64(UInt32(bitPattern: slot)) {
                        ranking.offer(member: Int32(truncatingIfNeeded: key), count: count)
                    }
                }
            case .boundDuring(let window):
                for inviter in 0..<self.count where self.counters[inviter].direct > 0 {
                    let count = self.countInvitees(of: Int32(inviter), boundDuring: window)
                    ranking.offer(member: Int32(inviter), count: Int32(count))
                }
            }
            let kept = ranking.count
            // Sorting the min-heap ascending puts the best key first once reversed; sort keys descending.
            heapSort(UnsafeMutableBufferPointer(rebasing: heap[0..<kept]))
            return kept
        }
        var rank = 1
        var position = kept - 1
        while position >= 0 {
            let key = buffer.heap[position]
            body(
                rank,
                MemberIndex(rawValue: Int32(bitPattern: UInt32.max - UInt32(truncatingIfNeeded: key))),
                Int(key >> 32)
            )
            rank += 1
            position -= 1
        }
    }

    /// The `limit` members ranked highest by `kind`, best first (see ``forEachTopInviter(limit:by:using:_:)``
    /// for the ranking and its tie-break).
    ///
    /// - Throws: ``FissionError/Code/invalidLimit``.
    public func topInviters(limit: Int, by kind: InviteCountKind) throws(FissionError) -> [LeaderboardEntry] {
        var buffer = TraversalBuffer()
        var entries: [LeaderboardEntry] = []
        try self.forEachTopInviter(limit: limit, by: kind, using: &buffer) { _, index, count in
            entries.append(LeaderboardEntry(member: self.table.id(at: index.position), index: index, count: count))
        }
        return entries
    }
}

/// A bounded min-heap of packed keys: the root is the worst row kept, so a better candidate
/// replaces it in O(log limit) and a worse one costs a single comparison.
private struct Ranking {
    let heap: UnsafeMutableBufferPointer<UInt64>
    var count = 0

    init(heap: UnsafeMutableBufferPointer<UInt64>) {
        self.heap = heap
    }

    /// A higher count ranks first; for equal counts the lower index does, so it gets the larger key.
    private static func key(member: Int32, count: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: count)) << 32 | UInt64(UInt32.max - UInt32(bitPattern: member))
    }

    mutating func offer(member: Int32, count: Int32) {
        guard count > 0 else { return }
        let key = Self.key(member: member, count: count)
        if self.count < self.heap.count {
            self.heap[self.count] = key
            siftUpMin(self.heap, from: self.count)
            self.count += 1
        } else if key > self.heap[0] {
            self.heap[0] = key
            siftDownMin(self.heap, from: 0, count: self.count)
        }
    }

    /// Always inlined, so that `field` becomes a plain load in the loop.
    @inline(__always)
    mutating func offer(all counters: UnsafeBufferPointer<Counters>, _ field: (Counters) -> Int32) {
        var position = 0
        // Until the heap is full every positive count goes in.
        while position < counters.count && self.count < self.heap.count {
            self.offer(member: Int32(truncatingIfNeeded: position), count: field(counters[position]))
            position += 1
        }
        guard self.count > 0 else { return }
        // Then a count can only enter if it is at least the worst kept row's count (an equal count
        // loses the tie-break to the earlier member already kept, and `offer` says so): the common
        // case is one load and one comparison against a local, which keeps the scan at the speed
        // of memory.
        var least = Int32(truncatingIfNeeded: self.heap[0] >> 32)
        while position < counters.count {
            let count = field(counters[position])
            if count > least {
                self.offer(member: Int32(truncatingIfNeeded: position), count: count)
                least = Int32(truncatingIfNeeded: self.heap[0] >> 32)
            }
            position += 1
        }
    }
}
