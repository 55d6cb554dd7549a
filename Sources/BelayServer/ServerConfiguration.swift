import BelayCore
import BelayFormats
import Foundation

/// Settings for the HTTP server and the public status page. Every field has a default that works out of the box.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The name shown at the top of the status page and in feeds.
    public var pageName: String
    /// The address people reach the page at; used in feeds and the Statuspage JSON. Defaults to http://host:port.
    public var publicURL: String?
    /// The largest request body accepted, in bytes.
    public var maxBodyBytes: Int
    /// Connections. The defaults are for a status page under a stampede: browsers open at most six
    /// connections to a host, so 128 per address lets a large office behind one NAT in while one client
    /// cannot hold more than a sliver of the file descriptors (the soft limit is raised to the hard one at
    /// start); 30 s of idleness frees the sockets of readers who have their page; 60 s for a body is
    /// 280 KB/s for the largest alert delivery, far slower than any real sender.
    /// A keep-alive connection idle this long, or one that has not finished its request head, is closed.
    public var idleTimeout: Duration = .seconds(30)
    /// A request body must have arrived whole this long after its head.
    public var bodyTimeout: Duration = .seconds(60)
    /// Open connections one client address may hold; more are closed at once.
    public var maxConnectionsPerClient = 128
    /// Proxies whose X-Forwarded-For / Forwarded headers name the client (for every per-address limit,
    /// throttle and log line). Empty: the peer is the client and those headers are ignored.
    public var trustedProxies: [CIDR] = []

    /// Days of history drawn on the status page.
    public var historyDays: Int
    /// How often the status page checks whether time alone has changed it (a maintenance window starting
    /// or ending, a new day); it rebuilds only then, or every five minutes at the least.
    public var refreshInterval: Duration

    /// A web session ends after this long without a request...
    public var sessionIdleTimeout: TimeInterval = 12 * 3600
    /// ...and after this long in any case.
    public var sessionAbsoluteTimeout: TimeInterval = 7 * 86400
    /// bcrypt work factor for passwords; tests lower it to stay fast.
    public var passwordCost: UInt8 = 12
    /// Failed sign-ins allowed per account and per client in `signInWindow` before answering 429.
    public var signInAttempts = 10
    public var signInWindow: TimeInterval = 15 * 60

    /// The team's time zone: "out of hours" in the suspect score is before 08:00 or after 18:00 here.
    public var timeZone = TimeZone(identifier: "UTC")!

    // Detect
    /// The largest alert delivery accepted (Alertmanager groups can be large).
    public var maxAlertBodyBytes = 16 << 20
    /// Alerts in one delivery; a delivery with more is refused whole with 413, so one delivery is one
    /// bounded transaction. Alertmanager's `max_alerts` keeps its groups under it.
    public var maxAlertsPerDelivery = IngestRules.defaultMaxAlerts
    /// Events waiting to be committed before new deliveries get 503.
    public var ingestQueueEvents = 100_000
    public var signalPolicy = SignalPolicy()
    /// Checks running at once.
    public var monitorConcurrency = 256
    /// How long raw monitor results are kept.
    public var resultRetention: TimeInterval = 7 * 86400
    /// How long the event log keeps events (consumers that follow it must read within this time).
    public var eventRetention: TimeInterval = 365 * 86400
    /// Comma-separated CIDRs monitors may reach even if denied by default, and CIDRs always denied.
    public var egressAllow = ""
    public var egressDeny = ""
    public var egressDenyPrivate = false
    /// The only directory certificate-file monitors may read files from; nil: none (upload the PEM instead).
    public var certificateDirectory: String?

    public init(
        host: String = "127.0.0.1", port: Int = 8080, pageName: String = "Belay Status", publicURL: String? = nil,
        maxBodyBytes: Int = 1 << 20, historyDays: Int = 90, refreshInterval: Duration = .seconds(5)
    ) {
        self.host = host
        self.port = port
        self.pageName = pageName
        self.publicURL = publicURL
        self.maxBodyBytes = maxBodyBytes
        self.historyDays = historyDays
        self.refreshInterval = refreshInterval
    }

    /// Cookies get the Secure attribute when the public address is HTTPS (Belay behind a TLS proxy).
    public var isBehindTLS: Bool { publicURL?.lowercased().hasPrefix("https://") ?? false }

    public var baseURL: String {
        let url = publicURL ?? "http://\(host):\(port)"
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }
}
