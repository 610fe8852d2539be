/// A deterministic 64-bit hash (FNV-1a), the same in every process and on every machine.
///
/// Swift's `Hasher` is seeded per process, so it cannot fingerprint a payload that must compare
/// equal after a restart. Fission uses this to tell "the same command again" from "a different
/// command reusing a key". It is not cryptographic.
package struct StableHasher: Sendable {
    private var state: UInt64 = 0xCBF2_9CE4_8422_2325

    package init() {}

    package mutating func combine(_ value: UInt64) {
        var remaining = value
        for _ in 0..<8 {
            self.state = (self.state ^ (remaining & 0xFF)) &* 0x0000_0100_0000_01B3
            remaining >>= 8
        }
    }

    package mutating func combine(_ value: Int64) { self.combine(UInt64(bitPattern: value)) }

    package mutating func combine(_ value: Bool) { self.combine(value ? 1 as UInt64 : 0) }

    package mutating func combine(_ string: String) {
        self.combine(UInt64(string.utf8.count))
        for byte in string.utf8 { self.state = (self.state ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    }

    package mutating func combine<Kind>(_ identifier: Identifier<Kind>) {
        switch identifier.value {
        case .integer(let integer):
            self.combine(0 as UInt64)
            self.combine(integer)
        case .string(let string):
            self.combine(1 as UInt64)
            self.combine(string)
        }
    }

    package mutating func combine(_ money: Money) {
        self.combine(money.minorUnits)
        self.combine(money.currency.code)
        self.combine(Int64(money.currency.minorUnitDigits))
    }

    package var value: UInt64 { self.state }
}
