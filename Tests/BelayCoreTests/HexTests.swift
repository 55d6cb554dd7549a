import BelayCore
import Foundation
import Testing

struct HexTests {
    @Test func bytesBecomeTwoLowerCaseDigitsEach() {
        #expect([UInt8]().hexString == "")
        #expect([0x00, 0x0f, 0x10, 0xab, 0xff].hexString == "000f10abff")
        #expect((0...255).map { UInt8($0) }.hexString == (0...255).map { String(format: "%02x", $0) }.joined())
    }
}
