/// Appends little-endian integers, strings and identifiers to a byte buffer: the writing half of
/// the compact binary snapshots and journal entries the value modules share.
///
/// The writer owns its buffer, so it cannot be copied (two copies would write into one buffer),
/// and it writes each integer with one store after one capacity check. Appending to an array a
/// byte at a time checked the array's uniqueness and capacity for every byte, which was most of
/// the cost of encoding a journal entry. Read the result with ``bytes`` or take it with
/// ``finish()``; a writer that encodes many small values in turn starts again with
/// ``reset()`` and reuses its room.
@_spi(FissionCoding) public struct ByteWriter: ~Copyable {
    /// The buffer: `written` bytes, then spare room up to `capacity`.
    @usableFromInline var base: UnsafeMutableRawPointer
    @usableFromInline var capacity: Int
    @usableFromInline var written = 0

    /// Creates a writer that reserves `capacity` bytes up front.
    public init(capacity: Int) {
        self.capacity = Swift.max(capacity, 16)
        self.base = .allocate(byteCount: self.capacity, alignment: 8)
    }

    deinit {
        self.base.deallocate()
    }

    /// How many bytes have been written.
    public var count: Int { self.written }

    /// A copy of what has been written: each access copies.
    public var bytes: [UInt8] {
        // Not `[UInt8](unsafeUninitializedCapacity:)`: it allocates through the standard library's
        // unspecialized buffer code, which looks the storage class's metadata up at run time on
        // every call (about 300 instructions, more than the copy); this path is specialized.
        Array(UnsafeRawBufferPointer(start: self.base, count: self.written))
    }

    /// What has been written; the writer is used up.
    public consuming func finish() -> [UInt8] {
        self.bytes
    }

    /// Forgets what has been written and keeps the room for what comes next.
    public mutating func reset() {
        self.written = 0
    }

    /// Calls `body` with the bytes written so far.
    @inlinable
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: self.base, count: self.written))
    }

    /// Makes room for `byteCount` more bytes after what has been written.
    @inlinable @inline(__always)
    mutating func reserveRoom(_ byteCount: Int) {
        if self.capacity &- self.written < byteCount { self.grow(byteCount) }
    }

    @usableFromInline
    mutating func grow(_ byteCount: Int) {
        let target = Swift.max(self.written + byteCount, 2 * self.capacity)
        let larger = UnsafeMutableRawPointer.allocate(byteCount: target, alignment: 8)
        larger.copyMemory(from: self.base, byteCount: self.written)
        self.base.deallocate()
        self.base = larger
        self.capacity = target
    }

    /// Appends one integer, little-endian.
    @inlinable
    public mutating func append<Value: FixedWidthInteger>(_ value: Value) {
        Swift.withUnsafeBytes(of: value.littleEndian) { self.append(contentsOf: $0) }
    }

    // The integer types the snapshots and the journal write, without the generic path: a
    // generic call that is not specialised appends a raw buffer through a `memcpy` call, many
    // times the cost of the one store below (the journal encodes dozens of small integers per
    // command).

    /// Appends one byte.
    @inlinable @inline(__always)
    public mutating func append(_ value: UInt8) {
        self.reserveRoom(1)
        self.base.storeBytes(of: value, toByteOffset: self.written, as: UInt8.self)
        self.written &+= 1
    }

    /// Appends a `UInt16`, little-endian.
    @inlinable @inline(__always)
    public mutating func append(_ value: UInt16) { self.appendLittleEndian(UInt64(value), byteCount: 2) }

    /// Appends a `UInt32`, little-endian.
    @inlinable @inline(__always)
    public mutating func append(_ value: UInt32) { self.appendLittleEndian(UInt64(value), byteCount: 4) }

    /// Appends an `Int32`, little-endian.
    @inlinable @inline(__always)
    public mutating func append(_ value: Int32) {
        self.appendLittleEndian(UInt64(UInt32(bitPattern: value)), byteCount: 4)
    }

    /// Appends a `UInt64`, little-endian.
    @inlinable @inline(__always)
    public mutating func append(_ value: UInt64) { self.appendLittleEndian(value, byteCount: 8) }

    /// Appends an `Int64`, little-endian.
    @inlinable @inline(__always)
    public mutating func append(_ value: Int64) { self.appendLittleEndian(UInt64(bitPattern: value), byteCount: 8) }

    /// Appends the low `byteCount` bytes of `value`, little-endian: several small fields packed
    /// into one integer go in with one store.
    @inlinable
    public mutating func append(lowBytesOf value: UInt64, byteCount: Int) {
        precondition((0...8).contains(byteCount), "a UInt64 has 8 bytes")
        self.appendLittleEndian(value, byteCount: byteCount)
    }

    /// Writes all 8 bytes of `value` (little-endian) into the spare room and counts the first
    /// `byteCount`: the rest stay spare, to be written over by the next append.
    @inlinable @inline(__always)
    mutating func appendLittleEndian(_ value: UInt64, byteCount: Int) {
        self.reserveRoom(8)
        self.base.storeBytes(of: value.littleEndian, toByteOffset: self.written, as: UInt64.self)
        self.written &+= byteCount
    }

    /// Writes `value` (little-endian) over the 8 bytes already written at `offset`.
    public mutating func overwrite(_ value: Int64, at offset: Int) {
        precondition(offset >= 0 && offset + 8 <= self.written, "only written bytes can be overwritten")
        self.base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: Int64.self)
    }

    /// Writes `value` (little-endian) over the 4 bytes already written at `offset`: a count
    /// written before what it counts.
    public mutating func overwrite(_ value: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= self.written, "only written bytes can be overwritten")
        self.base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt32.self)
    }

    /// Appends raw bytes.
    @inlinable
    public mutating func append(contentsOf bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        self.reserveRoom(bytes.count)
        (self.base + self.written).copyMemory(from: source, byteCount: bytes.count)
        self.written &+= bytes.count
    }

    /// Appends the UTF-8 bytes of a literal, such as a format's magic number, without a length.
    public mutating func append(literal text: StaticString) {
        text.withUTF8Buffer { self.append(contentsOf: UnsafeRawBufferPointer($0)) }
    }

    /// Appends raw bytes.
    public mutating func append(contentsOf bytes: [UInt8]) {
        bytes.withUnsafeBytes { self.append(contentsOf: $0) }
    }

    /// Appends the integers of `array` without a count (the reader must know it).
    @inlinable
    public mutating func append<Value: FixedWidthInteger>(array: [Value]) {
        #if _endian(little)
        array.withUnsafeBytes { self.append(contentsOf: $0) }
        #else
        for value in array { self.append(value) }
        #endif
    }

    /// Appends a string of at most 65,535 UTF-8 bytes, prefixed by its length.
    public mutating func append(string: String) {
        precondition(string.utf8.count <= Int(UInt16.max), "snapshot strings are at most 65,535 bytes")
        self.append(UInt16(string.utf8.count))
        // From the contiguous UTF-8 buffer: a copy, where appending the UTF-8 view iterates it.
        var contiguous = string
        contiguous.withUTF8 { self.append(contentsOf: UnsafeRawBufferPointer($0)) }
    }

    /// Appends an identifier: a tag byte, then the integer or the string.
    ///
    /// Inlinable, so each caller gets a copy specialized for its identifier's kind: unspecialized,
    /// every call copied the identifier through its generic value witness (the journal writes
    /// several per command).
    @inlinable
    public mutating func append<Kind>(identifier: Identifier<Kind>) {
        switch identifier.value {
        case .integer(let integer):
            // The tag and the integer with one capacity check: 9 bytes, written as two stores.
            self.reserveRoom(16)
            self.base.storeBytes(of: 0 as UInt8, toByteOffset: self.written, as: UInt8.self)
            self.base.storeBytes(of: integer.littleEndian, toByteOffset: self.written &+ 1, as: Int64.self)
            self.written &+= 9
        case .string(let string):
            self.append(UInt8(1))
            self.append(string: string)
        }
    }
}

/// A writer owns a raw buffer and is used by one task at a time: it is not `Sendable`.
@available(*, unavailable)
extension ByteWriter: Sendable {}

/// Reads what a ``ByteWriter`` wrote, throwing ``FissionError/Code/corruptSnapshot`` on truncation
/// or on a value that cannot be valid.
@_spi(FissionCoding) public struct ByteReader: Sendable {
    /// The bytes being read.
    public let bytes: [UInt8]
    /// The position of the next byte to read (settable so inlined reads can advance it).
    public var offset = 0

    /// Creates a reader positioned at the first byte.
    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Whether every byte has been read.
    public var isAtEnd: Bool { self.offset == self.bytes.count }
    /// How many bytes are left.
    public var remaining: Int { self.bytes.count - self.offset }

    /// Reads `count` raw bytes.
    public mutating func readBytes(_ count: Int) throws(FissionError) -> [UInt8] {
        guard count >= 0, count <= self.remaining else { throw Self.truncated(at: self.offset) }
        defer { self.offset += count }
        return Array(self.bytes[self.offset..<self.offset + count])
    }

    /// Reads one little-endian integer.
    ///
    /// Inlinable, like ``readArray(count:)``, so restoring a snapshot in another module reads
    /// specialised integers rather than going through generic code for every element.
    @inlinable
    public mutating func read<Value: FixedWidthInteger>() throws(FissionError) -> Value {
        let size = MemoryLayout<Value>.size
        guard size <= self.remaining else { throw Self.truncated(at: self.offset) }
        let value = self.bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: self.offset, as: Value.self) }
        self.offset += size
        return Value(littleEndian: value)
    }

    /// Reads `count` little-endian integers written by ``ByteWriter/append(array:)``.
    @inlinable
    public mutating func readArray<Value: FixedWidthInteger>(count: Int) throws(FissionError) -> [Value] {
        let size = MemoryLayout<Value>.size
        guard count >= 0, count <= self.remaining / size else { throw Self.truncated(at: self.offset) }
        let start = self.offset
        let values = self.bytes.withUnsafeBytes { raw in
            [Value](unsafeUninitializedCapacity: count) { buffer, initialized in
                for position in 0..<count {
                    buffer[position] = Value(
                        littleEndian: raw.loadUnaligned(fromByteOffset: start + position * size, as: Value.self)
                    )
                }
                initialized = count
            }
        }
        self.offset += count * size
        return values
    }

    /// Reads a string written by ``ByteWriter/append(string:)``.
    ///
    /// - Throws: ``FissionError/Code/corruptSnapshot`` for bytes that are not UTF-8, which a
    ///   writer never writes: repaired instead (with U+FFFD), a damaged byte read back as another
    ///   value, which then wrote other bytes.
    public mutating func readString() throws(FissionError) -> String {
        let length: UInt16 = try self.read()
        let start = self.offset
        guard let string = String(validating: try self.readBytes(Int(length)), as: UTF8.self) else {
            throw FissionError(code: .corruptSnapshot, reason: "a string that is not UTF-8 at byte \(start)")
        }
        return string
    }

    /// Reads an identifier written by ``ByteWriter/append(identifier:)``, validating a string id.
    public mutating func readIdentifier<Kind>(
        _: Identifier<Kind>.Type = Identifier<Kind>.self
    ) throws(FissionError) -> Identifier<Kind> {
        let tag: UInt8 = try self.read()
        switch tag {
        case 0:
            return Identifier(try self.read() as Int64)
        case 1:
            let string = try self.readString()
            do {
                return try Identifier(string)
            } catch {
                throw FissionError(code: .corruptSnapshot, reason: "invalid identifier at byte \(self.offset)")
            }
        default:
            throw FissionError(code: .corruptSnapshot, reason: "identifier tag \(tag) at byte \(self.offset)")
        }
    }

    @usableFromInline
    static func truncated(at offset: Int) -> FissionError {
        FissionError(code: .corruptSnapshot, reason: "truncated at byte \(offset)")
    }
}

extension FissionError.Code {
    /// A snapshot that is truncated, of an unknown version, or inconsistent.
    public static let corruptSnapshot = Self("corruptSnapshot")
}

/// A checksum of a snapshot's bytes: eight bytes at a time through a multiply-rotate mix, then
/// the length. Not cryptographic: it catches damage, not tampering. The same in every process.
///
/// The engine's snapshot (version 3 and later) ends with it; the fuzzer seals mutated snapshots
/// with it, so their mutations reach the readers behind the checksum.
@_spi(FissionCoding) public func snapshotChecksum(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var state: UInt64 = 0x5346_4953_5349_4F4E  // "NOISSIFS"
    func mix(_ word: UInt64) {
        let multiplied = (state ^ word) &* 0x9E37_79B9_7F4A_7C15
        state = (multiplied << 27 | multiplied >> 37) &* 0xBF58_476D_1CE4_E5B9
    }
    var offset = 0
    while offset + 8 <= bytes.count {
        mix(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)))
        offset += 8
    }
    var tail: UInt64 = 0
    for index in offset..<bytes.count { tail |= UInt64(bytes[index]) << (8 * UInt64(index - offset)) }
    mix(tail)
    mix(UInt64(bytes.count))
    return state ^ state >> 29
}
