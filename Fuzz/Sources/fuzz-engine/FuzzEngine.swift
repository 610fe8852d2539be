import EngineScenario
import Fission
@_spi(FissionCoding) import FissionCore
import FuzzSupport

// Opening an engine on a store that holds fuzzed bytes gives an engine or a typed error, never a
// trap. The first byte picks what is fuzzed:
// - 0 modulo 4: the bytes after it are an engine snapshot, opened on an empty journal;
// - 2 modulo 4: the same, sealed first with a valid checksum over all but its last 8 bytes, so a
//   mutation reaches the readers behind the checksum (most of a snapshot) instead of stopping at
//   it;
// - odd: the bytes after it are one journal entry's command (8 bytes of time, then the command),
//   appended after the scenario's valid journal, so the mutated command is decoded and applied
//   to a state with members, a campaign, an order and held rewards.

/// The scenario's journal, computed once at start-up.
nonisolated(unsafe) private var scenarioJournal: [JournalEntry] = []

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEngine(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = fuzzBytes(start, count)
    guard let mode = bytes.first else { return 0 }
    let payload = Array(bytes.dropFirst())
    let store = InMemoryStore()
    do {
        if mode % 4 == 0 {
            try store.saveSnapshot(StoreSnapshot(sequence: 0, state: payload))
        } else if mode % 4 == 2 {
            let body = Array(payload.dropLast(8))
            var checksum = body.withUnsafeBytes { snapshotChecksum($0) }.littleEndian
            let sealed = body + withUnsafeBytes(of: &checksum) { Array($0) }
            try store.saveSnapshot(StoreSnapshot(sequence: 0, state: sealed))
        } else {
            let entry = JournalEntry(
                sequence: Int64(scenarioJournal.count + 1),
                idempotencyKey: "fuzzed",
                payloadDigest: fnv1a(payload.dropFirst(8)),
                command: payload,
                outcome: [],
                transfers: []
            )
            try store.append(scenarioJournal + [entry], expectingLastSequence: 0)
        }
    } catch {
        fuzzFailure("the in-memory store refused the fuzz setup: \(error)")
    }
    do {
        _ = try FissionEngine(store: store)
    } catch {
        // A typed error is the expected answer to most inputs.
    }
    return 0
}

@_cdecl("fuzz_engine_main")
public func fuzzEngineMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    do {
        scenarioJournal = try EngineScenario.journal(of: EngineScenario.prefix())
    } catch {
        fuzzFailure("the scenario does not apply: \(error)")
    }
    return runFuzzer(argc: argc, argv: argv, fuzzEngine)
}

/// The journal's payload digest (FNV-1a over the command after its time), which the store must
/// hold for the engine to decode the entry at all.
private func fnv1a(_ bytes: ArraySlice<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash &*= 0x0000_0100_0000_01B3
    }
    return hash
}
