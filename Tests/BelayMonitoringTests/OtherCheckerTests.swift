import BelayEgress
import BelayCore
import BelayMonitoring
import Foundation
import Testing

@Suite struct TCPCheckerTests {
    @Test func anOpenPortIsUpAndAClosedOneDown() async throws {
        let checkers = Fixtures.checkers()
        try await TestHTTPServer.with { server in
            let open = await checkers.check(Fixtures.monitor(.tcp, MonitorSettings(host: "127.0.0.1", port: server.port)), now: Date())
            #expect(open.outcome == .up)
            #expect(open.message.hasPrefix("connected in "))
        }
        let port = try await Fixtures.closedPort()
        let closed = await checkers.check(Fixtures.monitor(.tcp, MonitorSettings(host: "127.0.0.1", port: port)), now: Date())
        #expect(closed.outcome == .down)
        #expect(closed.message == "connection refused")
    }

    @Test func theEgressPolicyAppliesToTCP() async throws {
        try await TestHTTPServer.with { server in
            let strict = Fixtures.checkers(EgressPolicy())
            let report = await strict.check(Fixtures.monitor(.tcp, MonitorSettings(host: "localhost", port: server.port)), now: Date())
            #expect(report.outcome == .down)
            #expect(report.message.contains("is refused by the egress policy (loopback)"))
        }
    }
}

@Suite struct CertificateFileCheckerTests {
    let checkers = Fixtures.checkers()

    @Test func readsExpiryFromPEMAndFromAPath() async throws {
        let certificate = try TestCertificate(days: 3)
        defer { certificate.remove() }
        let fromPEM = await checkers.check(Fixtures.monitor(.certificateFile, MonitorSettings(pem: certificate.certificatePEM)), now: Date())
        #expect(fromPEM.outcome == .degraded)
        #expect(fromPEM.message == "certificate expires in 2 days (\(ExpectedText.day(daysFromNow: 3)))")
        let reader = Fixtures.checkers(certificateDirectory: certificate.directory.path)
        let fromPath = await reader.check(Fixtures.monitor(.certificateFile, MonitorSettings(path: certificate.certificatePath)), now: Date())
        #expect(fromPath == fromPEM)
        let relaxed = await checkers.check(Fixtures.monitor(.certificateFile, MonitorSettings(warnDays: 1, pem: certificate.certificatePEM)), now: Date())
        #expect(relaxed.outcome == .up)
        // A check "now" a week later sees it expired.
        let later = await checkers.check(Fixtures.monitor(.certificateFile, MonitorSettings(pem: certificate.certificatePEM)), now: Date().addingTimeInterval(7 * 86_400))
        #expect(later.outcome == .down)
        #expect(later.message.hasPrefix("certificate expired on "))
    }

    @Test func anExpiredFileIsDown() async throws {
        let certificate = try TestCertificate(days: -1)
        defer { certificate.remove() }
        let reader = Fixtures.checkers(certificateDirectory: certificate.directory.path)
        let report = await reader.check(Fixtures.monitor(.certificateFile, MonitorSettings(path: certificate.certificatePath)), now: Date())
        #expect(report.outcome == .down)
        #expect(report.message == "certificate expired on \(ExpectedText.day(daysFromNow: -1))")
    }

    @Test func onlyFilesUnderTheCertificateDirectoryAreRead() async throws {
        let certificate = try TestCertificate(days: 30)
        defer { certificate.remove() }
        let inside = certificate.directory.path
        // No directory configured: no file is read, whatever the path.
        let none = await checkers.check(Fixtures.monitor(.certificateFile, MonitorSettings(path: certificate.certificatePath)), now: Date())
        #expect(none.message == "\(certificate.certificatePath) is outside the certificate directory this server may read")
        let reader = Fixtures.checkers(certificateDirectory: inside)
        for path in ["/etc/passwd", inside + "/../../etc/passwd", inside + "/./cert.pem", inside + "x/cert.pem"] {
            let report = await reader.check(Fixtures.monitor(.certificateFile, MonitorSettings(path: path)), now: Date())
            #expect(report.outcome == .down)
            #expect(report.message == "\(path) is outside the certificate directory this server may read", "\(path)")
        }
        // A link inside the directory that leads out of it is refused once resolved.
        let link = inside + "/escape.pem"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "/etc/hostname")
        let escaped = await reader.check(Fixtures.monitor(.certificateFile, MonitorSettings(path: link)), now: Date())
        #expect(escaped.outcome == .down)
        #expect(escaped.message.contains("leads outside the certificate directory"), "\(escaped.message)")
    }

    @Test func anUnreadableOrBrokenFileIsDownWithTheReason() async throws {
        let missing = await Fixtures.checkers(certificateDirectory: "/nonexistent").check(
            Fixtures.monitor(.certificateFile, MonitorSettings(path: "/nonexistent/cert.pem")), now: Date())
        #expect(missing.outcome == .down)
        #expect(missing.message == "cannot read /nonexistent/cert.pem: no such file or directory")
        let broken = await checkers.check(
            Fixtures.monitor(.certificateFile, MonitorSettings(pem: "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")), now: Date()
        )
        #expect(broken.outcome == .down)
        #expect(broken.message == "pem holds no certificate")
    }
}

@Suite struct DNSCheckerTests {
    let checkers = Fixtures.checkers()

    @Test func localhostResolvesToTheExpectedAddress() async throws {
        let report = await checkers.check(Fixtures.monitor(.dns, MonitorSettings(name: "localhost", recordType: "A", expected: ["127.0.0.1"])), now: Date())
        #expect(report.outcome == .up, "\(report.message)")
        #expect(report.message.hasPrefix("localhost resolved to 127.0.0.1 in "))
    }

    @Test func aMissingExpectedAddressIsDownListingWhatCameBack() async throws {
        let report = await checkers.check(Fixtures.monitor(.dns, MonitorSettings(name: "localhost", recordType: "A", expected: ["127.0.0.1", "10.9.9.9"])), now: Date())
        #expect(report.outcome == .down)
        #expect(report.message == "localhost resolved to 127.0.0.1, missing 10.9.9.9")
    }

    @Test func expectedAddressesAreComparedNormalized() async throws {
        let report = await checkers.check(Fixtures.monitor(.dns, MonitorSettings(name: "127.0.0.1", recordType: "AAAA", expected: ["0:0:0:0:0:0:0:1"])), now: Date())
        // An A-only literal asked for AAAA has no answer; "::1" written long is the same address as "::1".
        #expect(report.outcome == .down)
        let long = await checkers.check(Fixtures.monitor(.dns, MonitorSettings(name: "::1", expected: ["0:0:0:0:0:0:0:1"])), now: Date())
        #expect(long.outcome == .up, "\(long.message)")
    }

    @Test func anUnknownNameIsDown() async throws {
        let report = await checkers.check(Fixtures.monitor(.dns, MonitorSettings(name: "no-such-host.invalid")), now: Date())
        #expect(report.outcome == .down)
        #expect(report.message.hasPrefix("could not resolve no-such-host.invalid"))
    }
}

@Suite struct HeartbeatCheckerTests {
    let checkers = Fixtures.checkers()

    @Test func anOverdueHeartbeatIsDown() async {
        let created = Date(timeIntervalSince1970: 1_800_000_000)
        var monitor = Fixtures.monitor(.heartbeat, MonitorSettings(graceSeconds: 30), interval: 60, createdAt: created)
        monitor.state.lastPingAt = created.addingTimeInterval(100)
        let late = await checkers.check(monitor, now: created.addingTimeInterval(200))
        #expect(late.outcome == .down)
        #expect(late.message == "no heartbeat for 100 s (expected every 60 s + 30 s grace)")
        let onTime = await checkers.check(monitor, now: created.addingTimeInterval(170))
        #expect(onTime.outcome == .up)
        #expect(onTime.message == "last heartbeat 70 s ago")
    }

    @Test func aMonitorThatNeverHeardAPingCountsFromCreation() async {
        let created = Date(timeIntervalSince1970: 1_800_000_000)
        let monitor = Fixtures.monitor(.heartbeat, MonitorSettings(), interval: 60, createdAt: created)
        let waiting = await checkers.check(monitor, now: created.addingTimeInterval(30))
        #expect(waiting.outcome == .up)
        let overdue = await checkers.check(monitor, now: created.addingTimeInterval(61))
        #expect(overdue.outcome == .down)
        #expect(overdue.message == "no heartbeat for 61 s (expected every 60 s + 0 s grace)")
    }
}
