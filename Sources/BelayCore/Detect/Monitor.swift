import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a monitor checks. Each kind has one checker in BelayMonitoring.
public enum MonitorKind: String, Codable, Sendable, CaseIterable {
    case http, tcp, tls
    case certificateFile = "certificate_file"
    case dns, heartbeat
}

/// The kind-specific settings of a monitor. One flat value so the API, the CLI and storage share it;
/// `validate(for:)` says which fields each kind needs.
public struct MonitorSettings: Codable, Sendable, Equatable {
    // HTTP(S)
    public var url: String?
    public var method: String?
    public var headers: [String: String]?
    public var body: String?
    /// Accepted status codes; absent means 200-399.
    public var expectedStatus: [Int]?
    /// Text the body must contain.
    public var keyword: String?
    /// A regular expression the body must match (evaluated with a time bound).
    public var regex: String?
    /// Slower than this is degraded.
    public var latencyWarnMs: Int?
    public var followRedirects: Bool?
    public var maxRedirects: Int?
    // TCP, TLS
    public var host: String?
    public var port: Int?
    /// The name the TLS certificate must match; defaults to `host`.
    public var serverName: String?
    // TLS, certificate file
    /// Fewer days than this to expiry is degraded; expired is down. Default 14.
    public var warnDays: Int?
    /// Extra trusted root(s) in PEM, for private CAs.
    public var caPEM: String?
    /// A certificate in PEM (certificate file monitors take `pem` or `path`).
    public var pem: String?
    public var path: String?
    // DNS
    public var name: String?
    /// "A" or "AAAA"; absent means either.
    public var recordType: String?
    /// Addresses the name must resolve to (all of them must be present).
    public var expected: [String]?
    // Heartbeat
    public var graceSeconds: Int?

    public init(
        url: String? = nil, method: String? = nil, headers: [String: String]? = nil, body: String? = nil, expectedStatus: [Int]? = nil,
        keyword: String? = nil, regex: String? = nil, latencyWarnMs: Int? = nil, followRedirects: Bool? = nil, maxRedirects: Int? = nil,
        host: String? = nil, port: Int? = nil, serverName: String? = nil, warnDays: Int? = nil, caPEM: String? = nil, pem: String? = nil,
        path: String? = nil, name: String? = nil, recordType: String? = nil, expected: [String]? = nil, graceSeconds: Int? = nil
    ) {
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.expectedStatus = expectedStatus
        self.keyword = keyword
        self.regex = regex
        self.latencyWarnMs = latencyWarnMs
        self.followRedirects = followRedirects
        self.maxRedirects = maxRedirects
        self.host = host
        self.port = port
        self.serverName = serverName
        self.warnDays = warnDays
        self.caPEM = caPEM
        self.pem = pem
        self.path = path
        self.name = name
        self.recordType = recordType
        self.expected = expected
        self.graceSeconds = graceSeconds
    }

    public static let defaultWarnDays = 14
    public static let httpMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    /// Checks that the fields `kind` needs are present and sensible, and that no other kind's fields are set.
    public func validate(for kind: MonitorKind) throws {
        func require<T>(_ value: T?, _ field: String) throws -> T {
            guard let value else { throw DomainError.invalid(field: "settings.\(field)", message: "is required for \(kind.rawValue) monitors") }
            return value
        }
        func forbid(_ fields: [(String, Bool)]) throws {
            if let field = fields.first(where: { $0.1 }) {
                throw DomainError.invalid(field: "settings.\(field.0)", message: "does not apply to \(kind.rawValue) monitors")
            }
        }
        func checkPort() throws {
            let port = try require(port, "port")
            guard (1...65535).contains(port) else { throw DomainError.invalid(field: "settings.port", message: "must be 1-65535") }
        }
        func checkHost(_ value: String?, _ field: String) throws {
            let host = try require(value, field)
            guard !host.isEmpty, host.count <= 253, host.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0 != "/" }) else {
                throw DomainError.invalid(field: "settings.\(field)", message: "must be a host name or IP address")
            }
        }
        if let warnDays, !(0...3650).contains(warnDays) {
            throw DomainError.invalid(field: "settings.warnDays", message: "must be 0-3650")
        }
        let http = [("url", url != nil), ("method", method != nil), ("headers", headers != nil), ("body", body != nil),
                    ("expectedStatus", expectedStatus != nil), ("keyword", keyword != nil), ("regex", regex != nil),
                    ("latencyWarnMs", latencyWarnMs != nil), ("followRedirects", followRedirects != nil), ("maxRedirects", maxRedirects != nil)]
        let endpoint = [("host", host != nil), ("port", port != nil), ("serverName", serverName != nil)]
        let certificate = [("warnDays", warnDays != nil), ("caPEM", caPEM != nil)]
        let file = [("pem", pem != nil), ("path", path != nil)]
        let dns = [("name", name != nil), ("recordType", recordType != nil), ("expected", expected != nil)]
        let heartbeat = [("graceSeconds", graceSeconds != nil)]

        switch kind {
        case .http:
            try forbid(endpoint + certificate + file + dns + heartbeat)
            let raw = try require(url, "url")
            guard raw.count <= 2048, let parsed = URL(string: raw), let scheme = parsed.scheme?.lowercased(),
                  scheme == "http" || scheme == "https", let host = parsed.host, !host.isEmpty else {
                throw DomainError.invalid(field: "settings.url", message: "must be an http:// or https:// URL with a host")
            }
            if let method, !Self.httpMethods.contains(method) {
                throw DomainError.invalid(field: "settings.method", message: "must be one of \(Self.httpMethods.sorted().joined(separator: ", "))")
            }
            for (name, value) in headers ?? [:] {
                guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }),
                      !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0.value == 0 }) else {
                    throw DomainError.invalid(field: "settings.headers", message: "header '\(name.prefix(40))' is not a valid HTTP header")
                }
            }
            if let body { try Validate.text(body, field: "settings.body", max: 65_536, allowEmpty: true) }
            if let codes = expectedStatus {
                guard !codes.isEmpty, codes.allSatisfy({ (100...599).contains($0) }) else {
                    throw DomainError.invalid(field: "settings.expectedStatus", message: "must list status codes 100-599")
                }
            }
            if keyword != nil && regex != nil {
                throw DomainError.invalid(field: "settings.regex", message: "give a keyword or a regex, not both")
            }
            if let keyword { try Validate.text(keyword, field: "settings.keyword", max: 1000) }
            if let regex {
                try Validate.text(regex, field: "settings.regex", max: 1000)
                do { _ = try NSRegularExpression(pattern: regex) } catch {
                    throw DomainError.invalid(field: "settings.regex", message: "is not a valid regular expression")
                }
            }
            if let latencyWarnMs, !(1...600_000).contains(latencyWarnMs) {
                throw DomainError.invalid(field: "settings.latencyWarnMs", message: "must be 1-600000")
            }
            if let maxRedirects, !(0...20).contains(maxRedirects) {
                throw DomainError.invalid(field: "settings.maxRedirects", message: "must be 0-20")
            }
        case .tcp:
            try forbid(http + certificate + file + dns + heartbeat + [("serverName", serverName != nil)])
            try checkHost(host, "host")
            try checkPort()
        case .tls:
            try forbid(http + file + dns + heartbeat)
            try checkHost(host, "host")
            if port == nil { /* 443 */ } else { try checkPort() }
            if let serverName { try checkHost(serverName, "serverName") }
            if let caPEM { try Validate.text(caPEM, field: "settings.caPEM", max: 65_536) }
        case .certificateFile:
            try forbid(http + endpoint + dns + heartbeat + [("caPEM", caPEM != nil)])
            guard (pem == nil) != (path == nil) else {
                throw DomainError.invalid(field: "settings.pem", message: "give the certificate as pem or a path to read, exactly one")
            }
            if let pem {
                try Validate.text(pem, field: "settings.pem", max: 65_536)
                guard pem.contains("-----BEGIN CERTIFICATE-----") else {
                    throw DomainError.invalid(field: "settings.pem", message: "must be a PEM certificate (-----BEGIN CERTIFICATE-----)")
                }
            }
            if let path {
                try Validate.text(path, field: "settings.path", max: 1024)
                guard path.hasPrefix("/") else { throw DomainError.invalid(field: "settings.path", message: "must be an absolute path") }
            }
        case .dns:
            try forbid(http + endpoint + certificate + file + heartbeat)
            try checkHost(name, "name")
            if let recordType, recordType != "A", recordType != "AAAA" {
                throw DomainError.invalid(field: "settings.recordType", message: "must be A or AAAA")
            }
            if let expected {
                guard expected.count <= 64, expected.allSatisfy({ IPAddressText.isValid($0) }) else {
                    throw DomainError.invalid(field: "settings.expected", message: "must list IPv4 or IPv6 addresses")
                }
            }
        case .heartbeat:
            try forbid(http + endpoint + certificate + file + dns)
            if let graceSeconds, !(0...86_400).contains(graceSeconds) {
                throw DomainError.invalid(field: "settings.graceSeconds", message: "must be 0-86400")
            }
        }
    }
}

/// A monitor's derived state. Changes only after `failureThreshold` failures or `successThreshold`
/// successes in a row, so one bad check does not flap it.
public enum MonitorStatus: String, Codable, Sendable, CaseIterable {
    case pending, up, degraded, down, paused
}

/// The result of one check.
public enum CheckOutcome: String, Codable, Sendable, CaseIterable {
    case up, degraded, down
}

public struct MonitorState: Codable, Sendable, Equatable {
    public var status: MonitorStatus
    /// When `status` last changed.
    public var since: Date
    public var lastCheckedAt: Date?
    public var lastOutcome: CheckOutcome?
    public var lastMessage: String?
    public var lastLatencyMs: Double?
    public var consecutiveFailures: Int
    public var consecutiveSuccesses: Int
    /// The last heartbeat ping (heartbeat monitors).
    public var lastPingAt: Date?
    /// The first failed check of the current run of failures.
    public var failingSince: Date?
    /// Why the last check could not run at all (the egress policy refused its target): a configuration
    /// problem for the monitor's owner, which neither counts as down nor opens an incident.
    public var configurationProblem: String?

    public init(
        status: MonitorStatus = .pending, since: Date, lastCheckedAt: Date? = nil, lastOutcome: CheckOutcome? = nil, lastMessage: String? = nil,
        lastLatencyMs: Double? = nil, consecutiveFailures: Int = 0, consecutiveSuccesses: Int = 0, lastPingAt: Date? = nil
    ) {
        self.status = status
        self.since = since
        self.lastCheckedAt = lastCheckedAt
        self.lastOutcome = lastOutcome
        self.lastMessage = lastMessage
        self.lastLatencyMs = lastLatencyMs
        self.consecutiveFailures = consecutiveFailures
        self.consecutiveSuccesses = consecutiveSuccesses
        self.lastPingAt = lastPingAt
    }
}

/// A synthetic check Belay runs on a schedule.
public struct Monitor: Codable, Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var kind: MonitorKind
    public var settings: MonitorSettings
    public var intervalSeconds: Int
    public var timeoutSeconds: Int
    public var failureThreshold: Int
    public var successThreshold: Int
    /// The component an outage of this monitor affects, if any.
    public var component: String?
    /// The severity of the incident it opens when down.
    public var severity: Severity
    public var isPaused: Bool
    /// The SHA-256 of the secret in a heartbeat monitor's ping URL; the secret itself is shown once, when
    /// it is made, and never stored.
    public var heartbeatTokenHash: String?
    public var state: MonitorState
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64 = 0, name: String, kind: MonitorKind, settings: MonitorSettings, intervalSeconds: Int = 60, timeoutSeconds: Int = 10,
        failureThreshold: Int = 2, successThreshold: Int = 1, component: String? = nil, severity: Severity = .sev2, isPaused: Bool = false,
        heartbeatTokenHash: String? = nil, state: MonitorState? = nil, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.settings = settings
        self.intervalSeconds = intervalSeconds
        self.timeoutSeconds = timeoutSeconds
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
        self.component = component
        self.severity = severity
        self.isPaused = isPaused
        self.heartbeatTokenHash = heartbeatTokenHash
        self.state = state ?? MonitorState(status: isPaused ? .paused : .pending, since: createdAt)
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public static let maxName = 120

    public func validate(knownComponents: Set<String>) throws {
        try Validate.text(name, field: "name", max: Self.maxName)
        try settings.validate(for: kind)
        guard (1...86_400).contains(intervalSeconds) else { throw DomainError.invalid(field: "intervalSeconds", message: "must be 1-86400") }
        guard (1...300).contains(timeoutSeconds) else { throw DomainError.invalid(field: "timeoutSeconds", message: "must be 1-300") }
        if kind != .heartbeat && timeoutSeconds > intervalSeconds {
            throw DomainError.invalid(field: "timeoutSeconds", message: "must not exceed intervalSeconds")
        }
        guard (1...100).contains(failureThreshold) else { throw DomainError.invalid(field: "failureThreshold", message: "must be 1-100") }
        guard (1...100).contains(successThreshold) else { throw DomainError.invalid(field: "successThreshold", message: "must be 1-100") }
        if let component, !knownComponents.contains(component) {
            throw DomainError.invalid(field: "component", message: "unknown component '\(component)'")
        }
    }

    /// Applies one check's outcome with the thresholds; returns the new status when it changed.
    public mutating func record(_ outcome: CheckOutcome, message: String, latencyMs: Double?, at now: Date) -> MonitorStatus? {
        state.configurationProblem = nil
        state.lastCheckedAt = now
        state.lastOutcome = outcome
        state.lastMessage = message
        state.lastLatencyMs = latencyMs
        let target: MonitorStatus
        switch outcome {
        case .down:
            if state.consecutiveFailures == 0 { state.failingSince = now }
            state.consecutiveFailures += 1
            state.consecutiveSuccesses = 0
            guard state.consecutiveFailures >= failureThreshold else { return nil }
            target = .down
        case .up, .degraded:
            state.consecutiveSuccesses += 1
            state.consecutiveFailures = 0
            state.failingSince = nil
            // Recovery from down waits for the success threshold; up <-> degraded moves at once.
            if state.status == .down && state.consecutiveSuccesses < successThreshold { return nil }
            target = outcome == .up ? .up : .degraded
        }
        guard target != state.status else { return nil }
        state.status = target
        state.since = now
        return target
    }

    /// Records a check that could not run because of how Belay is configured. The status and the runs of
    /// failures and successes stay as they were, so fixing the configuration resumes where the monitor was.
    public mutating func recordConfigurationProblem(_ reason: String, at now: Date) {
        state.lastCheckedAt = now
        state.lastMessage = reason
        state.configurationProblem = reason
    }

    /// For heartbeat monitors: down once the last ping (or creation) is older than interval + grace.
    public func heartbeatOverdue(at now: Date) -> Bool {
        let last = state.lastPingAt ?? createdAt
        return now.timeIntervalSince(last) > TimeInterval(intervalSeconds + (settings.graceSeconds ?? 0))
    }
}

/// One check's result, as stored.
public struct CheckResult: Codable, Sendable, Equatable {
    public var monitorID: Int64
    public var checkedAt: Date
    public var outcome: CheckOutcome
    public var latencyMs: Double?
    public var message: String

    public init(monitorID: Int64, checkedAt: Date, outcome: CheckOutcome, latencyMs: Double?, message: String) {
        self.monitorID = monitorID
        self.checkedAt = checkedAt
        self.outcome = outcome
        self.latencyMs = latencyMs
        self.message = message
    }
}

/// Results summed over a minute, hour or day.
public enum RollupGranularity: String, Codable, Sendable, CaseIterable {
    case minute, hour, day

    public var seconds: Int {
        switch self {
        case .minute: return 60
        case .hour: return 3600
        case .day: return 86_400
        }
    }

    public func bucket(_ date: Date) -> Int64 {
        let t = Int64(date.timeIntervalSince1970.rounded(.down))
        return t - ((t % Int64(seconds)) + Int64(seconds)) % Int64(seconds)
    }
}

public struct CheckRollup: Codable, Sendable, Equatable {
    public var monitorID: Int64
    public var granularity: RollupGranularity
    /// Start of the bucket, seconds since 1970 (UTC).
    public var bucket: Int64
    public var total: Int
    public var up: Int
    public var degraded: Int
    public var down: Int
    public var latencySumMs: Double
    public var latencyCount: Int
    public var latencyMaxMs: Double

    public init(monitorID: Int64, granularity: RollupGranularity, bucket: Int64, total: Int = 0, up: Int = 0, degraded: Int = 0, down: Int = 0,
                latencySumMs: Double = 0, latencyCount: Int = 0, latencyMaxMs: Double = 0) {
        self.monitorID = monitorID
        self.granularity = granularity
        self.bucket = bucket
        self.total = total
        self.up = up
        self.degraded = degraded
        self.down = down
        self.latencySumMs = latencySumMs
        self.latencyCount = latencyCount
        self.latencyMaxMs = latencyMaxMs
    }

    public mutating func add(_ result: CheckResult) {
        total += 1
        switch result.outcome {
        case .up: up += 1
        case .degraded: degraded += 1
        case .down: down += 1
        }
        if let latency = result.latencyMs {
            latencySumMs += latency
            latencyCount += 1
            latencyMaxMs = max(latencyMaxMs, latency)
        }
    }

    /// Share of checks that were not down.
    public var availability: Double? { total == 0 ? nil : Double(up + degraded) / Double(total) }
    public var averageLatencyMs: Double? { latencyCount == 0 ? nil : latencySumMs / Double(latencyCount) }

    /// Folds results into per-(monitor, granularity, bucket) sums.
    public static func summarize(_ results: [CheckResult]) -> [CheckRollup] {
        struct Key: Hashable { let monitor: Int64, granularity: RollupGranularity, bucket: Int64 }
        var sums: [Key: CheckRollup] = [:]
        for result in results {
            for granularity in RollupGranularity.allCases {
                let key = Key(monitor: result.monitorID, granularity: granularity, bucket: granularity.bucket(result.checkedAt))
                sums[key, default: CheckRollup(monitorID: key.monitor, granularity: granularity, bucket: key.bucket)].add(result)
            }
        }
        return Array(sums.values)
    }
}

/// Textual IP address checks, shared by validation and the egress policy.
public enum IPAddressText {
    public static func isValid(_ text: String) -> Bool { isIPv4(text) || isIPv6(text) }

    public static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCII) && part.allSatisfy(\.isNumber) && Int(part)! <= 255
                && !(part.count > 1 && part.first == "0")
        }
    }

    public static func isIPv6(_ text: String) -> Bool {
        var address = in6_addr()
        return text.contains(":") && inet_pton(AF_INET6, text, &address) == 1
    }
}

/// Where certificate-file monitors may read. Reading a path the server can open tells whoever made the
/// monitor whether a file exists and what it holds, so only admins may make such monitors, and only for
/// files under the directory the operator names (`--certificate-dir`); without one, none.
public struct CertificateFileAccess: Sendable, Equatable {
    public var directory: String?

    public init(directory: String?) {
        self.directory = directory.map { $0.hasSuffix("/") && $0.count > 1 ? String($0.dropLast()) : $0 }
    }

    /// Throws unless `role` may save `monitor` (only certificate-file monitors with a path are limited).
    public func check(_ monitor: Monitor, role: AccessRole) throws {
        guard monitor.kind == .certificateFile, let path = monitor.settings.path else { return }
        guard role.allows(.admin) else {
            throw DomainError.invalid(field: "settings.path", message: "only an admin may make a monitor that reads a file on the server; upload the certificate as pem instead")
        }
        guard let directory else {
            throw DomainError.invalid(field: "settings.path", message: "this server reads no certificate files: start it with --certificate-dir DIR, or upload the certificate as pem")
        }
        guard Self.isWithin(path, directory) else {
            throw DomainError.invalid(field: "settings.path", message: "must be a file under \(directory) (the --certificate-dir)")
        }
    }

    /// Lexically under `directory`: absolute, no "." or ".." segment, no empty segment.
    public static func isWithin(_ path: String, _ directory: String) -> Bool {
        guard path.hasPrefix(directory + "/") || (directory == "/" && path.hasPrefix("/")) else { return false }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        return !segments.contains { $0.isEmpty || $0 == "." || $0 == ".." }
    }
}
