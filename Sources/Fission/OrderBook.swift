import FissionCore
@_spi(FissionIndexing) import FissionStorage

/// The engine's paid orders: their records in the order they were paid, found by a fingerprint
/// index (``FingerprintIndex``) rather than a `Dictionary`.
///
/// Every order-paid command looks its order up and adds it; with hundreds of thousands of
/// orders, a dictionary of identifiers hashes each key through a seeded `Hasher` and, as it
/// grows, hashes every key again. The index keeps a cheap fingerprint per record and compares
/// the order ids themselves, so a lookup is exact.
struct OrderBook: Sendable {
    /// The records, in the order the orders were paid.
    private(set) var records: [EngineState.OrderRecord] = []
    private var index = FingerprintIndex()
    private let seed = Fingerprint.seed

    /// How many orders were paid.
    var count: Int { self.records.count }

    /// The position of the order's record in ``records``, or `nil` for an order never paid.
    func position(of order: OrderID) -> Int? {
        let found = self.index.find(Fingerprint.of(order, seed: self.seed)) { position in
            self.records[Int(position)].order == order
        }
        return found.map { Int($0) }
    }

    /// The order's record, or `nil`.
    subscript(order: OrderID) -> EngineState.OrderRecord? {
        self.position(of: order).map { self.records[$0] }
    }

    /// Adds a record for an order not in the book.
    ///
    /// - Returns: `false`, changing nothing, if the book has a record for the order already.
    @discardableResult
    mutating func insert(_ record: EngineState.OrderRecord) -> Bool {
        guard self.position(of: record.order) == nil else { return false }
        self.append(record)
        return true
    }

    /// Adds a record for an order that ``position(of:)`` has just found absent, without looking
    /// it up again.
    mutating func append(_ record: EngineState.OrderRecord) {
        assert(self.position(of: record.order) == nil, "an order appended twice")
        self.index.reserve(1)
        _ = self.index.insert(Fingerprint.of(record.order, seed: self.seed), position: UInt64(self.records.count)) {
            _ in false
        }
        self.records.append(record)
    }

    /// Replaces the record at `position` with one for the same order.
    mutating func replace(at position: Int, with record: EngineState.OrderRecord) {
        precondition(self.records[position].order == record.order, "a record replaced by another order's")
        self.records[position] = record
    }
}
