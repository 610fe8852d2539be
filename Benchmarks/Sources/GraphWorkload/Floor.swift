/// The raw-array floor: the same work as the graph, written as plain loops over preallocated
/// arrays, with no id map, no checks and no abstraction. Ours is measured against it.
public struct FloorForest {
    public var parent: [Int32]
    public var firstChild: [Int32]
    public var nextSibling: [Int32]
    public var direct: [Int32]
    public var secondLevel: [Int32]
    public var team: [Int32]
    /// A compressed-sparse-row child index (built after the fact, which a growing graph cannot do
    /// cheaply): the children of `m` are `children[offsets[m]..<offsets[m + 1]]`.
    public var offsets: [Int32] = []
    public var children: [Int32] = []

    /// Empty arrays with room for `capacity` members.
    public init(capacity: Int) {
        self.parent = []
        self.firstChild = []
        self.nextSibling = []
        self.direct = []
        self.secondLevel = []
        self.team = []
        self.parent.reserveCapacity(capacity)
        self.firstChild.reserveCapacity(capacity)
        self.nextSibling.reserveCapacity(capacity)
        self.direct.reserveCapacity(capacity)
        self.secondLevel.reserveCapacity(capacity)
        self.team.reserveCapacity(capacity)
    }

    /// Insert one member: link it under its inviter and bring direct, second-level and team counts up to date.
    @inline(__always)
    public mutating func insert(inviter: Int32) {
        let member = Int32(self.parent.count)
        self.parent.append(inviter)
        self.firstChild.append(-1)
        self.direct.append(0)
        self.secondLevel.append(0)
        self.team.append(0)
        if inviter < 0 {
            self.nextSibling.append(-1)
            return
        }
        let inviterPosition = Int(inviter)
        self.nextSibling.append(self.firstChild[inviterPosition])
        self.firstChild[inviterPosition] = member
        self.direct[inviterPosition] &+= 1
        let grandparent = self.parent[inviterPosition]
        if grandparent >= 0 { self.secondLevel[Int(grandparent)] &+= 1 }
        var ancestor = inviter
        while ancestor >= 0 {
            self.team[Int(ancestor)] &+= 1
            ancestor = self.parent[Int(ancestor)]
        }
    }

    /// The whole insert loop inside this module, so the kernel is inlined into it: no call per
    /// member. fission-compare's `floor` line calls ``insert(inviter:)`` once per member from
    /// another module, as a host calls the graph; this is the floor without that call, a diagnostic.
    public static func build(_ parents: [Int32]) -> FloorForest {
        var forest = FloorForest(capacity: parents.count)
        for inviter in parents {
            forest.insert(inviter: inviter)
        }
        return forest
    }

    /// Builds the CSR child index (counting sort by inviter).
    public mutating func buildChildIndex() {
        let count = self.parent.count
        var offsets = [Int32](repeating: 0, count: count + 1)
        for member in 0..<count where self.parent[member] >= 0 {
            offsets[Int(self.parent[member]) + 1] += 1
        }
        for position in 0..<count {
            offsets[position + 1] += offsets[position]
        }
        var cursor = offsets
        var children = [Int32](repeating: 0, count: max(Int(offsets[count]), 0))
        for member in 0..<count where self.parent[member] >= 0 {
            let inviter = Int(self.parent[member])
            children[Int(cursor[inviter])] = Int32(member)
            cursor[inviter] += 1
        }
        self.offsets = offsets
        self.children = children
    }

    /// Sum of ancestors up to `levels` for each query: two or three array reads.
    public func ancestorChecksum(_ queries: [Int32], levels: Int) -> Int {
        var checksum = 0
        for query in queries {
            var ancestor = self.parent[Int(query)]
            var level = 0
            while ancestor >= 0 && level < levels {
                checksum &+= Int(ancestor)
                ancestor = self.parent[Int(ancestor)]
                level += 1
            }
        }
        return checksum
    }

    /// Breadth-first over the CSR index, `levels` deep (Int.max for the whole downline), into `queue`.
    public func downline(of root: Int32, levels: Int, queue: inout [Int32]) -> Int {
        queue.removeAll(keepingCapacity: true)
        queue.append(root)
        var levelStart = 0
        var levelEnd = 1
        var level = 0
        while level < levels && levelStart < levelEnd {
            for position in levelStart..<levelEnd {
                let member = Int(queue[position])
                var child = Int(self.offsets[member])
                let end = Int(self.offsets[member + 1])
                while child < end {
                    queue.append(self.children[child])
                    child += 1
                }
            }
            levelStart = levelEnd
            levelEnd = queue.count
            level += 1
        }
        return queue.count - 1
    }

    /// Top `limit` by direct count (ties: lower index), via a bounded selection into `heap`.
    public func top(_ limit: Int, heap: inout [UInt64]) -> UInt64 {
        heap.removeAll(keepingCapacity: true)
        for (member, count) in self.direct.enumerated() where count > 0 {
            let key = UInt64(UInt32(bitPattern: count)) << 32 | UInt64(UInt32.max - UInt32(member))
            if heap.count < limit {
                heap.append(key)
                var child = heap.count - 1
                while child > 0 && heap[(child - 1) / 2] > heap[child] {
                    heap.swapAt(child, (child - 1) / 2)
                    child = (child - 1) / 2
                }
            } else if key > heap[0] {
                heap[0] = key
                var root = 0
                while true {
                    let left = 2 * root + 1
                    if left >= heap.count { break }
                    var smallest = root
                    if heap[left] < heap[smallest] { smallest = left }
                    if left + 1 < heap.count && heap[left + 1] < heap[smallest] { smallest = left + 1 }
                    if smallest == root { break }
                    heap.swapAt(root, smallest)
                    root = smallest
                }
            }
        }
        heap.sort(by: >)
        return heap.first ?? 0
    }
}
