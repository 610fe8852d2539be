// Checked 64-bit arithmetic and exact splitting shared by Money, Points and the ledger.
// Overflow is an error, never a trap.

extension Int64 {
    /// `self + other`, or ``FissionError/Code/arithmeticOverflow``.
    package func checkedAdding(_ other: Int64, _ what: @autoclosure () -> String) throws(FissionError) -> Int64 {
        let (sum, overflow) = self.addingReportingOverflow(other)
        guard !overflow else {
            throw FissionError(code: .arithmeticOverflow, reason: "\(what()): \(self) + \(other) overflows Int64")
        }
        return sum
    }

    /// `self - other`, or ``FissionError/Code/arithmeticOverflow``.
    package func checkedSubtracting(
        _ other: Int64,
        _ what: @autoclosure () -> String
    ) throws(FissionError) -> Int64 {
        let (difference, overflow) = self.subtractingReportingOverflow(other)
        guard !overflow else {
            throw FissionError(code: .arithmeticOverflow, reason: "\(what()): \(self) - \(other) overflows Int64")
        }
        return difference
    }

    /// `self * other`, or ``FissionError/Code/arithmeticOverflow``.
    package func checkedMultiplying(
        by other: Int64,
        _ what: @autoclosure () -> String
    ) throws(FissionError) -> Int64 {
        let (product, overflow) = self.multipliedReportingOverflow(by: other)
        guard !overflow else {
            throw FissionError(code: .arithmeticOverflow, reason: "\(what()): \(self) * \(other) overflows Int64")
        }
        return product
    }

    /// `floor(self * numerator / denominator)` computed in 128 bits, for `self >= 0`,
    /// `0 <= numerator <= denominator` and `denominator > 0`: the result never exceeds `self`.
    package func scaledDown(numerator: Int64, denominator: Int64) -> (quotient: Int64, remainder: Int64) {
        precondition(self >= 0, "scaledDown needs a non-negative amount, got \(self)")
        precondition(denominator > 0, "scaledDown needs a positive denominator, got \(denominator)")
        precondition(
            numerator >= 0 && numerator <= denominator,
            "scaledDown needs 0 <= numerator <= denominator, got \(numerator)/\(denominator)"
        )
        let product = self.multipliedFullWidth(by: numerator)
        let result = denominator.dividingFullWidth(product)
        return (result.quotient, result.remainder)
    }
}

/// The most parts one split may produce.
package let maximumSplitParts = 10_000

/// Splits `whole` into parts proportional to `weights` with the largest-remainder method.
///
/// Each part is first rounded down; the units left over go one each to the parts with the
/// largest remainders, earlier parts first among equals. The parts always sum to `whole`, a
/// zero weight always gets zero, and no part is negative.
package func splitExactly(_ whole: Int64, weights: [Int64]) throws(FissionError) -> [Int64] {
    guard whole >= 0 else {
        throw FissionError(code: .negativeAmount, reason: "cannot split a negative amount (\(whole))")
    }
    guard !weights.isEmpty, weights.count <= maximumSplitParts else {
        throw FissionError(
            code: .invalidWeights,
            reason: "a split needs 1 to \(maximumSplitParts) weights, got \(weights.count)"
        )
    }
    var totalWeight: Int64 = 0
    for (index, weight) in weights.enumerated() {
        guard weight >= 0 else {
            throw FissionError(code: .invalidWeights, reason: "weight \(index) is negative (\(weight))")
        }
        let (sum, overflow) = totalWeight.addingReportingOverflow(weight)
        guard !overflow else {
            throw FissionError(code: .invalidWeights, reason: "the weights sum past Int64.max")
        }
        totalWeight = sum
    }
    guard totalWeight > 0 else {
        throw FissionError(code: .invalidWeights, reason: "all \(weights.count) weights are zero")
    }

    var parts = [Int64](repeating: 0, count: weights.count)
    var remainders = [Int64](repeating: 0, count: weights.count)
    var assigned: Int64 = 0
    for index in weights.indices {
        let (quotient, remainder) = whole.scaledDown(numerator: weights[index], denominator: totalWeight)
        parts[index] = quotient
        remainders[index] = remainder
        assigned += quotient  // cannot overflow: the quotients sum to at most `whole`
    }
    // The leftover is below the number of parts with a non-zero remainder, so only those receive.
    let leftover = Int(whole - assigned)
    if leftover > 0 {
        let order = weights.indices.sorted {
            remainders[$0] > remainders[$1] || (remainders[$0] == remainders[$1] && $0 < $1)
        }
        for index in order.prefix(leftover) {
            parts[index] += 1
        }
    }
    return parts
}
