/// A binary min-heap of pending transfers by the end of their hold, ties by transfer order.
struct HoldQueue: Sendable {
    struct Entry: Sendable {
        let holdUntil: Int64
        let record: Int32

        func precedes(_ other: Entry) -> Bool {
            self.holdUntil < other.holdUntil || (self.holdUntil == other.holdUntil && self.record < other.record)
        }
    }

    private var heap = SegmentedArray<Entry>()

    func peek() -> Entry? { self.heap.first }

    mutating func insert(holdUntil: Int64, record: Int32) {
        self.heap.append(Entry(holdUntil: holdUntil, record: record))
        var child = self.heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard self.heap[child].precedes(self.heap[parent]) else { break }
            self.heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func removeFirst() {
        precondition(!self.heap.isEmpty, "removeFirst on an empty hold queue")
        let last = self.heap.removeLast()
        guard !self.heap.isEmpty else { return }
        self.heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < self.heap.count, self.heap[left].precedes(self.heap[smallest]) { smallest = left }
            if right < self.heap.count, self.heap[right].precedes(self.heap[smallest]) { smallest = right }
            guard smallest != parent else { return }
            self.heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
