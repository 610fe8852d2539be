// swift-tools-version: 6.1
import PackageDescription

// The library declares no package dependencies (the design card). Benchmarks/ is its own package.
let package = Package(
    name: "fission",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "FissionCore", targets: ["FissionCore"]),
        .library(name: "FissionMembers", targets: ["FissionMembers"]),
        .library(name: "FissionGraph", targets: ["FissionGraph"]),
        .library(name: "FissionGroups", targets: ["FissionGroups"]),
        .library(name: "FissionRewards", targets: ["FissionRewards"]),
        .library(name: "FissionStorage", targets: ["FissionStorage"]),
        .library(name: "FissionStorageTesting", targets: ["FissionStorageTesting"]),
        .library(name: "FissionSQLite", targets: ["FissionSQLite"]),
        .library(name: "Fission", targets: ["Fission"]),
    ],
    targets: [
        .target(name: "FissionCore"),
        .target(name: "FissionMembers", dependencies: ["FissionCore"]),
        .target(name: "FissionGraph", dependencies: ["FissionCore"]),
        .target(name: "FissionGroups", dependencies: ["FissionCore", "FissionMembers"]),
        .target(name: "FissionRewards", dependencies: ["FissionCore"]),
        .target(name: "FissionStorage", dependencies: ["FissionCore", "FissionRewards"]),
        .target(name: "FissionStorageTesting", dependencies: ["FissionCore", "FissionRewards", "FissionStorage"]),
        // The system libsqlite3 through its C API (no package: the library declares no dependencies).
        .systemLibrary(name: "CFissionSQLite", path: "Sources/CFissionSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .target(
            name: "FissionSQLite",
            dependencies: ["CFissionSQLite", "FissionCore", "FissionRewards", "FissionStorage"]
        ),
        // A child process for the SQLite crash test: appends a deterministic journal until killed.
        .executableTarget(
            name: "fission-sqlite-crash-worker",
            dependencies: ["FissionSQLite", "FissionStorageTesting", "FissionStorage", "FissionCore"]
        ),
        .target(
            name: "Fission",
            dependencies: [
                "FissionCore", "FissionMembers", "FissionGraph", "FissionGroups", "FissionRewards", "FissionStorage",
            ]
        ),
        .testTarget(name: "FissionCoreTests", dependencies: ["FissionCore"]),
        .testTarget(name: "FissionMembersTests", dependencies: ["FissionMembers", "FissionCore"]),
        .testTarget(name: "FissionGraphTests", dependencies: ["FissionCore", "FissionGraph"]),
        .testTarget(name: "FissionGroupsTests", dependencies: ["FissionGroups", "FissionMembers", "FissionCore"]),
        .testTarget(name: "FissionRewardsTests", dependencies: ["FissionRewards", "FissionCore"]),
        .testTarget(name: "FissionTests", dependencies: ["Fission", "FissionStorageTesting", "FissionSQLite"]),
        .testTarget(
            name: "FissionStorageTests",
            dependencies: ["FissionStorage", "FissionStorageTesting", "FissionRewards", "FissionCore"]
        ),
        .testTarget(
            name: "FissionSQLiteTests",
            dependencies: [
                "CFissionSQLite", "FissionSQLite", "FissionStorage", "FissionStorageTesting", "FissionRewards",
                "FissionCore",
                "fission-sqlite-crash-worker",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

for target in package.targets where [.executable, .test, .regular].contains(target.type) {
    var settings = target.swiftSettings ?? []
    // SE-0335: require `any` for existential types.
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    // SE-0444: a file sees only the members of modules it imports itself.
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    // SE-0409: imports are internal unless marked `public import`.
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    // nonisolated async functions run on the caller's actor.
    settings.append(.enableUpcomingFeature("NonisolatedNonsendingByDefault"))
    target.swiftSettings = settings
}
