public import FissionCore
public import FissionStorage
import Synchronization

/// A store that forwards to another and fails one chosen write: for testing that an engine
/// survives a failed or an unacknowledged write without losing or repeating anything.
///
/// Writes are ``FissionStore/append(_:expectingLastSequence:)`` and
/// ``FissionStore/saveSnapshot(_:)`` calls, counted from 1. Arm a fault with
/// ``failWrite(_:timing:)``: the write with that number throws ``InjectedFault``, either before it
/// reaches the wrapped store (the write did not happen) or after (it happened, but the caller never
/// learned so, as when a process dies between a commit and its acknowledgement). Reads are never
/// failed.
public final class FaultInjectingStore: FissionStore {
    /// When an injected fault strikes.
    public enum Timing: Sendable, Hashable {
        /// The write is refused before it reaches the wrapped store: nothing is written.
        case beforeWrite
        /// The write reaches the wrapped store, then the call throws: written, but unacknowledged.
        case afterWrite
    }

    /// The error an injected fault throws.
    public struct InjectedFault: Error, Hashable, Sendable {
        /// The number of the write that failed.
        public let write: Int
        /// When it failed.
        public let timing: Timing
    }

    private struct Plan {
        var writes = 0
        var failing: (write: Int, timing: Timing)?
    }

    /// The store every call goes to.
    public let wrapped: any FissionStore
    private let plan = Mutex(Plan())

    /// Creates a store that forwards to `wrapped` and fails nothing until armed.
    public init(wrapping wrapped: any FissionStore) {
        self.wrapped = wrapped
    }

    /// How many writes have been attempted so far, the failed one included.
    public var writeCount: Int { self.plan.withLock { $0.writes } }

    /// Arms a fault: the write numbered `write` (counted from the store's creation) fails.
    ///
    /// - Parameters:
    ///   - write: The number of the write to fail, 1 or more.
    ///   - timing: Whether it fails before or after reaching the wrapped store.
    public func failWrite(_ write: Int, timing: Timing = .beforeWrite) {
        precondition(write >= 1, "writes are numbered from 1")
        self.plan.withLock { $0.failing = (write, timing) }
    }

    /// Disarms any fault not yet struck.
    public func disarm() {
        self.plan.withLock { $0.failing = nil }
    }

    /// The wrapped store's page size.
    public var maximumPageSize: Int { self.wrapped.maximumPageSize }

    /// Forwards the append, unless this is the write armed to fail.
    public func append(_ entries: [JournalEntry], expectingLastSequence: Int64) throws {
        try self.write { try self.wrapped.append(entries, expectingLastSequence: expectingLastSequence) }
    }

    /// Forwards the call.
    public func lastSequence() throws -> Int64 { try self.wrapped.lastSequence() }

    /// Forwards the call.
    public func entry(forKey key: EventID) throws -> JournalEntry? { try self.wrapped.entry(forKey: key) }

    /// Forwards the call, so the wrapped store answers the keys its own way.
    public func entries(forKeys keys: [EventID]) throws -> [JournalEntry?] {
        try self.wrapped.entries(forKeys: keys)
    }

    /// Forwards the call.
    public func entries(after sequence: Int64, limit: Int) throws -> [JournalEntry] {
        try self.wrapped.entries(after: sequence, limit: limit)
    }

    /// Forwards the snapshot, unless this is the write armed to fail.
    public func saveSnapshot(_ snapshot: StoreSnapshot) throws {
        try self.write { try self.wrapped.saveSnapshot(snapshot) }
    }

    /// Forwards the call.
    public func latestSnapshot() throws -> StoreSnapshot? { try self.wrapped.latestSnapshot() }

    private func write(_ body: () throws -> Void) throws {
        let (number, fault): (Int, Timing?) = self.plan.withLock { plan in
            plan.writes += 1
            guard let failing = plan.failing, failing.write == plan.writes else { return (plan.writes, nil) }
            plan.failing = nil
            return (plan.writes, failing.timing)
        }
        switch fault {
        case nil:
            try body()
        case .beforeWrite:
            throw InjectedFault(write: number, timing: .beforeWrite)
        case .afterWrite:
            try body()
            throw InjectedFault(write: number, timing: .afterWrite)
        }
    }
}
