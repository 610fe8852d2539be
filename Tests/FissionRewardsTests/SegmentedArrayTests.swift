import FissionCore
import Testing

@testable import FissionRewards

// The ledger's records, the hold queue, orders and settled events live in a SegmentedArray
// (Decision 0015). Everything the settlement relies on is checked against a plain Array doing the
// same operations: appends across segment boundaries, writes in place, truncation (a rolled-back
// event), copy-on-write between copies of a settlement, and reserving room.

/// A 24-byte element: a full segment holds 32,768 of them.
private struct Row: Equatable {
    var value: Int64
    var other: Int64
    var flag: Int32
}

private func row(_ value: Int) -> Row {
    Row(value: Int64(value), other: Int64(value) &* 31, flag: Int32(truncatingIfNeeded: value))
}

struct SegmentedArrayTests {
    @Test func segmentsHoldAboutOneMebibyte() {
        #expect(SegmentedArray<Row>.segmentCapacity == 32_768)
        #expect(SegmentedArray<Int32>.segmentCapacity == 262_144)
        #expect(SegmentedArray<UInt8>.segmentCapacity == 1_048_576)
    }

    @Test(arguments: [0, 1, 16, 17, 32_767, 32_768, 32_769, 100_000])
    func appendsAndReadsBackInOrder(count: Int) {
        var segmented = SegmentedArray<Row>()
        for index in 0..<count { segmented.append(row(index)) }
        #expect(segmented.count == count)
        #expect(segmented.elementsEqual((0..<count).map(row)))
        #expect(segmented.last == (count == 0 ? nil : row(count - 1)))
    }

    @Test func writesInPlaceAcrossSegments() {
        var segmented = SegmentedArray((0..<70_000).map(row))
        var reference = (0..<70_000).map(row)
        for index in stride(from: 0, to: 70_000, by: 997) {
            segmented[index].other = -1
            reference[index].other = -1
        }
        segmented.swapAt(5, 65_000)
        reference.swapAt(5, 65_000)
        #expect(segmented.elementsEqual(reference))
    }

    @Test func truncatingFreesSegmentsAndAppendingRefillsThem() {
        var segmented = SegmentedArray((0..<100_000).map(row))
        segmented.removeLast(99_990)
        #expect(segmented.count == 10)
        #expect(segmented.elementsEqual((0..<10).map(row)))
        for index in 10..<70_000 { segmented.append(row(index)) }
        #expect(segmented.elementsEqual((0..<70_000).map(row)))
        #expect(segmented.removeLast() == row(69_999))
        segmented.removeAll()
        #expect(segmented.isEmpty)
        segmented.append(row(7))
        #expect(Array(segmented) == [row(7)])
    }

    @Test func copiesAreIndependent() {
        var original = SegmentedArray((0..<40_000).map(row))
        var copy = original
        copy[3].value = -3
        copy.append(row(40_000))
        original.removeLast(39_000)
        #expect(original.elementsEqual((0..<1_000).map(row)))
        var expected = (0..<40_001).map(row)
        expected[3].value = -3
        #expect(copy.elementsEqual(expected))
        #expect(original != copy)
    }

    @Test func reservingRoomKeepsTheElements() {
        var segmented = SegmentedArray((0..<20).map(row))
        segmented.reserveCapacity(100_000)
        #expect(segmented.elementsEqual((0..<20).map(row)))
        for index in 20..<100_000 { segmented.append(row(index)) }
        #expect(segmented.elementsEqual((0..<100_000).map(row)))
        segmented.reserveCapacity(10)
        #expect(segmented.count == 100_000)
    }

    @Test func randomOperationsMatchAnArray() {
        var random = SeededGenerator(seed: 15)
        var segmented = SegmentedArray<Row>()
        var reference: [Row] = []
        var copies: [(SegmentedArray<Row>, [Row])] = []
        for step in 0..<4_000 {
            switch random.next() % 10 {
            case 0...5:
                let burst = Int(random.next() % 200)
                for offset in 0..<burst { segmented.append(row(step * 1_000 + offset)) }
                reference.append(contentsOf: (0..<burst).map { row(step * 1_000 + $0) })
            case 6:
                let k = reference.isEmpty ? 0 : Int(random.next() % UInt64(reference.count + 1))
                segmented.removeLast(k)
                reference.removeLast(k)
            case 7 where !reference.isEmpty:
                let index = Int(random.next() % UInt64(reference.count))
                segmented[index].flag = Int32(step)
                reference[index].flag = Int32(step)
            case 8:
                copies.append((segmented, reference))
            default:
                segmented.reserveCapacity(reference.count + Int(random.next() % 50_000))
            }
            #expect(segmented.count == reference.count, "step \(step), seed 15")
        }
        #expect(segmented.elementsEqual(reference), "seed 15")
        for (copy, expected) in copies { #expect(copy.elementsEqual(expected), "seed 15") }
    }
}

/// Counts the live instances of ``Tracked``.
private final class LiveCount {
    var value = 0
}

/// An element with a reference and a lifetime: the id tables hold identifiers, which may hold strings.
private final class Tracked {
    let count: LiveCount
    let tag: Int

    init(_ tag: Int, _ count: LiveCount) {
        self.tag = tag
        self.count = count
        count.value += 1
    }

    deinit { self.count.value -= 1 }
}

struct SegmentedArrayOwnershipTests {
    @Test func elementsWithReferencesAreReleasedExactlyOnce() {
        let live = LiveCount()
        do {
            var segmented = SegmentedArray<Tracked>()
            for index in 0..<300_000 { segmented.append(Tracked(index, live)) }
            #expect(live.value == 300_000)
            var copy = segmented
            copy.removeLast(150_000)
            #expect(live.value == 300_000, "the copy's removals leave the shared elements alive")
            segmented.removeLast(200_000)
            // 100,000..<150,000 are still the copy's; 150,000..<300,000 were only this array's.
            #expect(live.value == 150_000)
            #expect(copy.count == 150_000 && segmented.count == 100_000)
            #expect(segmented.removeLast().tag == 99_999)
            #expect(copy[149_999].tag == 149_999)
        }
        #expect(live.value == 0)
    }

    @Test func stringIdentifiersSurviveGrowthAndCopies() {
        var segmented = SegmentedArray<MemberID>()
        var reference: [MemberID] = []
        for index in 0..<50_000 {
            let id: MemberID = index.isMultiple(of: 3) ? MemberID(Int64(index)) : try! MemberID("openid-\(index)")
            segmented.append(id)
            reference.append(id)
        }
        let copy = segmented
        segmented[7] = "changed"
        reference[7] = "changed"
        #expect(segmented.elementsEqual(reference))
        #expect(copy[7] == "openid-7")
    }
}
