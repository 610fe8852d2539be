/// Reusable scratch memory for traversals and leaderboards.
///
/// A downline or a leaderboard needs working memory proportional to what it visits. Rather than
/// allocate it on every call, the graph borrows it from a buffer the caller keeps: once the buffer
/// has grown to fit, the same query runs again without allocating at all. A buffer is not tied to
/// one graph; use one per thread.
public struct TraversalBuffer: Sendable {
    /// The breadth-first queue (member indices).
    @usableFromInline var queue: [Int32] = []
    /// One bit per member: marks members already known to be in the downline.
    var marks: [UInt64] = []
    /// A min-heap of packed leaderboard keys: `count << 32 | (UInt32.max - index)`.
    var heap: [UInt64] = []

    /// Creates an empty buffer; it grows on first use.
    public init() {}
}

/// Sorts `elements` ascending in place: heapsort, so it needs no extra memory and no recursion.
func heapSort<Element: Comparable>(_ elements: UnsafeMutableBufferPointer<Element>) {
    let count = elements.count
    guard count > 1 else { return }
    var start = count / 2
    while start > 0 {
        start -= 1
        siftDownMax(elements, from: start, count: count)
    }
    var end = count - 1
    while end > 0 {
        elements.swapAt(0, end)
        siftDownMax(elements, from: 0, count: end)
        end -= 1
    }
}

private func siftDownMax<Element: Comparable>(
    _ elements: UnsafeMutableBufferPointer<Element>,
    from start: Int,
    count: Int
) {
    var root = start
    while true {
        let left = 2 * root + 1
        if left >= count { return }
        var largest = root
        if elements[left] > elements[largest] { largest = left }
        if left + 1 < count && elements[left + 1] > elements[largest] { largest = left + 1 }
        if largest == root { return }
        elements.swapAt(root, largest)
        root = largest
    }
}

/// Restores the min-heap property downwards from `start`.
func siftDownMin(_ heap: UnsafeMutableBufferPointer<UInt64>, from start: Int, count: Int) {
    var root = start
    while true {
        let left = 2 * root + 1
        if left >= count { return }
        var smallest = root
        if heap[left] < heap[smallest] { smallest = left }
        if left + 1 < count && heap[left + 1] < heap[smallest] { smallest = left + 1 }
        if smallest == root { return }
        heap.swapAt(root, smallest)
        root = smallest
    }
}

/// Restores the min-heap property upwards from `position`.
func siftUpMin(_ heap: UnsafeMutableBufferPointer<UInt64>, from position: Int) {
    var child = position
    while child > 0 {
        let parent = (child - 1) / 2
        if heap[parent] <= heap[child] { return }
        heap.swapAt(parent, child)
        child = parent
    }
}
