import FissionRewards
import FuzzSupport

// Any bytes given to `Settlement(snapshot:)` give a settlement or a typed error, never a trap; a
// settlement that restores has a sound ledger and restores equal from its own snapshot.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSettlementSnapshot(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = fuzzBytes(start, count)
    guard let settlement = try? Settlement(snapshot: bytes) else { return 0 }
    if let problem = settlement.ledger.audit().first { fuzzFailure("a restored ledger is unsound: \(problem)") }
    guard let again = try? Settlement(snapshot: settlement.snapshot()) else {
        fuzzFailure("a settlement's own snapshot does not restore")
    }
    guard again == settlement else { fuzzFailure("a settlement restores unequal from its own snapshot") }
    return 0
}

@_cdecl("fuzz_settlement_snapshot_main")
public func fuzzSettlementSnapshotMain(
    _ argc: CInt,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
    runFuzzer(argc: argc, argv: argv, fuzzSettlementSnapshot)
}
