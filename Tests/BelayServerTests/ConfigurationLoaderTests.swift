import BelayCore
import BelayServer
import Foundation
import Testing

@Suite struct ConfigurationLoaderTests {
    @Test func nothingGivenMeansTheDocumentedDefaults() throws {
        let c = try ConfigurationLoader.load(flags: [:], environment: ["PATH": "/bin", "HOME": "/root"])
        #expect(c.http.host == "127.0.0.1")
        #expect(c.http.port == 8080)
        #expect(c.data.directory == "./belay-data")
        #expect(c.data.synchronous == "full")
        #expect(c.retention.events == 365 * 86400)
        #expect(c.retention.results == 7 * 86400)
        #expect(c.detect.signalPolicy == SignalPolicy())
        #expect(c.egress.allow.isEmpty && !c.egress.denyPrivate)
        #expect(c.baseURL == "http://127.0.0.1:8080")
    }

    @Test func variablesApplyAndFlagsWin() throws {
        let environment = [
            "BELAY_PORT": "9090", "BELAY_HOST": "0.0.0.0", "BELAY_EGRESS_ALLOW": "127.0.0.1/32, 10.0.0.0/8", "BELAY_EGRESS_DENY_PRIVATE": "1",
            "BELAY_QUIET_PERIOD": "5m", "BELAY_EVENT_RETENTION": "30d", "BELAY_TIMEZONE": "Europe/Amsterdam", "BELAY_PUBLIC_URL": "",
        ]
        let c = try ConfigurationLoader.load(flags: ["port": "7070", "trusted-proxy": "192.168.0.0/16"], environment: environment)
        #expect(c.http.port == 7070)
        #expect(c.http.host == "0.0.0.0")
        #expect(c.egress.allow.map(\.description) == ["127.0.0.1/32", "10.0.0.0/8"])
        #expect(c.egress.denyPrivate)
        #expect(c.http.trustedProxies.map(\.description) == ["192.168.0.0/16"])
        #expect(c.detect.signalPolicy.quietPeriod == 300)
        #expect(c.retention.events == 30 * 86400)
        #expect(c.team.timeZone.identifier == "Europe/Amsterdam")
        // An empty variable counts as not set.
        #expect(c.http.publicURL == nil)
    }

    @Test(arguments: [
        ("port", "99999", "--port: must be 0-65535"),
        ("egress-allow", "not-a-network", "--egress-allow:"),
        ("timezone", "Mars/Olympus", "--timezone: unknown time zone 'Mars/Olympus'"),
        ("event-retention", "2h", "--event-retention: must be at least"),
        ("idle-timeout", "soon", "--idle-timeout: must be a duration"),
        ("certificate-dir", "certs", "--certificate-dir: must be an absolute path"),
        ("synchronous", "sometimes", "--synchronous: must be full, normal or off"),
        ("public-url", "status.example.com", "--public-url: must be an http or https address"),
        ("log-level", "loud", "--log-level: unknown log level"),
    ])
    func aBadValueIsRefusedNamingWhereItCameFrom(name: String, value: String, message: String) {
        #expect(throws: ConfigurationLoader.Invalid.self) { try ConfigurationLoader.load(flags: [name: value], environment: [:]) }
        do {
            _ = try ConfigurationLoader.load(flags: [name: value], environment: [:])
        } catch {
            #expect("\(error)".hasPrefix(message), "\(error)")
        }
        let variable = "BELAY_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
        do {
            _ = try ConfigurationLoader.load(flags: [:], environment: [variable: value])
            Issue.record("\(variable)=\(value) was accepted")
        } catch {
            #expect("\(error)".hasPrefix(variable), "\(error)")
        }
    }

    @Test func everySettingHasItsOwnFlagAndVariable() {
        let names = ConfigurationLoader.settings.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(ConfigurationLoader.settings.allSatisfy { $0.variable.hasPrefix("BELAY_") && !$0.variable.contains("-") })
    }

    @Test func thePrintoutHasEverySectionAndNoPassword() throws {
        var c = try ConfigurationLoader.load(flags: ["public-url": "https://ops:hunter2@status.example.com/"], environment: [:])
        c.egress.deny = try ConfigurationLoader.load(flags: ["egress-deny": "10.1.0.0/16"], environment: [:]).egress.deny
        let json = try ConfigurationDocument(c).json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["http", "data", "statusPage", "sessions", "detect", "egress", "retention", "team", "log", "notify"])
        #expect(!json.contains("hunter2"))
        #expect(json.contains("ops:redacted@status.example.com"))
        #expect((object["egress"] as? [String: Any])?["deny"] as? [String] == ["10.1.0.0/16"])
    }
}
