import FissionCore
import FissionMembers
import Foundation
import Testing

/// Stored values are checked on decoding as their initialisers check them, so a value no
/// initialiser would make fails to decode instead of trapping later.
struct DecodingValidationTests {
    private func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private func decode<Value: Decodable>(_ type: Value.Type, _ text: String) throws -> Value {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    /// The reason a decoding error carries, or `nil` if it is not `dataCorrupted`.
    private func corruptionReason(_ error: any Error) -> String? {
        guard case DecodingError.dataCorrupted(let context) = error else { return nil }
        return context.debugDescription
    }

    // MARK: Layering policies and requirements

    /// A policy as it encoded before its decoding was checked: the encoded form is unchanged.
    private static let storedPolicy =
        #"{"currency":{"code":"CNY","minorUnitDigits":2},"fallback":"ordinary","graceDays":7,"tiers":[{"layer":"kol"},"#
        + #"{"layer":"core","requirement":{"maximumDaysSinceLastUse":21,"minimumInvites":0,"minimumMessages":0,"#
        + #""minimumUses":6}},{"layer":"spender","requirement":{"minimumInvites":0,"minimumMessages":0,"#
        + #""minimumSpend":{"currency":{"code":"CNY","minorUnitDigits":2},"minorUnits":50000},"minimumUses":0}}],"windowDays":21}"#

    @Test func aPolicyEncodesAsBeforeAndDecodesBack() throws {
        let policy = try makePolicy()
        #expect(try self.json(policy) == Self.storedPolicy)
        #expect(try self.decode(LayeringPolicy.self, Self.storedPolicy) == policy)
    }

    @Test(arguments: [
        (#""windowDays":21"#, #""windowDays":0"#, "windowDays 0 is outside 1...366"),
        (#""windowDays":21"#, #""windowDays":367"#, "windowDays 367 is outside 1...366"),
        (#""graceDays":7"#, #""graceDays":-1"#, "graceDays -1 is outside 0...366"),
        (#""fallback":"ordinary""#, #""fallback":"kol""#, "layer kol is listed twice"),
        (
            #""minimumSpend":{"currency":{"code":"CNY""#, #""minimumSpend":{"currency":{"code":"USD""#,
            "tier spender has a spend threshold in USD; the policy is in CNY"
        ),
        (
            #""minorUnits":50000},"minimumUses":0"#,
            #""minorUnits":50000},"maximumDaysSinceLastUse":21,"minimumUses":6"#,
            "spender ranks below core but asks at least as much"
        ),
    ])
    func aStoredPolicyTheInitialiserRefusesFailsToDecode(replacing: String, with: String, reason: String) throws {
        let text = Self.storedPolicy.replacingOccurrences(of: replacing, with: with)
        #expect(text != Self.storedPolicy)
        let error = #expect(throws: DecodingError.self) { try self.decode(LayeringPolicy.self, text) }
        #expect(error.flatMap(self.corruptionReason)?.hasPrefix(reason) == true)
    }

    @Test func aPolicyWithAZeroDayWindowNoLongerReachesTheRoster() throws {
        // It decoded before, and adding a member then trapped on the empty window.
        let text = Self.storedPolicy.replacingOccurrences(of: #""windowDays":21"#, with: #""windowDays":0"#)
        #expect(throws: DecodingError.self) { try self.decode(LayeringPolicy.self, text) }
    }

    @Test func aPolicyWithTooManyTiersFailsToDecode() throws {
        let tiers = (0...LayeringPolicy.maximumTiers).map { #"{"layer":"tier\#($0)"}"# }.joined(separator: ",")
        let text =
            #"{"currency":{"code":"CNY","minorUnitDigits":2},"fallback":"ordinary","graceDays":7,"tiers":[\#(tiers)],"windowDays":21}"#
        let error = #expect(throws: DecodingError.self) { try self.decode(LayeringPolicy.self, text) }
        #expect(error.flatMap(self.corruptionReason) == "33 tiers; at most 32")
    }

    @Test(arguments: [
        (
            #"{"minimumInvites":0,"minimumMessages":0,"minimumUses":-1}"#,
            "activity thresholds may not be negative"
        ),
        (
            #"{"minimumInvites":0,"minimumMessages":0,"minimumSpend":{"currency":{"code":"CNY","minorUnitDigits":2},"minorUnits":-5},"minimumUses":1}"#,
            "activity thresholds may not be negative"
        ),
        (
            #"{"maximumDaysSinceLastUse":-1,"minimumInvites":0,"minimumMessages":0,"minimumUses":1}"#,
            "activity thresholds may not be negative"
        ),
        (
            #"{"minimumInvites":0,"minimumMessages":0,"minimumUses":0}"#,
            "a requirement must ask for something; one that asks for nothing admits every member"
        ),
    ])
    func aStoredRequirementTheInitialiserRefusesFailsToDecode(text: String, reason: String) throws {
        let error = #expect(throws: DecodingError.self) { try self.decode(ActivityRequirement.self, text) }
        #expect(error.flatMap(self.corruptionReason) == reason)
        // Inside a policy too.
        let policy =
            #"{"currency":{"code":"CNY","minorUnitDigits":2},"fallback":"ordinary","graceDays":7,"#
            + #""tiers":[{"layer":"core","requirement":\#(text)}],"windowDays":21}"#
        let inPolicy = #expect(throws: DecodingError.self) { try self.decode(LayeringPolicy.self, policy) }
        #expect(inPolicy.flatMap(self.corruptionReason) == reason)
    }

    @Test func aRequirementEncodesAsBeforeAndDecodesBack() throws {
        let requirement = try ActivityRequirement(minimumInvites: 2, maximumDaysSinceLastUse: 0)
        let text = #"{"maximumDaysSinceLastUse":0,"minimumInvites":2,"minimumMessages":0,"minimumUses":0}"#
        #expect(try self.json(requirement) == text)
        #expect(try self.decode(ActivityRequirement.self, text) == requirement)
    }
}
