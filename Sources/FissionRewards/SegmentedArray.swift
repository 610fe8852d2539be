/// An append-mostly array kept in fixed-size segments: growing it never copies what it holds.
///
/// A Swift `Array` grows by doubling: it allocates twice the room, copies every element across
/// and frees the old buffer. For the settlement's logs (ledger records, order grants, settled
/// events, id tables), which reach hundreds of megabytes, that means each element is copied about
/// once more and its memory is faulted in about twice, because a large freed buffer goes back to
/// the kernel and the next one comes fresh from it. On this project's machine a page fault costs
/// from under one to several microseconds, so growth was about half of settling a paid order
/// (Decision 0015). Here the first segment grows like an array up to `segmentCapacity` elements
/// (so a small ledger stays small); after that every segment is allocated once, at full size,
/// and never moved.
///
/// A value type with copy-on-write, like `Array`: copies share segments until one of them is
/// written.
struct SegmentedArray<Element> {
    /// Owns the segments and the table of them, and frees them with the elements they hold.
    ///
    /// The array reads and writes through its own copies of the table pointer and counts, so the
    /// hot paths touch no class property (each such access pays a dynamic exclusivity check);
    /// these fields change only when a segment is added, moved or freed. The element count the
    /// deinitializer needs lives behind `countBox`, written through a pointer for the same reason.
    ///
    /// `@unchecked Sendable`: the memory is only ever written while the storage is uniquely
    /// referenced (the copy-on-write check in every mutating path), as `Array`'s own buffer is.
    private final class Storage: @unchecked Sendable {
        var table: UnsafeMutablePointer<UnsafeMutablePointer<Element>>
        var tableCapacity: Int
        /// How many segments are allocated.
        var segmentCount = 0
        /// How many elements the segments hold, in order.
        let countBox: UnsafeMutablePointer<Int>

        init(tableCapacity: Int) {
            self.tableCapacity = Swift.max(4, tableCapacity)
            self.table = .allocate(capacity: self.tableCapacity)
            self.countBox = .allocate(capacity: 1)
            self.countBox.initialize(to: 0)
        }

        deinit {
            var remaining = self.countBox.pointee
            for index in 0..<self.segmentCount {
                let held = Swift.min(remaining, SegmentedArray.segmentCapacity)
                self.table[index].deinitialize(count: held)
                remaining -= held
                self.table[index].deallocate()
            }
            self.table.deallocate()
            self.countBox.deallocate()
        }

        /// Appends a segment pointer, growing the table when full.
        func add(_ segment: UnsafeMutablePointer<Element>) {
            if self.segmentCount == self.tableCapacity {
                let grown = UnsafeMutablePointer<UnsafeMutablePointer<Element>>
                    .allocate(capacity: self.tableCapacity * 2)
                grown.moveInitialize(from: self.table, count: self.segmentCount)
                self.table.deallocate()
                self.table = grown
                self.tableCapacity *= 2
            }
            (self.table + self.segmentCount).initialize(to: segment)
            self.segmentCount += 1
        }

        /// Frees the last segment, which holds no element.
        func removeLastSegment() {
            self.segmentCount -= 1
            self.table[self.segmentCount].deallocate()
        }
    }

    /// log2 of a full segment's element count: at most 1 MiB a segment (20 bits), at least 64
    /// elements.
    @inline(__always)
    private static var segmentShift: Int {
        let stride = MemoryLayout<Element>.stride
        let strideBits = stride <= 1 ? 0 : Int.bitWidth - (stride - 1).leadingZeroBitCount
        return Swift.max(6, 20 - strideBits)
    }

    /// The number of elements in a full segment.
    static var segmentCapacity: Int { 1 << Self.segmentShift }

    private var storage: Storage
    /// `storage.table`, read without touching the class.
    private var table: UnsafeMutablePointer<UnsafeMutablePointer<Element>>
    /// `storage.countBox`.
    private var countBox: UnsafeMutablePointer<Int>
    /// How many segments are allocated (`storage.segmentCount`).
    private var segmentCount = 0
    /// The first segment's room: below ``segmentCapacity`` while the array is small.
    private var firstCapacity = 0
    /// The number of elements, mirrored into the storage's count box for its deinitializer.
    /// Reading the box on every access instead (one count, no mirror) measured about 1% more
    /// instructions per paid order, so the array keeps its own.
    private(set) var count = 0 {
        didSet { self.countBox.pointee = self.count }
    }

    /// Creates an empty array.
    init() {
        self.storage = Storage(tableCapacity: 4)
        self.table = self.storage.table
        self.countBox = self.storage.countBox
    }

    /// Creates an array holding `elements`, in order.
    init<Source: Sequence>(_ elements: Source) where Source.Element == Element {
        self.init()
        self.append(contentsOf: elements)
    }

    var isEmpty: Bool { self.count == 0 }

    /// The element at `position`, which must be below ``count``.
    subscript(position: Int) -> Element {
        @inline(__always)
        get {
            precondition(position >= 0 && position < self.count, "SegmentedArray index out of range")
            let shift = Self.segmentShift
            return self.table[position &>> shift][position & ((1 << shift) - 1)]
        }
        @inline(__always)
        _modify {
            precondition(position >= 0 && position < self.count, "SegmentedArray index out of range")
            self.makeUnique()
            let shift = Self.segmentShift
            yield &self.table[position &>> shift][position & ((1 << shift) - 1)]
        }
    }

    /// The last element, or `nil` if empty.
    var last: Element? { self.isEmpty ? nil : self[self.count - 1] }

    /// Appends `element`.
    ///
    /// - Complexity: O(1); amortized O(1) while the first segment is still growing.
    @inline(__always)
    mutating func append(_ element: Element) {
        self.makeUnique()
        let position = self.count
        let shift = Self.segmentShift
        let offset = position & ((1 << shift) - 1)
        if position == self.firstCapacity || (offset == 0 && position > self.firstCapacity) {
            self.grow()
        }
        (self.table[position &>> shift] + offset).initialize(to: element)
        self.count = position + 1
    }

    /// Appends `elements`, in order.
    mutating func append<Source: Sequence>(contentsOf elements: Source) where Source.Element == Element {
        for element in elements { self.append(element) }
    }

    /// Removes and returns the last element, which must exist.
    @discardableResult
    mutating func removeLast() -> Element {
        precondition(!self.isEmpty, "removeLast on an empty SegmentedArray")
        self.makeUnique()
        let position = self.count - 1
        let shift = Self.segmentShift
        let element = (self.table[position &>> shift] + (position & ((1 << shift) - 1))).move()
        self.count = position
        self.freeEmptySegments()
        return element
    }

    /// Removes the last `k` elements; segments left empty are freed, but for one spare.
    mutating func removeLast(_ k: Int) {
        precondition(k >= 0 && k <= self.count, "cannot remove \(k) of \(self.count) elements")
        guard k > 0 else { return }
        self.makeUnique()
        var end = self.count
        let newCount = end - k
        while end > newCount {
            // The elements of the last occupied segment that go, all at once.
            let segment = (end - 1) >> Self.segmentShift
            let segmentStart = Swift.max(newCount, segment << Self.segmentShift)
            (self.table[segment] + (segmentStart - (segment << Self.segmentShift)))
                .deinitialize(count: end - segmentStart)
            end = segmentStart
        }
        self.count = newCount
        self.freeEmptySegments()
    }

    /// Removes every element, keeping the first segment and one spare.
    mutating func removeAll() {
        self.removeLast(self.count)
    }

    /// Makes room for `minimumCapacity` elements, so appending up to that many allocates nothing.
    mutating func reserveCapacity(_ minimumCapacity: Int) {
        guard minimumCapacity > self.firstCapacity else { return }
        self.makeUnique()
        if self.firstCapacity < Self.segmentCapacity {
            self.resizeFirst(to: Swift.min(Self.segmentCapacity, minimumCapacity))
        }
        let segments = (minimumCapacity + Self.segmentCapacity - 1) >> Self.segmentShift
        while self.segmentCount < segments { self.addSegment() }
    }

    // MARK: - Storage

    /// Frees the segments past the last one holding an element, keeping the first and one spare:
    /// a rollback that crosses a segment boundary, followed by appends, would otherwise free and
    /// fault in the same megabyte again each time.
    private mutating func freeEmptySegments() {
        let needed = Swift.max(1, (self.count + Self.segmentCapacity - 1) >> Self.segmentShift) + 1
        while self.segmentCount > needed {
            self.storage.removeLastSegment()
            self.segmentCount -= 1
        }
    }

    /// Allocates room for the element at ``count``: a bigger first segment, or a new one.
    @inline(never)
    private mutating func grow() {
        if self.count < Self.segmentCapacity {
            self.resizeFirst(to: Swift.min(Self.segmentCapacity, Swift.max(16, self.firstCapacity * 2)))
        } else if self.count >> Self.segmentShift >= self.segmentCount {
            self.addSegment()
        }
    }

    private mutating func addSegment() {
        self.storage.add(.allocate(capacity: Self.segmentCapacity))
        self.table = self.storage.table
        self.segmentCount += 1
    }

    /// Moves the first segment to one of `capacity` elements (at most a full segment).
    private mutating func resizeFirst(to capacity: Int) {
        let resized = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
        if self.segmentCount > 0 {
            resized.moveInitialize(from: self.table[0], count: Swift.min(self.count, self.firstCapacity))
            self.table[0].deallocate()
            self.table[0] = resized
        } else {
            self.storage.add(resized)
            self.table = self.storage.table
            self.segmentCount = 1
        }
        self.firstCapacity = capacity
    }

    /// Copies the storage if another array shares it.
    @inline(__always)
    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&self.storage) { self.copyStorage() }
    }

    @inline(never)
    private mutating func copyStorage() {
        let copy = Storage(tableCapacity: self.segmentCount)
        for index in 0..<self.segmentCount {
            let capacity = index == 0 ? self.firstCapacity : Self.segmentCapacity
            let used = Swift.max(0, Swift.min(capacity, self.count - index * Self.segmentCapacity))
            let fresh = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
            fresh.initialize(from: self.table[index], count: used)
            copy.add(fresh)
        }
        copy.countBox.pointee = self.count
        self.storage = copy
        self.table = copy.table
        self.countBox = copy.countBox
    }
}

// `@unchecked`: the table pointer is the storage's, written only while the storage is uniquely
// referenced (see `Storage`).
extension SegmentedArray: @unchecked Sendable where Element: Sendable {}

extension SegmentedArray: RandomAccessCollection, MutableCollection {
    var startIndex: Int { 0 }
    var endIndex: Int { self.count }

    func index(after position: Int) -> Int { position + 1 }
    func index(before position: Int) -> Int { position - 1 }
}

extension SegmentedArray: Equatable where Element: Equatable {
    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.storage === rhs.storage || lhs.elementsEqual(rhs)
    }
}
