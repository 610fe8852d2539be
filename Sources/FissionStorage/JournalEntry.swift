@_spi(FissionCoding) public import FissionCore
@_spi(FissionCoding) public import FissionRewards

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
    ///
    /// An entry keeps its transfers in a compact binary form (about 140 bytes a transfer, where a
    /// `Transfer` value takes 304), and this property rebuilds them on each access: read it once
    /// into a local when you need it more than once. Equal entries have equal transfers, and
    /// entries with equal transfers compare equal, as before.
    public var transfers: [Transfer] {
        var reader = ByteReader(bytes: self.transferBytes)
        do {
            return try reader.readTransfers { FissionError(code: .corruptSnapshot, reason: $0) }
        } catch {
            // The bytes were written from transfers, by the initialiser or by the engine's ledger,
            // in a form that reads back any transfer: failing to read them is a bug in Fission.
            preconditionFailure("journal entry \(self.sequence): its transfers do not read back: \(error.reason)")
        }
    }
    /// The transfers as `ByteWriter.append(transfers:)` writes them: a 32-bit count, then each.
    package let transferBytes: [UInt8]

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
        var writer = ByteWriter(capacity: 16 + 160 * transfers.count)
        writer.append(transfers: transfers)
        self.init(
            sequence: sequence,
            idempotencyKey: idempotencyKey,
            payloadDigest: payloadDigest,
            command: command,
            outcome: outcome,
            transferBytes: writer.finish()
        )
    }

    /// Creates an entry from transfers already encoded (`Ledger.encodeTransfers(after:into:)`).
    package init(
        sequence: Int64,
        idempotencyKey: EventID,
        payloadDigest: UInt64,
        command: [UInt8],
        outcome: [UInt8],
        transferBytes: [UInt8]
    ) {
        self.sequence = sequence
        self.idempotencyKey = idempotencyKey
        self.payloadDigest = payloadDigest
        self.command = command
        self.outcome = outcome
        self.transferBytes = transferBytes
    }

    /// How many transfers the entry holds, read from its bytes.
    package var transferCount: Int {
        self.transferBytes.withUnsafeBytes { bytes in
            bytes.count < 4 ? 0 : Int(UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)))
        }
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
