import BelayCore
import Foundation

/// The effective configuration as JSON, for `belay serve --print-config`: every section with the value in
/// force, durations in seconds, and any secret (a password in an address) replaced by "redacted".
public struct ConfigurationDocument: Encodable, Sendable {
    struct HTTP: Encodable {
        var host: String
        var port: Int
        var publicURL: String?
        var baseURL: String
        var maxBodyBytes: Int
        var maxAlertBodyBytes: Int
        var idleTimeoutSeconds: Double
        var bodyTimeoutSeconds: Double
        var maxConnectionsPerClient: Int
        var trustedProxies: [String]
    }

    struct DataSection: Encodable {
        var directory: String
        var synchronous: String
        var database: String?
    }

    struct StatusPage: Encodable {
        var pageName: String
        var historyDays: Int
        var logo: String?
        var accent: String?
        var refreshIntervalSeconds: Double
        var mirrorDirectory: String?
        var mirrorCommand: String?
        var mirrorCommandTimeoutSeconds: Double
    }

    struct Sessions: Encodable {
        var idleTimeoutSeconds: Double
        var absoluteTimeoutSeconds: Double
        var passwordCost: Int
        var signInAttempts: Int
        var signInWindowSeconds: Double
    }

    struct Detect: Encodable {
        var maxAlertsPerDelivery: Int
        var ingestQueueEvents: Int
        var groupingWindowSeconds: Double
        var quietPeriodSeconds: Double
        var monitorConcurrency: Int
        var certificateDirectory: String?
    }

    struct Egress: Encodable {
        var allow: [String]
        var deny: [String]
        var denyPrivate: Bool
    }

    struct Retention: Encodable {
        var resultsSeconds: Double
        var eventsSeconds: Double
    }

    struct Team: Encodable {
        var timeZone: String
    }

    struct Log: Encodable {
        var level: String
    }

    struct Notify: Encodable {
        var smtpHost: String?
        var smtpPort: Int
        var smtpSecurity: String?
        var smtpUser: String?
        /// Whether a password was given; never the password.
        var smtpPasswordSet: Bool
        var smtpFrom: String?
        var smtpExtraCA: Bool
        var smtpAllow: [String]
        var subscriberDampingSeconds: Double
    }

    var http: HTTP
    var data: DataSection
    var statusPage: StatusPage
    var sessions: Sessions
    var detect: Detect
    var egress: Egress
    var retention: Retention
    var team: Team
    var log: Log
    var notify: Notify

    public init(_ c: ServerConfiguration) {
        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        http = HTTP(
            host: c.http.host, port: c.http.port, publicURL: c.http.publicURL.map(Self.redacted), baseURL: Self.redacted(c.baseURL),
            maxBodyBytes: c.http.maxBodyBytes, maxAlertBodyBytes: c.http.maxAlertBodyBytes, idleTimeoutSeconds: seconds(c.http.idleTimeout),
            bodyTimeoutSeconds: seconds(c.http.bodyTimeout), maxConnectionsPerClient: c.http.maxConnectionsPerClient,
            trustedProxies: c.http.trustedProxies.map(\.description))
        data = DataSection(directory: c.data.directory, synchronous: c.data.synchronous, database: c.data.databaseURL.map(Self.redactedDatabase))
        statusPage = StatusPage(
            pageName: c.statusPage.pageName, historyDays: c.statusPage.historyDays, logo: c.statusPage.logo?.summary,
            accent: c.statusPage.accent?.description, refreshIntervalSeconds: seconds(c.statusPage.refreshInterval),
            mirrorDirectory: c.statusPage.mirrorDirectory, mirrorCommand: c.statusPage.mirrorCommand,
            mirrorCommandTimeoutSeconds: seconds(c.statusPage.mirrorCommandTimeout))
        sessions = Sessions(
            idleTimeoutSeconds: c.sessions.idleTimeout, absoluteTimeoutSeconds: c.sessions.absoluteTimeout, passwordCost: Int(c.sessions.passwordCost),
            signInAttempts: c.sessions.signInAttempts, signInWindowSeconds: c.sessions.signInWindow)
        detect = Detect(
            maxAlertsPerDelivery: c.detect.maxAlertsPerDelivery, ingestQueueEvents: c.detect.ingestQueueEvents,
            groupingWindowSeconds: c.detect.signalPolicy.groupingWindow, quietPeriodSeconds: c.detect.signalPolicy.quietPeriod,
            monitorConcurrency: c.detect.monitorConcurrency, certificateDirectory: c.detect.certificateDirectory)
        egress = Egress(allow: c.egress.allow.map(\.description), deny: c.egress.deny.map(\.description), denyPrivate: c.egress.denyPrivate)
        retention = Retention(resultsSeconds: c.retention.results, eventsSeconds: c.retention.events)
        team = Team(timeZone: c.team.timeZone.identifier)
        log = Log(level: c.log.level)
        notify = Notify(
            smtpHost: c.notify.smtpHost, smtpPort: c.notify.smtpPort, smtpSecurity: c.notify.smtpHost == nil ? nil : c.notify.smtpSecurity ?? "starttls",
            smtpUser: c.notify.smtpUser, smtpPasswordSet: c.notify.smtpPassword != nil, smtpFrom: c.notify.smtpFrom,
            smtpExtraCA: c.notify.smtpCAPEM != nil, smtpAllow: c.notify.smtpAllow.map(\.description),
            subscriberDampingSeconds: c.notify.dampingWindow)
    }

    /// An address with its password (if any) replaced, so the printout can be pasted into a ticket.
    /// A database URL may carry its password in the user part or as `?password=`.
    static func redactedDatabase(_ address: String) -> String {
        guard var components = URLComponents(string: redacted(address)) else { return "redacted" }
        components.queryItems = components.queryItems?.map { $0.name == "password" ? URLQueryItem(name: "password", value: "redacted") : $0 }
        return components.string ?? "redacted"
    }

    static func redacted(_ address: String) -> String {
        guard var components = URLComponents(string: address), components.password != nil else { return address }
        components.password = "redacted"
        return components.string ?? "redacted"
    }

    /// Pretty JSON with sorted keys.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
