public import FissionCore

extension FissionError.Code {
    /// A transfer amount was zero or negative.
    public static let invalidAmount = Self("invalidAmount")
    /// A transfer would take an account with a balance limit below zero (counting pending debits).
    public static let insufficientFunds = Self("insufficientFunds")
    /// A transfer's two accounts, or an amount and an account, were in different units.
    public static let unitMismatch = Self("unitMismatch")
    /// A transfer's debit and credit accounts were the same.
    public static let sameAccount = Self("sameAccount")
    /// An idempotency key was reused with a different payload.
    public static let idempotencyConflict = Self("idempotencyConflict")
    /// The referenced transfer does not exist.
    public static let transferNotFound = Self("transferNotFound")
    /// A pending transfer was already posted or voided, or the transfer is not pending.
    public static let transferNotPending = Self("transferNotPending")
    /// A reversal exceeded what is left of the transfer to reverse, or targeted a transfer that cannot be reversed.
    public static let invalidReversal = Self("invalidReversal")
}
