public import FissionCore

extension FissionError.Code {
    /// A tag's category or value was empty, too long or held a control character.
    public static let invalidTag = Self("invalidTag")
    /// A layer or channel name was empty, too long or held a control character.
    public static let invalidName = Self("invalidName")
    /// A fingerprint was not a hex digest, which is how Fission keeps raw phone numbers out.
    public static let invalidFingerprint = Self("invalidFingerprint")
    /// A member was added twice.
    public static let duplicateMember = Self("duplicateMember")
    /// The referenced member is unknown.
    public static let memberNotFound = Self("memberNotFound")
    /// An activity was dated before the member joined.
    public static let activityBeforeJoin = Self("activityBeforeJoin")
    /// A layering policy's window, grace period or requirement was out of range or empty.
    public static let invalidLayeringPolicy = Self("invalidLayeringPolicy")
    /// A layer appeared twice in a layering policy.
    public static let duplicateLayer = Self("duplicateLayer")
    /// A lower layer's requirement is at least as strict as a higher one's, so it could never be reached.
    public static let contradictoryThresholds = Self("contradictoryThresholds")
    /// A layer is not part of the layering policy.
    public static let unknownLayer = Self("unknownLayer")
    /// A refund would take more out of a member's recorded spend than the day it was paid holds,
    /// with the spend no kept day holds (``ActivityStats/refundableSpend(paidOn:)``,
    /// ``ActivityStats/recordRefund(_:paidOn:)``).
    public static let refundExceedsSpend = Self("refundExceedsSpend")
}

/// Validates a short operator-chosen name: 1 to `maximumUTF8Length` bytes, no control characters.
package func validateName(
    _ text: String,
    what: String,
    maximumUTF8Length: Int,
    code: FissionError.Code
) throws(FissionError) {
    let length = text.utf8.count
    guard length > 0, length <= maximumUTF8Length else {
        throw FissionError(code: code, reason: "\(what) \"\(text)\" must be 1 to \(maximumUTF8Length) UTF-8 bytes")
    }
    for scalar in text.unicodeScalars where scalar.properties.generalCategory == .control {
        throw FissionError(code: code, reason: "\(what) holds a control character")
    }
}
