import BelayCore
import BelayFormats
import Foundation

/// Everything a running Belay can be told, as one nested value. Every field has a default that works out
/// of the box; `ConfigurationLoader` fills it from flags and `BELAY_*` variables, and docs/configuration.md
/// lists every setting.
public struct ServerConfiguration: Sendable {
    public var http = HTTP()
    public var data = DataSettings()
    public var statusPage = StatusPage()
    public var sessions = Sessions()
    public var detect = Detect()
    public var egress = Egress()
    public var retention = Retention()
    public var team = Team()
    public var log = Log()
    public var notify = Notify()

    /// Connections. The defaults are for a status page under a stampede: browsers open at most six
    /// connections to a host, so 128 per address lets a large office behind one NAT in while one client
    /// cannot hold more than a sliver of the file descriptors (the soft limit is raised to the hard one at
    /// start); 30 s of idleness frees the sockets of readers who have their page; 60 s for a body is
    /// 280 KB/s for the largest alert delivery, far slower than any real sender.
    public struct HTTP: Sendable {
        public var host = "127.0.0.1"
        public var port = 8080
        /// The address people reach Belay at; used in feeds, links and the Statuspage JSON. Defaults to http://host:port.
        public var publicURL: String?
        /// The largest request body accepted, in bytes.
        public var maxBodyBytes = 1 << 20
        /// The largest alert delivery accepted (Alertmanager groups can be large).
        public var maxAlertBodyBytes = 16 << 20
        /// A keep-alive connection idle this long, or one that has not finished its request head, is closed.
        public var idleTimeout: Duration = .seconds(30)
        /// A request body must have arrived whole this long after its head.
        public var bodyTimeout: Duration = .seconds(60)
        /// Open connections one client address may hold; more are closed at once.
        public var maxConnectionsPerClient = 128
        /// Proxies whose X-Forwarded-For / Forwarded headers name the client (for every per-address limit,
        /// throttle and log line). Empty: the peer is the client and those headers are ignored.
        public var trustedProxies: [CIDR] = []
        /// Client addresses that may read `/metrics` without a bearer token (a Prometheus server).
        public var metricsAllow: [CIDR] = []
        /// A second listener for the public pages only (`--public-listen`), on event loops of its own, so a
        /// stampede on the status page cannot starve the API, the war room or ingestion. Nil: none.
        public var publicListen: ListenAddress?

        public init() {}
    }

    /// Where the data lives (read by `belay serve` before the server is built).
    public struct DataSettings: Sendable {
        public var directory = "./belay-data"
        /// SQLite's synchronous mode: full survives a power cut; normal may lose the last commits then.
        public var synchronous = "full"
        /// A PostgreSQL database instead of the SQLite file in `directory`, for replicas (`--database`).
        public var databaseURL: String?

        public init() {}
    }

    public struct StatusPage: Sendable {
        /// The name shown at the top of the status page and in feeds.
        public var pageName = "Belay Status"
        /// Days of history drawn on the status page.
        public var historyDays = 90
        /// A logo beside the page's name (`--page-logo`).
        public var logo: PageLogo?
        /// The page's accent colour (`--page-accent`), used in shades that keep text readable.
        public var accent: AccentColor?
        /// How often the page checks whether time alone has changed it (a maintenance window starting or
        /// ending, a new day); it rebuilds only then, or every five minutes at the least.
        public var refreshInterval: Duration = .seconds(5)
        /// A directory the public snapshot is copied into after every rebuild (`--status-mirror`), for a
        /// static server or a sync to keep the page up while Belay is down; nil: no copy.
        public var mirrorDirectory: String?
        /// Run through /bin/sh -c after each copy that changed a file (`--status-mirror-command`).
        public var mirrorCommand: String?
        /// The command is killed (its whole process group) after this long.
        public var mirrorCommandTimeout: Duration = .seconds(60)

        public init() {}
    }

    public struct Sessions: Sendable {
        /// A web session ends after this long without a request...
        public var idleTimeout: TimeInterval = 12 * 3600
        /// ...and after this long in any case.
        public var absoluteTimeout: TimeInterval = 7 * 86400
        /// bcrypt work factor for passwords; tests lower it to stay fast.
        public var passwordCost: UInt8 = 12
        /// Failed sign-ins allowed per account and per client in `signInWindow` before answering 429.
        public var signInAttempts = 10
        public var signInWindow: TimeInterval = 15 * 60

        public init() {}
    }

    public struct Detect: Sendable {
        /// Alerts in one delivery; a delivery with more is refused whole with 413, so one delivery is one
        /// bounded transaction. Alertmanager's `max_alerts` keeps its groups under it.
        public var maxAlertsPerDelivery = IngestRules.defaultMaxAlerts
        /// Events waiting to be committed before new deliveries get 503.
        public var ingestQueueEvents = 100_000
        public var signalPolicy = SignalPolicy()
        /// Checks running at once.
        public var monitorConcurrency = 256
        /// The only directory certificate-file monitors may read files from; nil: none (upload the PEM instead).
        public var certificateDirectory: String?

        public init() {}
    }

    /// Where monitors may connect. Parsed once, when the configuration is loaded.
    public struct Egress: Sendable {
        /// Networks monitors may reach even if denied by default.
        public var allow: [CIDR] = []
        /// Networks never reached; beats `allow`.
        public var deny: [CIDR] = []
        /// Refuse private ranges too.
        public var denyPrivate = false

        public init() {}
    }

    public struct Retention: Sendable {
        /// Raw monitor results.
        public var results: TimeInterval = 7 * 86400
        /// The event log; consumers that follow it must read within this time.
        public var events: TimeInterval = 365 * 86400

        public init() {}
    }

    public struct Team: Sendable {
        /// "Out of hours" in the suspect score is before 08:00 or after 18:00 here.
        public var timeZone = TimeZone.utc

        public init() {}
    }

    /// Outgoing notifications: the SMTP relay for email, and damping for subscribers.
    public struct Notify: Sendable {
        public var smtpHost: String?
        public var smtpPort = 587
        /// "starttls", "tls" or "none"; nil takes the URL's (smtps:// is tls, smtp:// is starttls).
        public var smtpSecurity: String?
        public var smtpUser: String?
        /// From BELAY_SMTP_PASSWORD only: a flag would show in `ps`.
        public var smtpPassword: String?
        public var smtpFrom: String?
        /// Extra CA certificates (PEM) the relay's certificate may chain to.
        public var smtpCAPEM: String?
        /// Networks the relay may be on although the egress policy refuses them.
        public var smtpAllow: [CIDR] = []
        /// A flapping component tells subscribers at most once in this time.
        public var dampingWindow: TimeInterval = NotificationPlanner.defaultDampingWindow

        public init() {}

        public var hasSMTP: Bool { smtpHost != nil }
    }

    public struct Log: Sendable {
        public var level = "info"

        public init() {}
    }

    public init() {}

    /// Cookies get the Secure attribute when the public address is HTTPS (Belay behind a TLS proxy).
    public var isBehindTLS: Bool { http.publicURL?.lowercased().hasPrefix("https://") ?? false }

    public var baseURL: String {
        let url = http.publicURL ?? "http://\(http.host):\(http.port)"
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }
}

/// A host and port to listen on, from "HOST:PORT" or "[IPv6]:PORT".
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Nil unless `text` is HOST:PORT with a port of 0-65535 (0: any free port).
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let host: Substring
        let portText: Substring
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]"), trimmed[close...].hasPrefix("]:") else { return nil }
            host = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            portText = trimmed[trimmed.index(close, offsetBy: 2)...]
        } else {
            guard let colon = trimmed.lastIndex(of: ":"), !trimmed[..<colon].contains(":") else { return nil }
            host = trimmed[..<colon]
            portText = trimmed[trimmed.index(after: colon)...]
        }
        guard !host.isEmpty, !host.contains(where: { $0.isWhitespace }), portText.count <= 5, let port = Int(portText), (0...65535).contains(port)
        else { return nil }
        self.init(host: String(host), port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
