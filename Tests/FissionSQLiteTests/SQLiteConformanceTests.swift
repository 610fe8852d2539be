import FissionSQLite
import FissionStorage
import FissionStorageTesting
import Testing

@Suite("SQLiteStore conformance")
struct SQLiteConformanceTests {
    @Test(
        "every rule of the store contract, reopening and opening again after a crash included",
        arguments: StoreCheck.allCases
    )
    func conformance(_ check: StoreCheck) async throws {
        let directory = TemporaryDirectory()
        let suite = StoreConformance(
            makeStore: { try SQLiteStore(path: directory.uniqueFile()) },
            reopen: { store in
                store.close()
                return try SQLiteStore(path: store.path)
            },
            openAgain: { store in try SQLiteStore(path: store.path) }
        )
        #expect(try await suite.run(check) == .passed)
    }
}
