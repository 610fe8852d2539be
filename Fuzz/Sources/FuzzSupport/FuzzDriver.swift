// The glue between libFuzzer and a Swift target. SwiftPM links an executable with its entry
// point renamed (`--defsym main=<module>_main`), which `-parse-as-library` never emits, so each
// target defines `<module>_main` with `@_cdecl` and calls `runFuzzer(arguments:_:)`, which hands
// libFuzzer's own driver the target's test function.

/// libFuzzer's test callback: one input, `0` to keep going.
public typealias FuzzTest = @convention(c) (UnsafeRawPointer?, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
private func llvmFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ test: FuzzTest
) -> CInt

/// Runs libFuzzer with the process's arguments and `test`.
public func runFuzzer(
    argc: CInt,
    argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ test: FuzzTest
) -> CInt {
    var argc = argc
    var argv = argv
    return llvmFuzzerRunDriver(&argc, &argv, test)
}

/// The input as an array.
public func fuzzBytes(_ start: UnsafeRawPointer?, _ count: Int) -> [UInt8] {
    guard let start, count > 0 else { return [] }
    return Array(UnsafeRawBufferPointer(start: start, count: count))
}

/// Stops the process with a message libFuzzer records as a crash: a property the target checks
/// did not hold.
public func fuzzFailure(_ message: String) -> Never {
    fatalError("fuzz property failed: \(message)")
}
