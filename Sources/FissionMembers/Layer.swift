public import FissionCore

/// Which layer of the community a member is in: KOL, core, ordinary, word-of-mouth or one an
/// operator defines.
///
/// Layers drive which group a member belongs in and which rewards they get: heavy users are
/// moved into a core group with better rewards. A layer is only a name; its rank and how a
/// member reaches it come from a ``LayeringPolicy``.
public struct Layer: ValidatedName {
    /// The longest layer name, in UTF-8 bytes.
    public static var maximumUTF8Length: Int { 64 }

    /// Community leaders, usually appointed by operators.
    public static let kol = Layer(validated: "kol")
    /// Members who use the product often: about twice a week, at least every two to three weeks.
    public static let core = Layer(validated: "core")
    /// Everyone else who is a customer.
    public static let ordinary = Layer(validated: "ordinary")
    /// People in reputation groups who may not be customers.
    public static let wordOfMouth = Layer(validated: "word-of-mouth")

    /// The layer's name.
    public let name: String

    /// Creates an operator-defined layer, such as `"vip"`.
    ///
    /// - Throws: ``FissionError/Code/invalidName`` if the name is empty, too long or holds a
    ///   control character.
    public init(_ name: String) throws(FissionError) {
        try validateName(name, what: "layer name", maximumUTF8Length: Self.maximumUTF8Length, code: .invalidName)
        self.name = name
    }

    private init(validated name: String) {
        self.name = name
    }
}
