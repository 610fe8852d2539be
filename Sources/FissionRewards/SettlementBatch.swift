public import FissionCore

/// What ``Settlement/settle(compact:campaign:)`` did with each event of a batch, in compact form.
///
/// One ``Entry`` per event, in the batch's order: whether the event was settled now, had been
/// settled before (a repeat, changing nothing) or was refused, and the transfers it made. The
/// errors of refused events are in ``failures``. An entry names no member or rule, so settling a
/// batch builds nothing reference-counted per event (only a refused event's error, with its
/// message); read what a transfer did with ``Ledger/transfer(_:)``, or an event's whole outcome
/// with ``Settlement/outcome(of:campaign:)``.
///
/// ```swift
/// let batch = try settlement.settle(compact: events, campaign: "spring-2027")
/// for failure in batch.failures { log("event \(events[failure.index].id): \(failure.error)") }
/// for entry in batch.entries where entry.status == .settled {
///     for id in entry.transfers { notify(settlement.ledger.transfer(id)!) }
/// }
/// ```
public struct SettlementBatch: Hashable, Sendable {
    /// What one event of the batch did.
    public struct Entry: Hashable, Sendable {
        /// What became of the event.
        public enum Status: UInt8, Hashable, Sendable {
            /// Settled now: its transfers were made by this batch.
            case settled
            /// Settled before under the same id with the same payload: nothing changed, and
            /// ``Entry/transfers`` are the ones it made then.
            case duplicate
            /// Refused with a typed error (see ``SettlementBatch/failures``): nothing changed.
            case failed
        }

        /// What became of the event.
        public let status: Status
        /// The transfers the event made, consecutive in the ledger: the grants of an earning event
        /// (pending while held), the voids and reversals of a refund. Empty for a refused event
        /// and for one that granted nothing.
        public let transfers: Range<TransferID>
        /// How many grants a cap or the budget stopped (``Settlement/outcome(of:campaign:)`` lists them).
        public let skippedCount: Int
    }

    /// An event the batch refused, and why.
    public struct Failure: Hashable, Sendable {
        /// The event's position in the batch.
        public let index: Int
        /// Why it was refused; the settlement is as if the event had not been sent.
        public let error: FissionError
    }

    /// One entry per event, in the batch's order.
    public private(set) var entries: [Entry] = []
    /// The refused events, in the batch's order.
    public private(set) var failures: [Failure] = []

    init(capacity: Int) {
        self.entries.reserveCapacity(capacity)
    }

    /// How many events were settled now, repeated, or refused.
    public func count(of status: Entry.Status) -> Int {
        var count = 0
        for entry in self.entries where entry.status == status { count += 1 }
        return count
    }

    @inline(__always)
    mutating func append(_ processed: Processed, isDuplicate: Bool) {
        let first = TransferID(rawValue: Int64(processed.firstTransfer) + 1)
        self.entries.append(
            Entry(
                status: isDuplicate ? .duplicate : .settled,
                transfers: first..<first.advanced(by: Int64(processed.transferCount)),
                skippedCount: Int(processed.skipCount)
            )
        )
    }

    mutating func appendFailure(_ error: FissionError, at index: Int) {
        let none = TransferID(rawValue: 0)
        self.entries.append(Entry(status: .failed, transfers: none..<none, skippedCount: 0))
        self.failures.append(Failure(index: index, error: error))
    }
}
