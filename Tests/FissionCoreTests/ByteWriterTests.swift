@_spi(FissionCoding) import FissionCore
import Testing

/// The byte form every snapshot and journal entry is written in: the writer must put each value's
/// little-endian bytes in order, whatever its room, and the reader must read them back.
struct ByteWriterTests {
    /// The bytes a value should be written as, spelled out one by one.
    private static func littleEndian(_ value: UInt64, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    @Test func integersGoInLittleEndianInOrderPastTheInitialRoom() throws {
        var writer = ByteWriter(capacity: 1)  // below the minimum room: every kind of append must grow it
        var expected: [UInt8] = []
        var generator = SeededGenerator(seed: 41)
        for step in 0..<500 {
            let value = generator.next()
            switch step % 7 {
            case 0:
                writer.append(UInt8(truncatingIfNeeded: value))
                expected += Self.littleEndian(value, count: 1)
            case 1:
                writer.append(UInt16(truncatingIfNeeded: value))
                expected += Self.littleEndian(value, count: 2)
            case 2:
                writer.append(UInt32(truncatingIfNeeded: value))
                expected += Self.littleEndian(value, count: 4)
            case 3:
                writer.append(Int32(truncatingIfNeeded: value))
                expected += Self.littleEndian(value, count: 4)
            case 4:
                writer.append(Int64(bitPattern: value))
                expected += Self.littleEndian(value, count: 8)
            case 5:
                writer.append(lowBytesOf: value, byteCount: step % 9)
                expected += Self.littleEndian(value, count: step % 9)
            default:
                let identifier = value % 2 == 0 ? MemberID(Int64(bitPattern: value)) : try MemberID("m-\(value)")
                writer.append(identifier: identifier)
                switch identifier.value {
                case .integer(let integer): expected += [0] + Self.littleEndian(UInt64(bitPattern: integer), count: 8)
                case .string(let string):
                    expected += [1] + Self.littleEndian(UInt64(string.utf8.count), count: 2) + Array(string.utf8)
                }
            }
            #expect(writer.count == expected.count)
        }
        #expect(writer.bytes == expected)
        writer.withUnsafeBytes { #expect(Array($0) == expected) }
        #expect(writer.finish() == expected)
    }

    @Test func resetStartsAgainAndOverwriteReplacesWrittenBytesOnly() {
        var writer = ByteWriter(capacity: 16)
        writer.append(string: String(repeating: "x", count: 100))
        writer.reset()
        #expect(writer.count == 0)
        #expect(writer.bytes.isEmpty)
        writer.append(Int64(1))
        writer.append(UInt8(9))
        writer.overwrite(Int64(-2), at: 0)
        #expect(writer.bytes == Self.littleEndian(UInt64(bitPattern: -2), count: 8) + [9])
        writer.overwrite(UInt32(0x0102_0304), at: 5)
        #expect(writer.bytes == Self.littleEndian(UInt64(bitPattern: -2), count: 5) + [4, 3, 2, 1])
    }

    @Test func whatIsWrittenReadsBack() throws {
        var writer = ByteWriter(capacity: 16)
        writer.append(UInt16(513))
        writer.append(Int64.min)
        writer.append(string: "团购")
        let order: OrderID = "SO-2026-0001"
        writer.append(identifier: order)
        writer.append(array: [Int64(3), -4, 5])
        var reader = ByteReader(bytes: writer.finish())
        #expect(try reader.read() as UInt16 == 513)
        #expect(try reader.read() as Int64 == .min)
        #expect(try reader.readString() == "团购")
        #expect(try reader.readIdentifier(OrderID.self) == order)
        #expect(try reader.readArray(count: 3) as [Int64] == [3, -4, 5])
        #expect(reader.isAtEnd)
    }

    @Test func aStringThatIsNotUTF8IsACorruptSnapshotNotARepairedString() {
        // "团" with its last byte cut, then a string id the same way: no writer writes these.
        for bytes: [UInt8] in [[2, 0, 0xE5, 0x9B], [1, 2, 0, 0xE5, 0x9B]] {
            var reader = ByteReader(bytes: bytes)
            let error = #expect(throws: FissionError.self) {
                if bytes[0] == 1 { _ = try reader.readIdentifier(OrderID.self) } else { _ = try reader.readString() }
            }
            #expect(error?.code == .corruptSnapshot)
        }
    }

}
