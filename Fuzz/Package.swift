// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets for Fission's decoders and its engine, outside the library's products (the
// library declares no dependencies; this package depends on it by path). Build and run with
// `bash Fuzz/run` (see Documentation/Contributing.md).
let package = Package(
    name: "fission-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "fission", path: "..")],
    targets: [
        .target(name: "FuzzSupport"),
        // The engine scenario the engine target mutates and the seeds generator writes.
        .target(name: "EngineScenario", dependencies: [.product(name: "Fission", package: "fission")]),
        .executableTarget(
            name: "fuzz-graph-snapshot",
            dependencies: ["FuzzSupport", .product(name: "FissionGraph", package: "fission")]
        ),
        .executableTarget(
            name: "fuzz-settlement-snapshot",
            dependencies: ["FuzzSupport", .product(name: "FissionRewards", package: "fission")]
        ),
        .executableTarget(
            name: "fuzz-engine",
            dependencies: ["FuzzSupport", "EngineScenario", .product(name: "Fission", package: "fission")]
        ),
        // Writes the seed corpora: valid snapshots and journals for the targets above to mutate.
        .executableTarget(
            name: "fuzz-seeds",
            dependencies: ["EngineScenario", .product(name: "Fission", package: "fission")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
