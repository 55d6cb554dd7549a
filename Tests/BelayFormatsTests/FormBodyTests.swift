import BelayFormats
import Testing

@Suite struct FormBodyTests {
    @Test func decodesPlusPercentAndRepeatedNames() throws {
        let form = try FormBody(parsing: Array("email=a%40b.example&name=Dana+Lee&c=1&c=2&empty=&flag".utf8))
        #expect(form["email"] == "a@b.example")
        #expect(form["name"] == "Dana Lee")
        #expect(form.all("c") == ["1", "2"])
        #expect(form["empty"] == "")
        #expect(form["flag"] == "")
    }

    /// What used to kill the server: Foundation's URLComponents trapped on these as a query.
    @Test(arguments: ["email=a b", "q=\"quoted\"", "x={}", "a=<b>", "a=|", "a=\\"])
    func bytesBrowsersWouldEscapeAreReadAsTheyCame(body: String) throws {
        let form = try FormBody(parsing: Array(body.utf8))
        #expect(form.items.count == 1)
    }

    @Test(arguments: ["a=%", "a=%z1", "a=%1", "a=%zz&b=1", "%=x"])
    func aBadEscapeIsAnError(body: String) {
        #expect(throws: FormBody.Malformed.self) { try FormBody(parsing: Array(body.utf8)) }
    }

    @Test func textThatIsNotUTF8OrHoldsControlsIsAnError() {
        #expect(throws: FormBody.Malformed.self) { try FormBody(parsing: [0x61, 0x3D, 0xFF, 0xFE]) }
        #expect(throws: FormBody.Malformed.self) { try FormBody(parsing: Array("a=%00".utf8)) }
        #expect(throws: FormBody.Malformed.self) { try FormBody(parsing: Array("a=%1B[31m".utf8)) }
        #expect((try? FormBody(parsing: Array("a=line%0D%0Anext%09tab".utf8)))?["a"] == "line\r\nnext\ttab")
    }

    @Test func tooManyFieldsIsAnError() {
        let body = (0...FormBody.maxFields).map { "f\($0)=1" }.joined(separator: "&")
        #expect(throws: FormBody.Malformed.self) { try FormBody(parsing: Array(body.utf8)) }
    }

    @Test func emptyBodyHasNoFields() throws {
        #expect(try FormBody(parsing: [UInt8]()).items.isEmpty)
        #expect(try FormBody(parsing: Array("&&".utf8)).items.isEmpty)
    }
}
