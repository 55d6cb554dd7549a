@testable import BelayServer
import HTTPTypes
import Testing

@Suite struct HeaderNamesTests {
    @Test func everyHeaderNameIsItsLiteralNotTheFallback() {
        let names: [(HTTPField.Name, String)] = [
            (.literal("X-Content-Type-Options"), "X-Content-Type-Options"), (.referrerPolicy, "Referrer-Policy"), (.xFrameOptions, "X-Frame-Options"),
            (.xAccelBuffering, "X-Accel-Buffering"), (.xForwardedFor, "X-Forwarded-For"), (.forwarded, "Forwarded"),
        ]
        for (name, text) in names { #expect(name.rawName == text) }
    }
}
