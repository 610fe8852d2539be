import FissionStorage
import FissionStorageTesting
import Testing

@Suite("InMemoryStore conformance")
struct InMemoryStoreConformanceTests {
    @Test("every rule of the store contract", arguments: StoreCheck.allCases)
    func conformance(_ check: StoreCheck) async throws {
        let result = try await StoreConformance(makeStore: { InMemoryStore() }).run(check)
        if check == .reopenDurability || check == .crashDurability {
            #expect(result != .passed, "an in-memory store has no reopen or openAgain closure")
        } else {
            #expect(result == .passed)
        }
    }
}
