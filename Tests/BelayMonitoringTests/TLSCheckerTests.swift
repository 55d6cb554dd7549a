import BelayCore
import BelayMonitoring
import Foundation
import Testing

@Suite struct TLSCheckerTests {
    let checkers = Fixtures.checkers()

    func check(_ settings: MonitorSettings) async -> CheckReport {
        await checkers.check(Fixtures.monitor(.tls, settings), now: Date())
    }

    @Test func aTrustedCertificateNearExpiryIsDegraded() async throws {
        // Three days from now, less the moments the test takes: two whole days left.
        let certificate = try TestCertificate(days: 3)
        defer { certificate.remove() }
        try await TestHTTPServer.with(tls: try certificate.serverContext()) { server in
            let report = await check(MonitorSettings(host: "localhost", port: server.port, caPEM: certificate.certificatePEM))
            #expect(report.outcome == .degraded, "\(report.message)")
            #expect(report.message.hasPrefix("certificate expires in 2 days ("))
            let expiry = ExpectedText.day(daysFromNow: 3)
            #expect(report.message == "certificate expires in 2 days (\(expiry))")
            #expect(report.latencyMs != nil)

            let relaxed = await check(MonitorSettings(host: "127.0.0.1", port: server.port, serverName: "localhost", warnDays: 2, caPEM: certificate.certificatePEM))
            #expect(relaxed.outcome == .up, "\(relaxed.message)")
        }
    }

    @Test func anUntrustedCertificateIsDown() async throws {
        let certificate = try TestCertificate(days: 3)
        defer { certificate.remove() }
        try await TestHTTPServer.with(tls: try certificate.serverContext()) { server in
            let report = await check(MonitorSettings(host: "localhost", port: server.port))
            #expect(report.outcome == .down)
            #expect(report.message == "certificate chain not trusted: self-signed certificate")

            let otherRoot = try TestCertificate(days: 30)
            defer { otherRoot.remove() }
            let wrongRoot = await check(MonitorSettings(host: "localhost", port: server.port, caPEM: otherRoot.certificatePEM))
            #expect(wrongRoot.outcome == .down)
            #expect(wrongRoot.message.hasPrefix("certificate chain not trusted"))
        }
    }

    @Test func anExpiredCertificateIsDown() async throws {
        let certificate = try TestCertificate(days: -1)
        defer { certificate.remove() }
        try await TestHTTPServer.with(tls: try certificate.serverContext()) { server in
            let report = await check(MonitorSettings(host: "localhost", port: server.port, caPEM: certificate.certificatePEM))
            #expect(report.outcome == .down)
            #expect(report.message == "certificate expired on \(ExpectedText.day(daysFromNow: -1))")
        }
    }

    @Test func aCertificateForAnotherNameIsDown() async throws {
        // Names only: NIOSSL also accepts a certificate whose IP address entry matches the peer, whatever the name.
        let certificate = try TestCertificate(days: 30, names: "DNS:localhost")
        defer { certificate.remove() }
        try await TestHTTPServer.with(tls: try certificate.serverContext()) { server in
            let report = await check(MonitorSettings(host: "127.0.0.1", port: server.port, serverName: "example.com", caPEM: certificate.certificatePEM))
            #expect(report.outcome == .down)
            #expect(report.message == "certificate does not match example.com")

            let byName = await check(MonitorSettings(host: "127.0.0.1", port: server.port, serverName: "localhost", caPEM: certificate.certificatePEM))
            #expect(byName.outcome == .up, "\(byName.message)")
            #expect(byName.message.hasPrefix("certificate expires in 29 days"))
        }
    }

    @Test func anAddressIsMatchedAgainstTheCertificatesAddresses() async throws {
        let certificate = try TestCertificate(days: 30, names: "IP:127.0.0.1")
        defer { certificate.remove() }
        try await TestHTTPServer.with(tls: try certificate.serverContext()) { server in
            let report = await check(MonitorSettings(host: "127.0.0.1", port: server.port, caPEM: certificate.certificatePEM))
            #expect(report.outcome == .up, "\(report.message)")
        }
    }

    @Test func aPlainTCPServerFailsTheHandshake() async throws {
        try await TestHTTPServer.with { server in
            let report = await check(MonitorSettings(host: "localhost", port: server.port))
            #expect(report.outcome == .down)
            #expect(report.message.hasPrefix("TLS handshake failed"), "\(report.message)")
        }
    }

    @Test func aClosedPortIsConnectionRefused() async throws {
        let port = try await Fixtures.closedPort()
        let report = await check(MonitorSettings(host: "127.0.0.1", port: port))
        #expect(report.message == "connection refused")
    }
}

enum ExpectedText {
    /// The UTC day `days` from now, as the checkers write it.
    static func day(daysFromNow days: Int) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: Date().addingTimeInterval(Double(days) * 86_400))
    }
}
