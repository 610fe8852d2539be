import FissionCore
import FissionMembers
import Foundation
import Testing

struct ValidatedNameTests {
    @Test func aLayerEncodesAsItsNameAndDecodesBack() throws {
        let vip = try Layer("vip")
        let bytes = try JSONEncoder().encode([vip, .core])
        #expect(String(decoding: bytes, as: UTF8.self) == #"["vip","core"]"#)
        #expect(try JSONDecoder().decode([Layer].self, from: bytes) == [vip, .core])
    }

    @Test(arguments: ["", String(repeating: "x", count: 65), "tab\there"])
    func aStoredNameThatIsNotValidFailsToDecode(name: String) throws {
        let bytes = try JSONEncoder().encode([name])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Layer].self, from: bytes) }
    }

    @Test func layersOrderAndPrintByName() throws {
        #expect([Layer.ordinary, .core, .kol].sorted() == [.core, .kol, .ordinary])
        #expect("\(Layer.wordOfMouth)" == "word-of-mouth")
    }
}
