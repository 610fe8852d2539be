@_spi(FissionCoding) public import FissionCore
@_spi(FissionCoding) public import FissionRewards

/// One accepted command as a store keeps it: what came in, what it produced, and its place in
/// the journal.
///
/// The engine writes an entry for every command it accepts, in the same atomic write as the
/// ledger transfers the command made. A store treats ``command`` and ``outcome`` as opaque bytes:
/// their format belongs to the engine.
///
/// An entry keeps its command, its outcome and its transfers in one byte array (its transfers in
/// a compact binary form, about 140 bytes a transfer where a `Transfer` value takes 304), so
/// ``command``, ``outcome`` and ``transfers`` each build a new array on every access: read one
/// into a local when you need it more than once. Entries compare equal exactly when their fields
/// do.
public struct JournalEntry: Hashable, Sendable {
    /// The entry's position: 1 for the first entry of a journal, then 2, 3 ... without gaps.
    public let sequence: Int64
    /// The host's idempotency key (`"order-123:paid"`); no two entries of a journal share one.
    public let idempotencyKey: EventID
    /// A digest of the command's payload, so a reused key with another payload is recognised
    /// without decoding ``command``.
    public let payloadDigest: UInt64
    /// The command, the outcome and the transfers, each after a 32-bit count: the command's
    /// bytes, the outcome's bytes, then the transfers as `ByteWriter.append(transfers:)` writes
    /// them. The in-memory store keeps these bytes as they are.
    package let body: [UInt8]
    /// Where the outcome's count starts in ``body``.
    private let outcomeStart: UInt32
    /// Where the transfers' count starts in ``body``.
    private let transfersStart: UInt32

    /// The encoded command, in the engine's format. Each access copies it out of the entry.
    public var command: [UInt8] { Array(self.body[4..<Int(self.outcomeStart)]) }

    /// The encoded outcome, returned as it is when the host retries the key. Each access copies
    /// it out of the entry.
    public var outcome: [UInt8] { Array(self.body[Int(self.outcomeStart) + 4..<Int(self.transfersStart)]) }

    /// The ledger transfers the command made, in ledger order; often empty. Each access rebuilds
    /// them from the entry's bytes.
    public var transfers: [Transfer] {
        var reader = ByteReader(bytes: self.body)
        reader.offset = Int(self.transfersStart)
        do {
            return try reader.readTransfers { FissionError(code: .corruptSnapshot, reason: $0) }
        } catch {
            // The bytes were written from transfers, by the initialiser or by the engine's ledger,
            // in a form that reads back any transfer: failing to read them is a bug in Fission.
            preconditionFailure("journal entry \(self.sequence): its transfers do not read back: \(error.reason)")
        }
    }

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
        // The whole body is checked against 4 GiB when it is made; these counts come first.
        precondition(
            command.count <= Int(UInt32.max) && outcome.count <= Int(UInt32.max),
            "a journal entry's command, outcome and transfers are at most 4 GiB together"
        )
        var writer = ByteWriter(capacity: 16 + command.count + outcome.count + 160 * transfers.count)
        writer.append(UInt32(command.count))
        writer.append(contentsOf: command)
        writer.append(UInt32(outcome.count))
        writer.append(contentsOf: outcome)
        writer.append(transfers: transfers)
        self.init(
            sequence: sequence,
            idempotencyKey: idempotencyKey,
            payloadDigest: payloadDigest,
            body: writer.finish()
        )
    }

    /// Creates an entry from its ``body``, written in one go (the engine writes the command, the
    /// outcome and `Ledger.encodeTransfers(after:into:)`'s bytes into one buffer).
    package init(sequence: Int64, idempotencyKey: EventID, payloadDigest: UInt64, body: [UInt8]) {
        let (outcomeStart, transfersStart) = body.withUnsafeBytes { bytes in
            // Only Fission writes bodies, so a malformed one is a bug in Fission.
            precondition(bytes.count >= 12 && bytes.count <= Int(UInt32.max), "a journal entry's body is malformed")
            let outcomeStart = 4 + Int(UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self)))
            precondition(outcomeStart <= bytes.count - 8, "a journal entry's body is malformed")
            let transfersStart =
                outcomeStart + 4
                + Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: outcomeStart, as: UInt32.self)))
            precondition(transfersStart <= bytes.count - 4, "a journal entry's body is malformed")
            return (UInt32(outcomeStart), UInt32(transfersStart))
        }
        self.sequence = sequence
        self.idempotencyKey = idempotencyKey
        self.payloadDigest = payloadDigest
        self.body = body
        self.outcomeStart = outcomeStart
        self.transfersStart = transfersStart
    }

    /// Where the transfers' count starts in ``body``: the transfers run from there to its end.
    package var transferBytesStart: Int { Int(self.transfersStart) }

    /// Calls `body` with the command's bytes.
    package func withCommandBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try self.withBytes(4..<Int(self.outcomeStart), body)
    }

    /// Calls `body` with the outcome's bytes.
    package func withOutcomeBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try self.withBytes(Int(self.outcomeStart) + 4..<Int(self.transfersStart), body)
    }

    /// Calls `body` with the transfers' bytes: a 32-bit count, then each transfer.
    package func withTransferBytes<Result, Failure: Error>(
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try self.withBytes(Int(self.transfersStart)..<self.body.count, body)
    }

    private func withBytes<Result, Failure: Error>(
        _ range: Range<Int>,
        _ body: (UnsafeRawBufferPointer) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try self.body.withUnsafeBufferPointer { (buffer) throws(Failure) in
            try body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[range]))
        }
    }

    /// How many transfers the entry holds, read from its bytes.
    package var transferCount: Int {
        self.body.withUnsafeBytes { bytes in
            Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: Int(self.transfersStart), as: UInt32.self)))
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
