/// Appends little-endian integers, strings and identifiers to a byte array: the writing half of
/// the compact binary snapshots the value modules share.
@_spi(FissionCoding) public struct ByteWriter {
    /// What has been written.
    public var bytes: [UInt8] = []

    /// Creates a writer that reserves `capacity` bytes up front.
    public init(capacity: Int) {
        self.bytes.reserveCapacity(capacity)
    }

    /// Appends one integer, little-endian.
    @inlinable
    public mutating func append<Value: FixedWidthInteger>(_ value: Value) {
        withUnsafeBytes(of: value.littleEndian) { self.bytes.append(contentsOf: $0) }
    }

    // The integer types the snapshots and the journal write, without the generic path: a
    // generic call that is not specialised appends a raw buffer through the sequence machinery
    // and a `memcpy` call, many times the cost of appending the few bytes one by one (the
    // journal encodes dozens of small integers per command).

    /// Appends one byte.
    @inlinable
    public mutating func append(_ value: UInt8) { self.bytes.append(value) }

    /// Appends a `UInt16`, little-endian.
    @inlinable
    public mutating func append(_ value: UInt16) { self.appendLittleEndian(UInt64(value), byteCount: 2) }

    /// Appends a `UInt32`, little-endian.
    @inlinable
    public mutating func append(_ value: UInt32) { self.appendLittleEndian(UInt64(value), byteCount: 4) }

    /// Appends an `Int32`, little-endian.
    @inlinable
    public mutating func append(_ value: Int32) {
        self.appendLittleEndian(UInt64(UInt32(bitPattern: value)), byteCount: 4)
    }

    /// Appends a `UInt64`, little-endian.
    @inlinable
    public mutating func append(_ value: UInt64) { self.appendLittleEndian(value, byteCount: 8) }

    /// Appends an `Int64`, little-endian.
    @inlinable
    public mutating func append(_ value: Int64) { self.appendLittleEndian(UInt64(bitPattern: value), byteCount: 8) }

    @inlinable
    mutating func appendLittleEndian(_ value: UInt64, byteCount: Int) {
        var remaining = value
        for _ in 0..<byteCount {
            self.bytes.append(UInt8(truncatingIfNeeded: remaining))
            remaining >>= 8
        }
    }

    /// Appends the integers of `array` without a count (the reader must know it).
    @inlinable
    public mutating func append<Value: FixedWidthInteger>(array: [Value]) {
        #if _endian(little)
        array.withUnsafeBytes { self.bytes.append(contentsOf: $0) }
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
        contiguous.withUTF8 { self.bytes.append(contentsOf: $0) }
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
            self.append(UInt8(0))
            self.append(integer)
        case .string(let string):
            self.append(UInt8(1))
            self.append(string: string)
        }
    }
}

/// Reads what a ``ByteWriter`` wrote, throwing ``FissionError/Code/corruptSnapshot`` on truncation
/// or on a value that cannot be valid.
@_spi(FissionCoding) public struct ByteReader {
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
    public mutating func readString() throws(FissionError) -> String {
        let length: UInt16 = try self.read()
        return String(decoding: try self.readBytes(Int(length)), as: UTF8.self)
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
