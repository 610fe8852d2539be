public import FissionCore
public import FissionRewards

/// One accepted command as a store keeps it: what came in, what it produced, and its place in
/// the journal.
///
/// The engine writes an entry for every command it accepts, in the same atomic write as the
/// ledger transfers the command made. A store treats ``command`` and ``outcome`` as opaque bytes:
/// their format belongs to the engine.
public struct JournalEntry: Hashable, Sendable {
    /// The entry's position: 1 for the first entry of a journal, then 2, 3 ... without gaps.
    public let sequence: Int64
    /// The host's idempotency key (`"order-123:paid"`); no two entries of a journal share one.
    public let idempotencyKey: EventID
    /// A digest of the command's payload, so a reused key with another payload is recognised
    /// without decoding ``command``.
    public let payloadDigest: UInt64
    /// The encoded command, in the engine's format.
    public let command: [UInt8]
    /// The encoded outcome, returned as it is when the host retries the key.
    public let outcome: [UInt8]
    /// The ledger transfers the command made, in ledger order; often empty.
    public let transfers: [Transfer]

    /// Creates an entry.
    ///
    /// - Parameters:
    ///   - sequence: Its position in the journal, 1 or more.
    ///   - idempotencyKey: The command's idempotency key.
    ///   - payloadDigest: A digest of the command's payload.
    ///   - command: The encoded command.
    ///   - outcome: The encoded outcome.
    ///   - transfers: The transfers the command made.
    public init(
        sequence: Int64,
        idempotencyKey: EventID,
        payloadDigest: UInt64,
        command: [UInt8],
        outcome: [UInt8],
        transfers: [Transfer]
    ) {
        self.sequence = sequence
        self.idempotencyKey = idempotencyKey
        self.payloadDigest = payloadDigest
        self.command = command
        self.outcome = outcome
        self.transfers = transfers
    }
}

/// The engine's whole state as of one journal position, so reopening a store does not replay
/// the journal from its beginning.
public struct StoreSnapshot: Hashable, Sendable {
    /// The last journal entry the state includes; replay continues after it.
    public let sequence: Int64
    /// The encoded state, in the engine's format.
    public let state: [UInt8]

    /// Creates a snapshot.
    ///
    /// - Parameters:
    ///   - sequence: The last journal entry `state` includes, 0 or more.
    ///   - state: The encoded state.
    public init(sequence: Int64, state: [UInt8]) {
        self.sequence = sequence
        self.state = state
    }
}
