// swift-tools-version: 6.1
import PackageDescription

// Appends the engine's order-paid entries (or DeterministicJournal's) to a SQLiteStore, for
// profiling and for counting instructions with callgrind (see ../README.md). Not part of CI.
let package = Package(
    name: "store-append-cost",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "fission", path: "../../..")],
    targets: [
        .executableTarget(
            name: "store-append-cost",
            dependencies: [
                .product(name: "Fission", package: "fission"),
                .product(name: "FissionSQLite", package: "fission"),
                .product(name: "FissionStorage", package: "fission"),
                .product(name: "FissionStorageTesting", package: "fission"),
            ]
        )
    ],
    swiftLanguageModes: [.v6]
)
