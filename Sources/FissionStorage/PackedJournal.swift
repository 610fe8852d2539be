@_spi(FissionCoding) import FissionCore
@_spi(FissionCoding) import FissionRewards

/// Journal entries as bytes, one after another in pages of 1 MiB: the in-memory store's journal.
///
/// A ``JournalEntry`` value holds three arrays of its own, and its transfers are 304-byte values;
/// an engine command that pays a two-level commission took about 1,100 bytes that way, in four
/// allocations, none of them ever freed. As bytes it is about 500, in pages that never move: an
/// entry that does not fit in the current page's room starts a new page (one bigger than a page
/// gets a page of its own size), so appending never copies what is stored. Entries are rebuilt as
/// values when read.
///
/// An entry's bytes: its idempotency key, its payload digest, then its ``JournalEntry/body`` as it
/// is (its command and its outcome, each a 32-bit count and the bytes, then its transfers). Its
/// sequence is its position + 1.
struct PackedJournal: Sendable {
    /// The room each page reserves.
    static let pageSize = 1 << 20

    /// Where an entry's bytes are, and where its transfers start among them.
    private struct Location: Sendable {
        let page: UInt32
        let start: UInt32
        let transfers: UInt32
        let end: UInt32
    }

    private var pages: [[UInt8]] = []
    private var locations: [Location] = []

    /// How many entries are stored.
    var count: Int { self.locations.count }

    /// Stores `entry` as the next one; `writer` is scratch room for its header.
    mutating func append(_ entry: JournalEntry, writer: inout ByteWriter) {
        writer.reset()
        writer.append(identifier: entry.idempotencyKey)
        writer.append(entry.payloadDigest)
        let header = writer.count
        let size = header + entry.body.count
        precondition(size <= Int(UInt32.max), "a journal entry of \(size) bytes")
        // Offsets are 32-bit: a page is used only as far as they reach.
        if let last = self.pages.last, last.capacity - last.count >= size, last.count + size <= Int(UInt32.max) {
            // Room in the current page.
        } else {
            var page: [UInt8] = []
            page.reserveCapacity(max(Self.pageSize, size))
            self.pages.append(page)
        }
        let page = self.pages.count - 1
        let start = self.pages[page].count
        writer.withUnsafeBytes { self.pages[page].append(contentsOf: $0) }
        self.pages[page].append(contentsOf: entry.body)
        self.locations.append(
            Location(
                page: UInt32(page),
                start: UInt32(start),
                transfers: UInt32(start + header + entry.transferBytesStart),
                end: UInt32(start + size)
            )
        )
    }

    /// The idempotency key of the entry at `position`, read without rebuilding the entry.
    func key(at position: Int) -> EventID {
        var reader = self.reader(at: position)
        return Self.reading(position) { () throws(FissionError) in try reader.readIdentifier() }
    }

    /// The entry at `position`, rebuilt.
    func entry(at position: Int) -> JournalEntry {
        var reader = self.reader(at: position)
        let location = self.locations[position]
        return Self.reading(position) { () throws(FissionError) in
            let key: EventID = try reader.readIdentifier()
            let digest: UInt64 = try reader.read()
            let body = try reader.readBytes(Int(location.end) - reader.offset)
            return JournalEntry(sequence: Int64(position) + 1, idempotencyKey: key, payloadDigest: digest, body: body)
        }
    }

    /// Whether transfer `index` of the entry at `position` has the key `shape` describes, whose
    /// bytes are `keyBytes`; read without rebuilding the entry.
    func transfer(
        _ index: Int,
        at position: Int,
        hasKey shape: TransferShape,
        bytes keyBytes: UnsafeRawBufferPointer
    ) -> Bool {
        let location = self.locations[position]
        return self.pages[Int(location.page)].withUnsafeBytes { page in
            Self.reading(position) { () throws(FissionError) in
                try shape.isKey(
                    ofTransfer: index,
                    inListAt: 0,
                    of: UnsafeRawBufferPointer(rebasing: page[Int(location.transfers)..<Int(location.end)]),
                    keyBytes: keyBytes,
                    corrupt: Self.corrupt
                )
            }
        }
    }

    static func corrupt(_ reason: String) -> FissionError {
        FissionError(code: .corruptSnapshot, reason: reason)
    }

    private func reader(at position: Int) -> ByteReader {
        let location = self.locations[position]
        var reader = ByteReader(bytes: self.pages[Int(location.page)])
        reader.offset = Int(location.start)
        return reader
    }

    /// Runs `read`; the store wrote these bytes itself from entries it had checked, so a failure
    /// to read them back is a bug in Fission, not bad input, and stops the process.
    private static func reading<Value>(_ position: Int, _ read: () throws(FissionError) -> Value) -> Value {
        do {
            return try read()
        } catch {
            preconditionFailure("the in-memory store cannot read back its entry \(position + 1): \(error.reason)")
        }
    }
}
