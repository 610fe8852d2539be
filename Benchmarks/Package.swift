// swift-tools-version: 6.1
import PackageDescription

// The benchmark package: the library's own manifest stays free of dependencies, so the harness
// (package-benchmark) and the peers we measure against (SwiftGraph, SQLite) live here.
let package = Package(
    name: "Benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // `name:` pins the identity: without it the identity is the checkout folder's name.
        .package(name: "fission", path: "../"),
        // The MallocInterposer trait replaces the default runtime interposer, which is not mirrored here.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/davecom/SwiftGraph", from: "4.0.0"),
    ],
    targets: [
        // The system SQLite through its C API, the `sqlite` peer of fission-compare.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // glibc's allocator statistics, for the engine's heap held per command.
        .systemLibrary(name: "CMallocInfo", path: "Sources/CMallocInfo"),
        // Seeded inputs and the raw-array floor kernels, shared by the benchmarks and fission-compare.
        .target(
            name: "GraphWorkload",
            dependencies: [.product(name: "FissionGraph", package: "fission")],
            path: "Sources/GraphWorkload"
        ),
        // Seeded settlement inputs (issue 5) and the raw-array settlement floor.
        .target(
            name: "SettlementWorkload",
            dependencies: [
                "GraphWorkload",
                .product(name: "FissionCore", package: "fission"),
                .product(name: "FissionRewards", package: "fission"),
            ],
            path: "Sources/SettlementWorkload"
        ),
        // Seeded text, word lists and group series (issue 3).
        .target(
            name: "GroupsWorkload",
            dependencies: [
                "GraphWorkload",
                .product(name: "FissionCore", package: "fission"),
                .product(name: "FissionMembers", package: "fission"),
                .product(name: "FissionGroups", package: "fission"),
            ],
            path: "Sources/GroupsWorkload"
        ),
        .executableTarget(
            name: "SettlementBenchmarks",
            dependencies: [
                "SettlementWorkload",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "FissionCore", package: "fission"),
                .product(name: "FissionRewards", package: "fission"),
            ],
            path: "Benchmarks/SettlementBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "GroupsBenchmarks",
            dependencies: [
                "GroupsWorkload",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "FissionCore", package: "fission"),
                .product(name: "FissionMembers", package: "fission"),
                .product(name: "FissionGroups", package: "fission"),
            ],
            path: "Benchmarks/GroupsBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "InviteGraphBenchmarks",
            dependencies: [
                "GraphWorkload",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "FissionCore", package: "fission"),
                .product(name: "FissionGraph", package: "fission"),
            ],
            path: "Benchmarks/InviteGraphBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "fission-compare",
            dependencies: [
                "CMallocInfo",
                "CSQLite",
                "GraphWorkload",
                "GroupsWorkload",
                "SettlementWorkload",
                .product(name: "Fission", package: "fission"),
                .product(name: "FissionCore", package: "fission"),
                .product(name: "FissionGraph", package: "fission"),
                .product(name: "FissionGroups", package: "fission"),
                .product(name: "FissionRewards", package: "fission"),
                .product(name: "FissionSQLite", package: "fission"),
                .product(name: "FissionStorage", package: "fission"),
                .product(name: "FissionStorageTesting", package: "fission"),
                .product(name: "SwiftGraph", package: "SwiftGraph"),
            ],
            path: "Sources/fission-compare"
        ),
    ],
    swiftLanguageModes: [.v6]
)
