// The child process of FissionSQLiteTests' crash test: appends a deterministic journal to a SQLite
// store until it is killed, reporting on stdout what it attempted and what was acknowledged.
//
// Usage: fission-sqlite-crash-worker <path> <seed> <max-entries>
//
// Lines, each written with one write(2) so a kill never leaves half a line:
//   ready <last>          the store opened; <last> entries were already there
//   try <first> <last>    an append of entries <first>...<last> is about to start
//   ok <last>             that append returned: entries up to <last> are acknowledged
//   snapshot <sequence>   a snapshot at <sequence> was saved
//   done                  <max-entries> reached (the parent normally kills the worker first)
import FissionSQLite
import FissionStorage
import FissionStorageTesting

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func say(_ line: String) {
    var bytes = Array((line + "\n").utf8)
    let count = bytes.count
    _ = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress, count) }
}

func fail(_ message: String) -> Never {
    var bytes = Array(("fission-sqlite-crash-worker: " + message + "\n").utf8)
    let count = bytes.count
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, count) }
    exit(2)
}

let arguments = CommandLine.arguments
guard arguments.count == 4, let seed = UInt64(arguments[2]), let maximum = Int64(arguments[3]) else {
    fail("usage: fission-sqlite-crash-worker <path> <seed> <max-entries>")
}
do {
    let store = try SQLiteStore(path: arguments[1])
    var journal = DeterministicJournal(seed: seed)
    let last = try store.lastSequence()
    _ = journal.next(Int(last))
    say("ready \(last)")
    while journal.lastSequence < maximum {
        let first = journal.lastSequence + 1
        let batch = journal.next(DeterministicJournal.batchSize(seed: seed, startingAt: first))
        let end = first + Int64(batch.count) - 1
        say("try \(first) \(end)")
        try store.append(batch, expectingLastSequence: first - 1)
        say("ok \(end)")
        if end % 16 < Int64(batch.count) {
            try store.saveSnapshot(DeterministicJournal.snapshot(seed: seed, at: end))
            say("snapshot \(end)")
        }
    }
    say("done")
} catch {
    fail("\(error)")
}
