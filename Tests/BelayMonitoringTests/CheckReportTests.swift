import Testing

@testable import BelayMonitoring

struct CheckReportTests {
    @Test func controlCharactersFromAServerBecomeReplacementCharacters() {
        let report = CheckReport(outcome: .down, message: "HTTP 500: bad\u{0}body\u{1B}[31m\u{202E}x")
        #expect(report.message == "HTTP 500: bad\u{FFFD}body\u{FFFD}[31m\u{FFFD}x")
        #expect(CheckReport(outcome: .up, message: "200 OK in 12 ms\ttabs stay").message == "200 OK in 12 ms\ttabs stay")
    }
}
