import BelayEgress
import BelayCore
import BelayMonitoring
import Foundation
import NIOCore
import Testing

@Suite struct HTTPCheckerTests {
    let checkers = Fixtures.checkers()

    func check(_ settings: MonitorSettings, timeout: Int = 30) async -> CheckReport {
        await checkers.check(Fixtures.monitor(.http, settings, timeout: timeout), now: Date())
    }

    @Test func aHealthyEndpointIsUpWithStatusAndLatency() async throws {
        try await TestHTTPServer.with { server in
            let report = await check(MonitorSettings(url: server.base + "/ok"))
            #expect(report.outcome == .up)
            #expect(report.message.hasPrefix("200 OK in "))
            #expect(report.message.hasSuffix(" ms"))
            #expect((report.latencyMs ?? -1) > 0)
        }
    }

    @Test func aClosedPortIsDownWithConnectionRefused() async throws {
        let port = try await Fixtures.closedPort()
        let report = await check(MonitorSettings(url: "http://127.0.0.1:\(port)/"))
        #expect(report.outcome == .down)
        #expect(report.message == "connection refused")
    }

    @Test func anUnexpectedStatusIsDown() async throws {
        try await TestHTTPServer.with { server in
            let report = await check(MonitorSettings(url: server.base + "/status/503"))
            #expect(report.outcome == .down)
            #expect(report.message == "status 503 (expected 200-399)")

            let listed = await check(MonitorSettings(url: server.base + "/ok", expectedStatus: [204, 201]))
            #expect(listed.message == "status 200 (expected 204, 201)")

            let accepted = await check(MonitorSettings(url: server.base + "/status/503", expectedStatus: [503]))
            #expect(accepted.outcome == .up)
            #expect(accepted.message.hasPrefix("503 Service Unavailable in "))
        }
    }

    @Test func aMissingKeywordIsDown() async throws {
        try await TestHTTPServer.with { server in
            let found = await check(MonitorSettings(url: server.base + "/ok", keyword: "systems ok"))
            #expect(found.outcome == .up)
            let missing = await check(MonitorSettings(url: server.base + "/ok", keyword: "degraded"))
            #expect(missing.outcome == .down)
            #expect(missing.message == "keyword \"degraded\" not found")
        }
    }

    @Test func onlyTheFirstMebibyteOfABodyIsSearched() async throws {
        try await TestHTTPServer.with { server in
            let within = await check(MonitorSettings(url: server.base + "/big/1000000", keyword: "needle"))
            #expect(within.outcome == .up)
            let beyond = await check(MonitorSettings(url: server.base + "/big/2000000", keyword: "needle"))
            #expect(beyond.outcome == .down)
            #expect(beyond.message == "keyword \"needle\" not found in the first 1 MiB")
        }
    }

    @Test func aRegexMustMatchTheBody() async throws {
        try await TestHTTPServer.with { server in
            let matched = await check(MonitorSettings(url: server.base + "/ok", regex: "^all\\s+\\w+ ok$"))
            #expect(matched.outcome == .up)
            let unmatched = await check(MonitorSettings(url: server.base + "/ok", regex: "^fail"))
            #expect(unmatched.outcome == .down)
            #expect(unmatched.message == "regex \"^fail\" did not match")
        }
    }

    @Test func aCatastrophicRegexGivesUpWithinItsTimeLimit() async throws {
        try await TestHTTPServer.with { server in
            let started = Date()
            // (a+)+$ against a long run of "a" followed by "needle" backtracks exponentially.
            let report = await check(MonitorSettings(url: server.base + "/big/5000", regex: "(a+)+b$"), timeout: 10)
            let elapsed = Date().timeIntervalSince(started)
            #expect(report.outcome == .down)
            #expect(report.message.contains("regex gave up after 1.0 s"))
            // Well under the check's own 10 s timeout, with room for a machine whose cores are all busy.
            #expect(elapsed < 8)
        }
    }

    @Test func aSlowAnswerIsDegraded() async throws {
        try await TestHTTPServer.with { server in
            let report = await check(MonitorSettings(url: server.base + "/slow/300", latencyWarnMs: 100))
            #expect(report.outcome == .degraded)
            #expect(report.message.hasSuffix(", slower than 100 ms"))
            #expect((report.latencyMs ?? 0) >= 300)
            let fast = await check(MonitorSettings(url: server.base + "/ok", latencyWarnMs: 20_000))
            #expect(fast.outcome == .up)
        }
    }

    @Test func noAnswerTimesOutAtTheMonitorsTimeout() async throws {
        try await TestHTTPServer.with { server in
            let started = Date()
            let report = await check(MonitorSettings(url: server.base + "/hang"), timeout: 1)
            let elapsed = Date().timeIntervalSince(started)
            #expect(report.outcome == .down)
            #expect(report.message == "timed out after 1 s")
            // At least the timeout; the upper bound only says the check did not wait for the server, with room
            // for a loaded machine (speed goals live in bench/).
            #expect(elapsed >= 0.9 && elapsed < 8)
        }
    }

    @Test func followsARedirectChain() async throws {
        try await TestHTTPServer.with { server in
            let report = await check(MonitorSettings(url: server.base + "/redirect/3", keyword: "arrived"))
            #expect(report.outcome == .up)
            #expect(report.message.hasPrefix("200 OK in "))
            #expect(report.message.hasSuffix(" after 3 redirects"))

            let tooMany = await check(MonitorSettings(url: server.base + "/redirect/3", maxRedirects: 2))
            #expect(tooMany.outcome == .down)
            #expect(tooMany.message == "too many redirects (more than 2)")

            let notFollowed = await check(MonitorSettings(url: server.base + "/redirect/3", followRedirects: false))
            #expect(notFollowed.outcome == .up)
            #expect(notFollowed.message.hasPrefix("302 Found in "))
        }
    }

    @Test func seeOtherTurnsThePostIntoAGetAndTemporaryRedirectKeepsIt() async throws {
        try await TestHTTPServer.with { server in
            let seeOther = await check(MonitorSettings(url: server.base + "/to-303?/method", method: "POST", body: "x", keyword: "method=GET"))
            #expect(seeOther.outcome == .up, "\(seeOther.message)")
            let temporary = await check(MonitorSettings(url: server.base + "/to-307?/method", method: "POST", body: "x", keyword: "method=POST"))
            #expect(temporary.outcome == .up, "\(temporary.message)")
            let absolute = await check(MonitorSettings(url: server.base + "/to?\(server.base)/redirect/0", keyword: "arrived"))
            #expect(absolute.outcome == .up, "\(absolute.message)")
        }
    }

    @Test func aRedirectToADeniedAddressIsRefused() async throws {
        try await TestHTTPServer.with { server in
            // 127.0.0.2 is loopback too, but only 127.0.0.1 is allowed.
            let target = "http://127.0.0.2:\(server.port)/ok"
            let report = await check(MonitorSettings(url: server.base + "/to?\(target)"))
            #expect(report.outcome == .down)
            #expect(report.message == "redirect to \(target): 127.0.0.2 is refused by the egress policy (loopback)")

            let metadata = await check(MonitorSettings(url: server.base + "/to?http://169.254.169.254/latest/meta-data/"))
            #expect(metadata.message.hasSuffix("169.254.169.254 is refused by the egress policy (cloud metadata)"))

            let numeric = await check(MonitorSettings(url: server.base + "/to?http://2130706434:\(server.port)/ok"))
            #expect(numeric.message.hasSuffix("127.0.0.2 is refused by the egress policy (loopback)"))

            let otherScheme = await check(MonitorSettings(url: server.base + "/to?file:///etc/passwd"))
            #expect(otherScheme.outcome == .down)
            #expect(otherScheme.message.hasSuffix("only http and https URLs are checked, not file"))
        }
    }

    @Test func aDeniedFirstURLIsRefusedWithoutConnecting() async throws {
        try await TestHTTPServer.with { server in
            let strict = Checkers(group: Fixtures.checkers().connector.group, egress: EgressPolicy())
            let report = await strict.check(Fixtures.monitor(.http, MonitorSettings(url: server.base + "/ok")), now: Date())
            #expect(report.outcome == .down)
            #expect(report.message == "127.0.0.1 is refused by the egress policy (loopback)")
        }
    }

    @Test func sendsTheRequestHeadersAMonitorNeeds() async throws {
        try await TestHTTPServer.with { server in
            let settings = MonitorSettings(url: server.base + "/headers", headers: ["X-Probe": "yes", "Connection": "keep-alive"], regex: "(?s)X-Probe: yes.*")
            let report = await check(settings)
            #expect(report.outcome == .up, "\(report.message)")
            for line in ["User-Agent: Belay-Monitor/1", "Connection: close", "Host: 127.0.0.1:\(server.port)"] {
                let each = await check(MonitorSettings(url: server.base + "/headers", headers: ["X-Probe": "yes"], keyword: line))
                #expect(each.outcome == .up, "\(line): \(each.message)")
            }
            let noKeepAlive = await check(MonitorSettings(url: server.base + "/headers", headers: ["Connection": "keep-alive"], keyword: "keep-alive"))
            #expect(noKeepAlive.outcome == .down)
        }
    }

    @Test func aHeadRequestCompletesWithoutABody() async throws {
        try await TestHTTPServer.with { server in
            let report = await check(MonitorSettings(url: server.base + "/ok", method: "HEAD"), timeout: 10)
            #expect(report.outcome == .up, "\(report.message)")
        }
    }

    @Test func httpsToAnUntrustedCertificateIsDown() async throws {
        let certificate = try TestCertificate(days: 30)
        defer { certificate.remove() }
        try await TestHTTPServer.with(tls: try certificate.serverContext()) { server in
            let report = await check(MonitorSettings(url: "https://localhost:\(server.port)/ok"))
            #expect(report.outcome == .down)
            #expect(report.message == "certificate chain not trusted: self-signed certificate")
        }
    }

    @Test func ipv6LiteralURLsAreJudgedByTheAddressTheyMean() async throws {
        try await TestHTTPServer.with { server in
            let mapped = await check(MonitorSettings(url: "http://[::ffff:127.0.0.1]:\(server.port)/ok"))
            #expect(mapped.outcome == .up, "\(mapped.message)")
            let loopback = await check(MonitorSettings(url: "http://[::1]:\(server.port)/ok"))
            #expect(loopback.message == "::1 is refused by the egress policy (loopback)")
        }
    }

    @Test func anInvalidURLIsDown() async {
        let report = await check(MonitorSettings(url: "ftp://example.com/file"))
        #expect(report.outcome == .down)
        #expect(report.message == "only http and https URLs are checked, not ftp")
    }
}
