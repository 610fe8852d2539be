import CFissionSQLite
import FissionCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fresh folder under the system's temporary folder, removed with everything in it on `remove()`.
final class TemporaryDirectory: Sendable {
    let path: String
    private let counter = Mutex(0)

    init() {
        var template = Array("/tmp/fission-sqlite-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed: errno \(errno)")
        self.path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A path for a new file in the folder, different at every call.
    func uniqueFile() -> String {
        let number = self.counter.withLock { count in
            count += 1
            return count
        }
        return self.file("store-\(number).sqlite")
    }

    /// A path for a file in the folder.
    func file(_ name: String) -> String { self.path + "/" + name }

    func remove() {
        guard let directory = opendir(self.path) else { return }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { unlink(self.file(name)) }
        }
        closedir(directory)
        rmdir(self.path)
    }

    deinit {
        self.remove()
    }
}

/// The bytes of a file, or `nil` if it cannot be read.
func fileBytes(_ path: String) -> [UInt8]? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count == 0 { break }
        bytes.append(contentsOf: buffer[..<count])
    }
    return bytes
}

/// Writes `bytes` to `path`, replacing the file, or writes them at `offset` into it.
func writeFile(_ path: String, _ bytes: [UInt8], at offset: Int? = nil) {
    let file = fopen(path, offset == nil ? "wb" : "r+b")
    precondition(file != nil, "cannot open \(path)")
    if let offset { fseek(file, offset, SEEK_SET) }
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, bytes.count, file) }
    fclose(file)
}

/// A raw SQLite connection for doing to a file what a store never would.
final class RawDatabase {
    let handle: OpaquePointer

    init(_ path: String) {
        var handle: OpaquePointer?
        precondition(sqlite3_open(path, &handle) == SQLITE_OK, "cannot open \(path)")
        self.handle = handle!
    }

    deinit {
        sqlite3_close_v2(self.handle)
    }

    /// Runs SQL; returns SQLite's error message, or `nil` on success.
    @discardableResult
    func execute(_ sql: String) -> String? {
        var message: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(self.handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard result != SQLITE_OK else { return nil }
        return message.map { String(cString: $0) } ?? "SQLite \(result)"
    }

    /// The first column of the first row of a query, as text.
    func scalar(_ sql: String) -> String? {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(self.handle, sql, -1, &statement, nil) == SQLITE_OK else { return nil }
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW, let text = sqlite3_column_text(statement, 0) else { return nil }
        return String(cString: text)
    }
}
