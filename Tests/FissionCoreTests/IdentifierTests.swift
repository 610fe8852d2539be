import FissionCore
import Foundation
import Testing

struct IdentifierTests {
    @Test func integerAndStringIdentifiersAreDistinct() throws {
        let integer = MemberID(7)
        let string: MemberID = "7"  // a literal: checked when written, so no `try`
        #expect(integer != string)
        #expect(integer.integerValue == 7)
        #expect(string.stringValue == "7")
        #expect(integer.description == string.description)
    }

    @Test func stringsCompareByBytesNotCanonicalEquivalence() throws {
        let composed: MemberID = "caf\u{E9}"
        let decomposed: MemberID = "cafe\u{301}"
        // Swift's String == treats these as equal; a database storing bytes does not.
        #expect("caf\u{E9}" == "cafe\u{301}")
        #expect(composed != decomposed)
        #expect(Set([composed, decomposed]).count == 2)
    }

    @Test(
        "Malformed string identifiers are refused",
        arguments: [
            "",
            String(repeating: "x", count: 129),
            "tab\there",
            "nul\u{0}",
            "newline\n",
        ]
    )
    func malformedStringsAreRefused(text: String) {
        #expect(throws: FissionError(code: .invalidIdentifier)) { try MemberID(text) }
    }

    @Test func longestAllowedIdentifierIsAccepted() throws {
        let text = String(repeating: "\u{4E2D}", count: 42)  // 126 UTF-8 bytes
        #expect(try MemberID(text).stringValue == text)
    }

    @Test func unsignedAboveInt64MaxIsRefusedNotTruncated() throws {
        #expect(try MemberID(unsigned: 42) == MemberID(42))
        #expect(throws: FissionError(code: .invalidIdentifier)) { try MemberID(unsigned: UInt64(Int64.max) + 1) }
    }

    @Test func orderIsIntegersThenStringsByBytes() throws {
        let ids: [MemberID] = ["b", 10, "a", -3, "B", 2]
        #expect(ids.sorted() == [-3, 2, 10, "B", "a", "b"])
    }

    @Test func codableKeepsTheForm() throws {
        let ids: [OrderID] = [42, "SO-2026-0001", -1]
        let data = try JSONEncoder().encode(ids)
        #expect(String(decoding: data, as: UTF8.self) == #"[42,"SO-2026-0001",-1]"#)
        #expect(try JSONDecoder().decode([OrderID].self, from: data) == ids)
    }

    @Test func decodingRefusesInvalidStrings() {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([MemberID].self, from: Data(#"[""]"#.utf8)) }
    }
}

struct FissionErrorTests {
    @Test func equalityIsByCodeOnly() {
        let first = FissionError(code: .currencyMismatch, reason: "one")
        let second = FissionError(code: .currencyMismatch, reason: "two")
        #expect(first == second)
        #expect(first != FissionError(code: .arithmeticOverflow))
        #expect(Set([first, second]).count == 1)
    }

    @Test func descriptionNamesCodeReasonAndCallSite() {
        let error = FissionError(code: .invalidRate, reason: "120% is too much")
        #expect(error.description.hasPrefix("FissionError.invalidRate: 120% is too much (FissionCoreTests/"))
        #expect(error.line > 0)
    }
}
