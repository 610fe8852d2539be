import Testing

@testable import FissionRewards

/// The settlement's memory per transfer: a paid order writes two records, each faulted in once.
struct LedgerLayoutTests {
    @Test func aRecordIsNinetySixBytes() {
        #expect(MemoryLayout<Ledger.Record>.stride == 96)
        #expect(MemoryLayout<Ledger.CompactKey>.size == 21)
    }
}
