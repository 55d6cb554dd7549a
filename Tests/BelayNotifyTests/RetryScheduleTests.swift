import BelayCore
import BelayEgress
import BelayFormats
@testable import BelayNotify
import Foundation
import NIOCore
import Testing

@Suite struct RetryScheduleTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    @Test func jitterOnlyDelaysAndRetryAfterIsHonouredUpToADay() {
        let schedule = RetrySchedule.webhook
        #expect(schedule.maxAttempts == 10)
        #expect(schedule.nextAttempt(after: 1, now: now, random: 0) == now + 5)
        #expect(schedule.nextAttempt(after: 1, now: now, random: 0.999)! < now + 5.5)
        #expect(schedule.nextAttempt(after: 2, now: now, retryAfter: 1, random: 0) == now + 300)
        #expect(schedule.nextAttempt(after: 2, now: now, retryAfter: 900, random: 0) == now + 900)
        #expect(schedule.nextAttempt(after: 2, now: now, retryAfter: 1e12, random: 0) == now + 86400)
        #expect(schedule.nextAttempt(after: 10, now: now, random: 0) == nil)
        #expect(RetrySchedule.chat.maxAttempts == 7)
    }

    @Test func retryAfterReadsSecondsAndHTTPDatesAndIgnoresNonsense() {
        #expect(RetryAfter.seconds("120", now: now) == 120)
        #expect(RetryAfter.seconds("Sun, 13 Sep 2026 06:13:20 GMT", now: Date(timeIntervalSince1970: 1_789_366_400)) == 0)
        #expect(RetryAfter.seconds("-5", now: now) == nil)
        #expect(RetryAfter.seconds(String(repeating: "9", count: 40), now: now) == nil)
        #expect(RetryAfter.seconds("soon", now: now) == nil)
    }

    @Test func outcomesMapStatusesAsTheSpecificationAsks() {
        #expect(SendOutcome.http(status: 204, retryAfter: nil, now: now) == .delivered(statusCode: 204))
        #expect(SendOutcome.http(status: 410, retryAfter: nil, now: now).reason?.contains("410") == true)
        #expect(SendOutcome.http(status: 429, retryAfter: "7", now: now) == .retry(statusCode: 429, reason: "HTTP 429 Too Many Requests", retryAfter: 7))
        #expect(SendOutcome.http(status: 404, retryAfter: nil, now: now) == .retry(statusCode: 404, reason: "HTTP 404", retryAfter: nil))
        #expect(SendOutcome.smtp(code: 550, reply: "no such user") == .rejected(statusCode: 550, reason: "SMTP 550 no such user"))
        #expect(SendOutcome.smtp(code: 451, reply: "later") == .retry(statusCode: 451, reason: "SMTP 451 later", retryAfter: nil))
    }

    @Test func csvRoundTripsQuotesAndNeutralisesFormulas() throws {
        #expect(CSV.cell("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"")
        #expect(CSV.cell("+1") == "\"'+1\"")
        #expect(CSV.cell("plain") == "plain")
        let rows = try CSV.parse("a,\"b,c\",\"d \"\"q\"\"\"\r\n\"multi\nline\",,\n")
        #expect(rows == [["a", "b,c", "d \"q\""], ["multi\nline", "", ""]])
        #expect(throws: CSV.Malformed.self) { try CSV.parse("\"open") }
        #expect(throws: CSV.Malformed.self) { try CSV.parse("\"a\"b") }
    }

    @Test func emailAddressesAreCheckedForShapeOnly() {
        #expect(EmailAddress.isValid("ops@example.com"))
        #expect(!EmailAddress.isValid("ops@example"))
        #expect(!EmailAddress.isValid("a b@example.com"))
        #expect(!EmailAddress.isValid("<a@example.com>"))
        #expect(!EmailAddress.isValid("a@example.com\r\nBcc: x@y.z"))
        #expect(EmailAddress.normalized(" Ops@Example.COM ") == "ops@example.com")
    }
}

@Suite struct PublicEgressTests {
    @Test func subscriberURLsCannotReachThisMachineOrReservedRanges() throws {
        let settings = NotifySettings(publicURL: "https://status.example.com", egress: EgressPolicy(allow: [try CIDR(parsing: "127.0.0.0/8")]))
        let policy = settings.publicPolicy
        for address in ["127.0.0.1", "10.1.2.3", "192.0.2.2", "198.18.0.1", "100.64.1.1", "169.254.169.254"] {
            #expect(!policy.allows(try SocketAddress(ipAddress: address, port: 80)), Comment(rawValue: address))
        }
        #expect(policy.allows(try SocketAddress(ipAddress: "93.184.216.34", port: 443)))
        // Every address this machine's interfaces have is refused too.
        for network in LocalAddresses.networks() {
            #expect(NotifySettings.neverPublic.contains(network))
        }
        #expect(!LocalAddresses.networks().isEmpty)
    }
}
