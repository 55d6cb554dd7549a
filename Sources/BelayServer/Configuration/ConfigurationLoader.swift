import BelayCore
import BelayFormats
import Foundation

/// Builds the configuration from flags and `BELAY_*` variables, one table for both: a flag wins over its
/// variable, and anything given neither way keeps its default. Every value is checked here, once, so the
/// server never starts with a setting it would trip over later.
public enum ConfigurationLoader {
    /// One setting: its flag (`--name`), its variable (`BELAY_NAME`) and how a value is applied.
    public struct Setting: Sendable {
        public let name: String
        let apply: @Sendable (String, inout ServerConfiguration) throws -> Void
        private let variableName: String?

        /// `variable` names the variable when it is not BELAY_ and the flag's name.
        init(_ name: String, variable: String? = nil, _ apply: @escaping @Sendable (String, inout ServerConfiguration) throws -> Void) {
            self.name = name
            self.apply = apply
            self.variableName = variable
        }

        public var flag: String { "--\(name)" }
        public var variable: String { variableName ?? "BELAY_" + name.uppercased().replacingOccurrences(of: "-", with: "_") }
    }

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// `flags` maps a setting's name to the value given on the command line; `environment` is the process's.
    public static func load(flags: [String: String], environment: [String: String]) throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        for setting in settings {
            let value: String? =
                if let flag = flags[setting.name] { flag } else { environment[setting.variable].flatMap { $0.isEmpty ? nil : $0 } }
            guard let value else { continue }
            do {
                try setting.apply(value, &configuration)
            } catch let error as Invalid {
                let origin = flags[setting.name] != nil ? setting.flag : setting.variable
                throw Invalid(description: "\(origin): \(error.description)")
            }
        }
        return configuration
    }

    public static let settings: [Setting] = [
        Setting("host") { value, c in c.http.host = value },
        Setting("port") { value, c in c.http.port = try number(value, in: 0...65535) },
        Setting("public-url") { value, c in
            guard let url = URL(string: value), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
                throw Invalid(description: "must be an http or https address such as https://status.example.com (got '\(value)')")
            }
            c.http.publicURL = value
        },
        Setting("max-body") { value, c in c.http.maxBodyBytes = try number(value, in: 1024...Int.max) },
        Setting("max-alert-body") { value, c in c.http.maxAlertBodyBytes = try number(value, in: 1024...Int.max) },
        Setting("idle-timeout") { value, c in c.http.idleTimeout = .seconds(try duration(value, minimum: 0.1)) },
        Setting("body-timeout") { value, c in c.http.bodyTimeout = .seconds(try duration(value, minimum: 0.1)) },
        Setting("max-connections-per-client") { value, c in c.http.maxConnectionsPerClient = try number(value, in: 1...1_000_000) },
        Setting("trusted-proxy") { value, c in c.http.trustedProxies = try cidrs(value) },
        Setting("metrics-allow") { value, c in c.http.metricsAllow = try cidrs(value) },
        Setting("public-listen") { value, c in
            guard let address = ListenAddress(parsing: value) else { throw Invalid(description: "must be HOST:PORT, e.g. 0.0.0.0:8081 (got '\(value)')") }
            c.http.publicListen = address
        },
        Setting("data") { value, c in c.data.directory = value },
        // BELAY_DATABASE_URL, the name libraries and platforms (Heroku, Render, Fly) give it.
        Setting("database", variable: "BELAY_DATABASE_URL") { value, c in
            guard let scheme = URLComponents(string: value)?.scheme?.lowercased(), ["postgres", "postgresql"].contains(scheme) else {
                throw Invalid(description: "must be a PostgreSQL URL such as postgres://belay:PASSWORD@db.internal:5432/belay (leave it out for SQLite in --data)")
            }
            c.data.databaseURL = value
        },
        Setting("synchronous") { value, c in
            let mode = value.lowercased()
            guard ["full", "normal", "off"].contains(mode) else { throw Invalid(description: "must be full, normal or off (got '\(value)')") }
            c.data.synchronous = mode
        },
        Setting("page-name") { value, c in c.statusPage.pageName = value },
        Setting("page-logo") { value, c in c.statusPage.logo = try PageLogo.parse(value) },
        Setting("page-accent") { value, c in
            guard let accent = AccentColor(hex: value) else {
                throw Invalid(description: "must be a hex colour such as '#1849a9' or '#18a' (got '\(value)')")
            }
            c.statusPage.accent = accent
        },
        Setting("status-mirror") { value, c in
            // Absolute, so the command sees the same directory whatever its working directory.
            c.statusPage.mirrorDirectory = URL(fileURLWithPath: value).standardizedFileURL.path
        },
        Setting("status-mirror-command") { value, c in
            guard !value.contains("\u{0}") else { throw Invalid(description: "must not contain a NUL byte") }
            c.statusPage.mirrorCommand = value
        },
        Setting("status-mirror-timeout") { value, c in c.statusPage.mirrorCommandTimeout = .seconds(try duration(value, minimum: 1)) },
        Setting("log-level") { value, c in
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(value) else { throw Invalid(description: "unknown log level '\(value)' (use \(levels.joined(separator: ", ")))") }
            c.log.level = value
        },
        Setting("egress-allow") { value, c in c.egress.allow = try cidrs(value) },
        Setting("egress-deny") { value, c in c.egress.deny = try cidrs(value) },
        // A switch: the flag passes "1", the variable takes 1, true or yes.
        Setting("egress-deny-private") { value, c in c.egress.denyPrivate = ["1", "true", "yes"].contains(value.lowercased()) },
        Setting("grouping-window") { value, c in c.detect.signalPolicy.groupingWindow = try duration(value) },
        Setting("quiet-period") { value, c in c.detect.signalPolicy.quietPeriod = try duration(value) },
        Setting("max-alerts-per-delivery") { value, c in c.detect.maxAlertsPerDelivery = try number(value, in: 1...1_000_000) },
        Setting("ingest-queue") { value, c in c.detect.ingestQueueEvents = try number(value, in: 1...Int.max) },
        Setting("monitor-concurrency") { value, c in c.detect.monitorConcurrency = try number(value, in: 1...10_000) },
        Setting("certificate-dir") { value, c in
            guard value.hasPrefix("/") else { throw Invalid(description: "must be an absolute path (got '\(value)')") }
            c.detect.certificateDirectory = value
        },
        Setting("result-retention") { value, c in c.retention.results = try duration(value) },
        Setting("event-retention") { value, c in c.retention.events = try duration(value, minimum: 86400) },
        Setting("smtp-url") { value, c in
            guard let url = URLComponents(string: value), let scheme = url.scheme?.lowercased(), ["smtp", "smtps"].contains(scheme),
                  let host = url.host, !host.isEmpty
            else { throw Invalid(description: "must be smtp://host[:port] or smtps://host[:port] (got an address that is not)") }
            guard url.password == nil else {
                throw Invalid(description: "must not hold a password: set BELAY_SMTP_PASSWORD instead, so it does not show in process lists")
            }
            c.notify.smtpHost = host
            c.notify.smtpPort = url.port ?? (scheme == "smtps" ? 465 : 587)
            if c.notify.smtpSecurity == nil, scheme == "smtps" { c.notify.smtpSecurity = "tls" }
            if let user = url.user, !user.isEmpty, c.notify.smtpUser == nil { c.notify.smtpUser = user.removingPercentEncoding ?? user }
        },
        Setting("smtp-security") { value, c in
            guard ["starttls", "tls", "none"].contains(value.lowercased()) else {
                throw Invalid(description: "must be starttls, tls or none (got '\(value)')")
            }
            c.notify.smtpSecurity = value.lowercased()
        },
        Setting("smtp-user") { value, c in c.notify.smtpUser = value },
        Setting("smtp-password") { value, c in c.notify.smtpPassword = value },
        Setting("smtp-from") { value, c in
            guard value.count <= 320, !value.contains(where: { $0 == "\r" || $0 == "\n" }), value.contains("@") else {
                throw Invalid(description: "must be an address such as 'Status <status@example.com>'")
            }
            c.notify.smtpFrom = value
        },
        Setting("smtp-ca") { value, c in
            guard let pem = try? String(contentsOfFile: value, encoding: .utf8), pem.contains("BEGIN CERTIFICATE") else {
                throw Invalid(description: "cannot read a PEM certificate from '\(value)'")
            }
            c.notify.smtpCAPEM = pem
        },
        Setting("smtp-allow") { value, c in c.notify.smtpAllow = try cidrs(value) },
        Setting("subscriber-damping") { value, c in c.notify.dampingWindow = try duration(value) },
        Setting("timezone") { value, c in
            guard let zone = TimeZone(identifier: value) else {
                throw Invalid(description: "unknown time zone '\(value)' (use an IANA name such as Europe/Amsterdam)")
            }
            c.team.timeZone = zone
        },
    ]

    static func number(_ text: String, in range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else { throw Invalid(description: "must be a number (got '\(text)')") }
        guard range.contains(value) else {
            throw Invalid(description: range.upperBound == Int.max ? "must be at least \(range.lowerBound)" : "must be \(range.lowerBound)-\(range.upperBound)")
        }
        return value
    }

    /// "90s", "15m", "2h", "7d" (a bare number is seconds).
    public static func duration(_ text: String, minimum: TimeInterval = 0) throws -> TimeInterval {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        var number = Substring(trimmed)
        var scale = 1.0
        if let last = trimmed.last, let unit = units[last] {
            number = trimmed.dropLast()
            scale = unit
        }
        guard let value = Double(number), value >= 0, value.isFinite, value * scale < 1e9 else {
            throw Invalid(description: "must be a duration such as 90s, 15m, 2h or 7d (got '\(text)')")
        }
        guard value * scale >= minimum else { throw Invalid(description: "must be at least \(Durations.describe(minimum)) (got '\(text)')") }
        return value * scale
    }

    static func cidrs(_ text: String) throws -> [CIDR] {
        do { return try CIDR.parseList(text) } catch { throw Invalid(description: "\(error)") }
    }
}
