import FissionCore
import FissionRewards
@_spi(FissionIndexing) import FissionStorage
import Testing

/// The index behind InMemoryStore's uniqueness rules: a match is decided by the keys, never by
/// a fingerprint alone, and undoing insertions restores the table exactly.
@Suite("FingerprintIndex")
struct FingerprintIndexTests {
    /// Keys stored elsewhere, as the store's entries hold them.
    let keys: [EventID] = (0..<500).map { EventID(Int64($0)) }

    @Test("keys sharing one fingerprint are still told apart")
    func collidingFingerprints() {
        var index = FingerprintIndex()
        index.reserve(self.keys.count)
        // Every key under the same fingerprint: each lookup must compare keys to find its own.
        for (position, key) in self.keys.enumerated() {
            let slot = index.insert(7, position: UInt64(position)) { self.keys[Int($0)] == key }
            #expect(slot != nil)
        }
        for (position, key) in self.keys.enumerated() {
            #expect(index.find(7) { self.keys[Int($0)] == key } == UInt64(position))
            #expect(index.insert(7, position: 999) { self.keys[Int($0)] == key } == nil, "a stored key is refused")
        }
        #expect(index.find(8) { _ in true } == nil, "another fingerprint matches nothing")
        #expect(index.count == self.keys.count)
    }

    @Test("growing keeps every position findable")
    func growing() {
        var index = FingerprintIndex()
        let seed = Fingerprint.seed
        for (position, key) in self.keys.enumerated() {
            index.reserve(1)
            _ = index.insert(Fingerprint.of(key, seed: seed), position: UInt64(position)) { _ in false }
        }
        for (position, key) in self.keys.enumerated() {
            let found = index.find(Fingerprint.of(key, seed: seed)) { self.keys[Int($0)] == key }
            #expect(found == UInt64(position))
        }
        let absent: EventID = "absent"
        #expect(index.find(Fingerprint.of(absent, seed: seed)) { self.keys[Int($0)] == absent } == nil)
    }

    @Test("undoing the latest insertions, latest first, restores the table")
    func undo() {
        var index = FingerprintIndex()
        index.reserve(self.keys.count)
        for position in 0..<100 {
            _ = index.insert(UInt64(position % 3), position: UInt64(position)) { _ in false }
        }
        var slots: [Int] = []
        for position in 100..<self.keys.count {
            // Few fingerprints, so the undone insertions sit inside the earlier ones' probe runs.
            if let slot = index.insert(UInt64(position % 3), position: UInt64(position), unlessMatching: { _ in false })
            {
                slots.append(slot)
            }
        }
        for slot in slots.reversed() { index.undoInsertion(at: slot) }
        #expect(index.count == 100)
        for position in 0..<self.keys.count {
            let found = index.find(UInt64(position % 3)) { $0 == UInt64(position) }
            #expect(found == (position < 100 ? UInt64(position) : nil))
        }
    }

    @Test("fingerprints separate an integer id from a string id and every part of a transfer key")
    func fingerprints() throws {
        let seed = Fingerprint.seed
        #expect(Fingerprint.of(EventID(7), seed: seed) != Fingerprint.of(EventID("7"), seed: seed))
        #expect(
            Fingerprint.of(EventID("order-123:paid"), seed: seed)
                == Fingerprint.of(EventID("order-123:paid"), seed: seed)
        )
        let base = TransferKey(.grant, campaign: 1, rule: 1, beneficiary: 2, source: 3, part: 1)
        let variants = [
            TransferKey(.reversal, campaign: 1, rule: 1, beneficiary: 2, source: 3, part: 1),
            TransferKey(.grant, campaign: 9, rule: 1, beneficiary: 2, source: 3, part: 1),
            TransferKey(.grant, campaign: 1, rule: nil, beneficiary: 2, source: 3, part: 1),
            TransferKey(.grant, campaign: 1, rule: 1, beneficiary: nil, source: 3, part: 1),
            TransferKey(.grant, campaign: 1, rule: 1, beneficiary: 2, source: 4, part: 1),
            TransferKey(.grant, campaign: 1, rule: 1, beneficiary: 2, source: 3, part: 2),
        ]
        for variant in variants { #expect(Fingerprint.of(variant, seed: seed) != Fingerprint.of(base, seed: seed)) }
    }
}
