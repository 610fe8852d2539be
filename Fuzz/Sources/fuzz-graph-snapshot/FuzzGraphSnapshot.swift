import FissionGraph
import FuzzSupport

// Any bytes given to `InviteGraph(snapshot:)` give a graph or a typed error, never a trap; a
// graph that restores writes the same bytes again.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGraphSnapshot(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = fuzzBytes(start, count)
    guard let graph = try? InviteGraph(snapshot: bytes) else { return 0 }
    let written = graph.snapshot()
    guard let again = try? InviteGraph(snapshot: written) else {
        fuzzFailure("a graph's own snapshot does not restore")
    }
    guard again.snapshot() == written else { fuzzFailure("a restored graph writes other bytes") }
    return 0
}

@_cdecl("fuzz_graph_snapshot_main")
public func fuzzGraphSnapshotMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc: argc, argv: argv, fuzzGraphSnapshot)
}
