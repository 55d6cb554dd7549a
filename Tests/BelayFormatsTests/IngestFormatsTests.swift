import BelayCore
@testable import BelayFormats
import Foundation
import Testing

@Suite struct JSONLimitsTests {
    static func nested(_ depth: Int) -> [UInt8] {
        Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8)
    }

    @Test func nestingUpToTheLimitPassesAndOneMoreLevelFails() throws {
        let limits = JSONLimits(maxDepth: 8)
        try limits.check(Self.nested(8))
        #expect(throws: JSONLimits.Exceeded.self) { try limits.check(Self.nested(9)) }
    }

    @Test func bracketsInsideStringsAreText() throws {
        try JSONLimits(maxDepth: 2).check(Array(#"{"a":"[[[[{{{{\"[[[["}"#.utf8))
    }

    @Test func valuesAreCounted() throws {
        let limits = JSONLimits(maxDepth: 4, maxValues: 5)
        try limits.check(Array(#"[1,true,"x",null]"#.utf8))  // the array and four values
        #expect(throws: JSONLimits.Exceeded.self) { try limits.check(Array(#"[1,true,"x",null,2]"#.utf8)) }
        #expect(throws: JSONLimits.Exceeded.self) { try limits.check(Array("[12345,67890,1,2,3]".utf8)) }
    }

    /// Foundation also reads UTF-16, whose bytes the scan would misread: a UTF-16 "Ģ" (22 01) looks like a
    /// quote and hid the brackets after it (found by the fuzzer).
    @Test func textThatIsNotUTF8IsRefused() throws {
        let hidden = #"["Ģ","# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "]"
        let utf16 = Array(hidden.data(using: .utf16LittleEndian)!)
        #expect(throws: JSONLimits.Exceeded.self) { try JSONLimits().check(utf16) }
        #expect(throws: JSONLimits.Exceeded.self) { try JSONLimits().check([0xFF, 0xFE] + utf16) }
        #expect(throws: JSONLimits.Exceeded.self) { try JSONLimits().check(Array(hidden.data(using: .utf16BigEndian)!)) }
        #expect(throws: MalformedInput.self) { try JSONBody.decode([String].self, from: Data(utf16)) }
    }

    /// custom_details is read with JSONSerialization: a body wide and deep within the limits stays cheap.
    @Test func pagerDutyCustomDetailsAreReadWhateverTheirShape() throws {
        let deep = String(repeating: #"{"k":"#, count: 60) + #"[1,true,null,"x"]"# + String(repeating: "}", count: 60)
        let json = #"{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"db","severity":"error","custom_details":"# + deep + "}}"
        let event = try PagerDutyEvent.decode(Data(json.utf8))
        guard case .object(let top) = event.payload?.custom_details else {
            Issue.record("custom_details not read")
            return
        }
        #expect(top["k"] != nil)
        var value = event.payload?.custom_details
        for _ in 0..<60 { if case .object(let members) = value { value = members["k"] } }
        #expect(value == .array([.number(1), .bool(true), .null, .string("x")]))
    }

    @Test func aBodyNestedAMillionDeepIsRefusedByTheScanNotTheDecoder() {
        #expect(throws: MalformedInput.self) { try JSONBody.decode([String: String].self, from: Data(Self.nested(1_000_000))) }
    }
}

@Suite struct IngestFormatsTests {
    static func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try JSONBody.decode(type, from: Data(json.utf8))
    }

    static func alertmanager(_ alerts: [String]) -> String {
        #"{"version":"4","status":"firing","alerts":["# + alerts.joined(separator: ",") + "]}"
    }

    static let alert = #"{"status":"firing","labels":{"alertname":"HighErrorRate"},"annotations":{"summary":"5xx"},"startsAt":"2026-11-21T16:21:00Z","fingerprint":"f1"}"#

    @Test func alertmanagerBeyondTheAlertLimitIsRefusedWhole() throws {
        let webhook = try Self.decode(AlertmanagerWebhook.self, Self.alertmanager(Array(repeating: Self.alert, count: 3)))
        #expect(try webhook.events(maxAlerts: 3, fingerprint: { _ in "x" }).count == 3)
        #expect(throws: TooManyAlerts(count: 3, limit: 2)) { try webhook.events(maxAlerts: 2, fingerprint: { _ in "x" }) }
    }

    @Test func alertmanagerLinksThatAreNotHTTPAreLeftOut() throws {
        let hostile = Self.alert.replacingOccurrences(of: #""fingerprint""#, with: #""generatorURL":"javascript:alert(1)","fingerprint""#)
        let good = Self.alert.replacingOccurrences(of: #""fingerprint":"f1""#, with: #""generatorURL":"http://prometheus:9090/graph","fingerprint":"f2""#)
        let events = try Self.decode(AlertmanagerWebhook.self, Self.alertmanager([hostile, good])).events(fingerprint: { _ in "x" })
        #expect(events[0].links.isEmpty)
        #expect(events[1].links.map(\.href) == ["http://prometheus:9090/graph"])
    }

    @Test func alertmanagerAnnotationsHaveALimit() throws {
        let huge = Self.alert.replacingOccurrences(of: #""summary":"5xx""#, with: #""description":""# + String(repeating: "x", count: 70_000) + #"""#)
        let webhook = try Self.decode(AlertmanagerWebhook.self, Self.alertmanager([huge]))
        #expect(throws: MalformedInput.self) { try webhook.events(fingerprint: { _ in "x" }) }
    }

    static func pagerDuty(_ payload: String, extra: String = "") -> String {
        #"{"routing_key":"k","event_action":"trigger","dedup_key":"d","payload":"# + payload + extra + "}"
    }

    static func problems(_ json: String) throws -> [String] {
        switch try PagerDutyEvent.decode(Data(json.utf8)).validated(generateKey: { "generated" }) {
        case .success: return []
        case .failure(let problems): return problems.messages
        }
    }

    @Test func pagerDutyHoldsToTheSameTextRulesAsEveryFormat() throws {
        let good = #"{"summary":"Disk full","source":"db-1","severity":"error"}"#
        #expect(try Self.problems(Self.pagerDuty(good)) == [])
        for bad in [
            #"{"summary":"a\u0000b","source":"db-1","severity":"error"}"#,
            #"{"summary":"Disk full","source":"\u001b[31m","severity":"error"}"#,
            #"{"summary":"Disk full","source":"db-1","severity":"error","component":"x\u202Ey"}"#,
            #"{"summary":"Disk full","source":""# + String(repeating: "s", count: 300) + #"","severity":"error"}"#,
            #"{"summary":"Disk full","source":"db-1","severity":"error","custom_details":{"k\u0007":1}}"#,
            #"{"summary":"Disk full","source":"db-1","severity":"error","custom_details":{"k":["\u0000"]}}"#,
        ] {
            #expect(try !Self.problems(Self.pagerDuty(bad)).isEmpty, "\(bad.prefix(80))")
        }
    }

    @Test func pagerDutyKeepsOnlyHTTPLinks() throws {
        let json = Self.pagerDuty(
            #"{"summary":"Disk full","source":"db-1","severity":"error"}"#,
            extra: #","links":[{"href":"javascript:alert(1)"},{"href":"https://runbooks.example.com/a","text":"runbook"}],"client_url":"data:text/html,x""#)
        guard case .success(let valid) = try PagerDutyEvent.decode(Data(json.utf8)).validated(generateKey: { "g" }) else {
            Issue.record("refused")
            return
        }
        #expect(valid.event.links == [SignalLink(href: "https://runbooks.example.com/a", text: "runbook")])
    }

    @Test func genericEventsRefuseABadLinkOutright() throws {
        let event = try Self.decode(GenericEvent.self, #"{"summary":"x","links":[{"href":"javascript:alert(1)"}]}"#)
        #expect(throws: MalformedInput.self) { try event.event(generateKey: { "g" }) }
    }
}

@Suite struct ExternalLinkTests {
    @Test(arguments: ["https://example.com/a?b=c#d", "http://10.0.0.1:9090/graph", "HTTPS://EXAMPLE.COM"])
    func httpLinksPass(link: String) {
        #expect(ExternalLink.validated(link) == link)
    }

    @Test(arguments: [
        "javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)", "data:text/html,x", "vbscript:x",
        "//evil.example/x", "/relative", "https://", "http:///path", "", "https://exa mple.com",
    ])
    func everythingElseFails(link: String) {
        #expect(ExternalLink.validated(link) == nil)
    }

    @Test func overlongLinksFail() {
        #expect(ExternalLink.validated("https://example.com/" + String(repeating: "a", count: 3000)) == nil)
    }
}

@Suite struct ForwardedClientTests {
    let proxies = [try! CIDR(parsing: "10.0.0.0/8"), try! CIDR(parsing: "127.0.0.1")]

    @Test func anUntrustedPeerIsTheClientWhateverItSays() {
        #expect(ForwardedClient.address(peer: "203.0.113.9", forwardedFor: ["198.51.100.1"], forwarded: [], trusted: proxies) == "203.0.113.9")
        #expect(ForwardedClient.address(peer: "203.0.113.9", forwardedFor: ["198.51.100.1"], forwarded: [], trusted: []) == "203.0.113.9")
    }

    @Test func trustedHopsAreSkippedFromTheRight() {
        // The client can write anything at the left; only what the trusted proxies appended counts.
        #expect(ForwardedClient.address(peer: "10.0.0.2", forwardedFor: ["1.2.3.4, 198.51.100.7, 10.0.0.5"], forwarded: [], trusted: proxies) == "198.51.100.7")
        #expect(ForwardedClient.address(peer: "127.0.0.1", forwardedFor: ["198.51.100.7"], forwarded: [], trusted: proxies) == "198.51.100.7")
        #expect(ForwardedClient.address(peer: "127.0.0.1", forwardedFor: ["10.0.0.9"], forwarded: [], trusted: proxies) == "10.0.0.9")
    }

    @Test func rfc7239FormsAreRead() {
        #expect(ForwardedClient.address(peer: "10.0.0.2", forwardedFor: [], forwarded: [#"for="[2001:db8::1]:4711";proto=https"#], trusted: proxies) == "2001:db8::1")
        #expect(ForwardedClient.address(peer: "10.0.0.2", forwardedFor: [], forwarded: ["for=192.0.2.60;proto=http, for=10.0.0.3"], trusted: proxies) == "192.0.2.60")
    }

    @Test func garbageStopsAtTheLastTrustedHop() {
        #expect(ForwardedClient.address(peer: "10.0.0.2", forwardedFor: ["not-an-address"], forwarded: [], trusted: proxies) == "10.0.0.2")
        #expect(ForwardedClient.address(peer: "10.0.0.2", forwardedFor: ["198.51.100.7\u{0}"], forwarded: [], trusted: proxies) == "10.0.0.2")
    }
}

@Suite struct AddressParsingTests {
    @Test func anEmbeddedNULIsNotAnAddress() {
        #expect(IPAddress(parsing: "127.0.0.1\u{0}.evil") == nil)
        #expect(throws: CIDRError.self) { try CIDR(parsing: "10.0.0.0\u{0}/8") }
    }

    @Test func listsSkipBlanksAndNameTheBadEntry() throws {
        #expect(try CIDR.parseList(" 10.0.0.0/8, ,fd00::/8 ").map(\.description) == ["10.0.0.0/8", "fd00::/8"])
        #expect(throws: CIDRError(text: "10.0.0.0/33")) { try CIDR.parseList("10.0.0.0/33") }
    }
}
