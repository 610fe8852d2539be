import FissionCore
import FissionSQLite
import FissionStorage
import FissionStorageTesting
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process appends to a SQLite store and is killed with SIGKILL at a random moment,
/// again and again on one file; after every kill the store must hold every acknowledged entry,
/// nothing never attempted, every entry exactly as the deterministic journal makes it, and pass
/// `PRAGMA integrity_check`.
///
/// `FISSION_CRASH_ITERATIONS` sets the number of kills (200 by default, as in CI);
/// `FISSION_CRASH_SEED` the seed of the journal and of the kill delays.
@Suite("SQLiteStore crash safety")
struct SQLiteCrashTests {
    static let iterations = Int(environment("FISSION_CRASH_ITERATIONS") ?? "") ?? 200
    static let seed = UInt64(environment("FISSION_CRASH_SEED") ?? "") ?? 20_261_201

    @Test("SIGKILL at random points: acknowledged entries survive, nothing else appears, the file stays sound")
    func killedWorkers() throws {
        let seed = Self.seed
        let worker = try #require(
            Self.workerPath(),
            "fission-sqlite-crash-worker was not found next to the test binary"
        )
        let directory = TemporaryDirectory()
        let path = directory.file("crash.sqlite")
        var delays = SeededGenerator(seed: seed)
        var expected = DeterministicJournal(seed: seed)
        var verified: Int64 = 0
        var killedMidAppend = 0
        for iteration in 0..<Self.iterations {
            let context = "seed \(seed), iteration \(iteration)"
            // Up to 25 ms after the worker is ready: some kills land before the first append,
            // most during a commit or between two.
            let delay = useconds_t(delays.next(below: 25_000))
            let output = try Self.runAndKill(worker, arguments: [path, String(seed), "100000000"], afterReady: delay)
            let report = try #require(WorkerReport(output), "\(context): the worker said \(output)")
            try #require(
                report.ready == verified,
                "\(context): the worker found \(report.ready) entries, \(verified) were verified"
            )
            if report.tried > report.acknowledged { killedMidAppend += 1 }

            let store = try SQLiteStore(path: path)
            let last = try store.lastSequence()
            try #require(
                last >= report.acknowledged,
                "\(context): entry \(report.acknowledged) was acknowledged, the store ends at \(last)"
            )
            try #require(
                last <= max(report.tried, verified),
                "\(context): the store ends at \(last), only \(report.tried) were tried"
            )
            while verified < last {
                let page = try store.entries(after: verified, limit: 1_000)
                try #require(!page.isEmpty, "\(context): no entries after \(verified) though the store ends at \(last)")
                for entry in page {
                    let want = expected.next()
                    try #require(entry == want, "\(context): entry \(want.sequence) reads back as \(entry)")
                }
                verified = page.last?.sequence ?? verified
            }
            if let snapshot = try store.latestSnapshot() {
                try #require(
                    snapshot.sequence <= last,
                    "\(context): a snapshot at \(snapshot.sequence) past the end \(last)"
                )
                try #require(
                    snapshot == DeterministicJournal.snapshot(seed: seed, at: snapshot.sequence),
                    "\(context): the snapshot at \(snapshot.sequence) is not the one written"
                )
            }
            try #require(try store.integrityCheck() == ["ok"], "\(context): integrity check failed")
            store.close()
        }
        // Everything again from the start, then appending goes on where the workers stopped.
        let store = try SQLiteStore(path: path)
        let all = DeterministicJournal.entries(seed: seed, through: verified)
        var read: [JournalEntry] = []
        while true {
            let page = try store.entries(after: read.last?.sequence ?? 0, limit: 1_000)
            guard !page.isEmpty else { break }
            read.append(contentsOf: page)
        }
        #expect(read == all, "seed \(seed): the journal differs from the deterministic one")
        let next = expected.next(3)
        try store.append(next, expectingLastSequence: verified)
        #expect(try store.entries(after: verified, limit: 10) == next)
        #expect(try store.integrityCheck() == ["ok"])
        print(
            "crash test: seed \(seed), \(Self.iterations) kills, \(killedMidAppend) during an append, \(verified) entries verified"
        )
        #expect(verified > 0, "seed \(seed): no append was ever acknowledged; the kills came too early")
    }

    /// What a worker printed before it died.
    struct WorkerReport {
        var ready: Int64 = -1
        var tried: Int64 = 0
        var acknowledged: Int64 = 0

        init?(_ output: String) {
            for line in output.split(separator: "\n") {
                let words = line.split(separator: " ")
                switch words.first {
                case "ready": self.ready = Int64(words.last ?? "") ?? -1
                case "try": self.tried = Int64(words.last ?? "") ?? self.tried
                case "ok": self.acknowledged = Int64(words.last ?? "") ?? self.acknowledged
                default: continue
                }
            }
            guard self.ready >= 0 else { return nil }
            self.tried = max(self.tried, self.ready)
            self.acknowledged = max(self.acknowledged, self.ready)
        }
    }

    /// The worker executable, built next to the test binary.
    static func workerPath() -> String? {
        if let path = environment("FISSION_CRASH_WORKER") { return path }
        var buffer = [CChar](repeating: 0, count: 4_096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let executable = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var parts = executable.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast()
        // The test binary is <build>/fissionPackageTests.xctest, or a file inside such a bundle.
        while let last = parts.last, last.hasSuffix(".xctest") || last == "Contents" || last == "MacOS" {
            parts.removeLast()
        }
        let path = parts.joined(separator: "/") + "/fission-sqlite-crash-worker"
        return access(path, X_OK) == 0 ? path : nil
    }

    /// Starts the worker, waits for its `ready` line, waits `delay` microseconds more, kills it
    /// with SIGKILL and returns everything it wrote to stdout.
    static func runAndKill(_ executable: String, arguments: [String], afterReady delay: useconds_t) throws -> String {
        var pipeEnds: [Int32] = [0, 0]
        try #require(pipe(&pipeEnds) == 0, "pipe failed: errno \(errno)")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        posix_spawn_file_actions_addclose(&actions, pipeEnds[1])
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        // No crash backtracer in the worker: on a real crash (not our SIGKILL) Swift's
        // swift-backtrace would inherit the worker's stdout and keep the pipe open, so the read
        // below would wait for it instead of seeing the worker's end and failing the test.
        var environment: [UnsafeMutablePointer<CChar>?] = [strdup("SWIFT_BACKTRACE=enable=no")]
        var inherited = environ
        while let variable = inherited.pointee {
            if !String(cString: variable).hasPrefix("SWIFT_BACKTRACE=") { environment.append(strdup(variable)) }
            inherited += 1
        }
        environment.append(nil)
        defer { for variable in environment { free(variable) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environment)
        close(pipeEnds[1])
        defer { close(pipeEnds[0]) }
        try #require(spawned == 0, "posix_spawn of \(executable) failed: \(spawned)")
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4_096)
        func readSome() -> Bool {
            let count = read(pipeEnds[0], &buffer, buffer.count)
            guard count > 0 else { return false }
            output.append(contentsOf: buffer[..<count])
            return true
        }
        while !output.contains(UInt8(ascii: "\n")), readSome() {}
        if delay > 0 { usleep(delay) }
        kill(pid, SIGKILL)
        while readSome() {}
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return String(decoding: output, as: UTF8.self)
    }
}

/// An environment variable, or `nil`.
func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}
