import BelayServer
import Foundation
import Testing

@Suite struct BelayJSONTests {
    @Test(arguments: [
        ("2026-11-21T16:21:00Z", 1_795_278_060.0), ("2026-11-21T16:21:00.250Z", 1_795_278_060.25),
        ("2026-11-21T18:21:00+02:00", 1_795_278_060.0), ("2026-11-21T11:51:00-04:30", 1_795_278_060.0),
        ("2024-02-29T00:00:00Z", 1_709_164_800.0),
        // PagerDuty documents offsets without a colon; Alertmanager sends nanoseconds.
        ("2026-11-21T16:21:00.000+0000", 1_795_278_060.0), ("2026-11-21T18:21:00+0200", 1_795_278_060.0),
        ("2026-11-21T16:21:00.250000000Z", 1_795_278_060.25), ("0001-01-01T00:00:00Z", -62_135_596_800.0),
    ])
    func realDateTimesParse(text: String, seconds: Double) throws {
        let date = try #require(BelayJSON.parseDate(text))
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.0005)
    }

    @Test(arguments: [
        "2024-01-01T12:99:00Z", "2024-01-01T25:00:00Z", "2026-02-30T10:00:00Z", "2026-13-01T10:00:00Z", "2026-11-20T10:00:61Z",
        "2026-11-20T10:00:00+18:01", "2025-02-29T00:00:00Z", "2026-11-20", "yesterday", "2026-11-20T10:00:00", "2026-11-20 10:00:00Z", "",
        "٢٠٢٦-١١-٢٠T١٠:٠٠:٠٠Z",  // Arabic-Indic digits
        "2026-11-21T16:21:00.Z", "2026-11-21T16:21:00+020", "2026-11-21T16:21:00Zjunk", "2026-11-21T16:21:00.1234567891Z",
    ])
    func impossibleOrPartialDateTimesAreRefused(text: String) {
        #expect(BelayJSON.parseDate(text) == nil)
    }

    @Test func formattedDatesParseBackToTheSameInstant() throws {
        let date = Date(timeIntervalSince1970: 1_795_278_060.123)
        let parsed = try #require(BelayJSON.parseDate(BelayJSON.formatDate(date)))
        #expect(abs(parsed.timeIntervalSince(date)) < 0.001)  // written to the millisecond
    }
}
