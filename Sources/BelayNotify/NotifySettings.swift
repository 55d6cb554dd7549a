import BelayCore
import BelayEgress
import BelayFormats
import Foundation

/// How the dispatcher runs and where it may connect.
public struct NotifySettings: Sendable {
    /// Links in messages come from here. Without it no channel can be enabled and nobody can subscribe.
    public var publicURL: String?
    /// The policy every outgoing connection passes (the monitors' own).
    public var egress: EgressPolicy
    public var smtp: SMTPRelay?
    public var dampingWindow: TimeInterval = NotificationPlanner.defaultDampingWindow
    /// How long a claimed delivery stays with one dispatcher; a dispatcher that dies leaves it to expire.
    /// A batch must finish well within it, or another dispatcher could take (and send) it again.
    public var lease: TimeInterval = 60
    /// Events read per planning step.
    public var eventBatch = 500
    /// HTTP deliveries in flight at once. A batch is twice this: even if every receiver hangs until the
    /// 15 s timeout, the batch ends in 30 s, inside the lease.
    public var httpConcurrency = 16
    /// SMTP connections at once, each carrying up to `mailsPerConnection` messages per batch (about a second's
    /// work for a local relay; a relay slower than half a second a message would outlast the lease).
    public var smtpConnections = 4
    public var mailsPerConnection = 100

    var httpBatch: Int { httpConcurrency * 2 }
    var mailBatch: Int { smtpConnections * mailsPerConnection }
    /// How often the outbox is checked with nothing to wake it (retries falling due, other replicas' work).
    public var pollInterval: Duration = .seconds(1)

    public init(publicURL: String?, egress: EgressPolicy, smtp: SMTPRelay? = nil) {
        self.publicURL = publicURL
        self.egress = egress
        self.smtp = smtp
    }

    /// The policy for one channel: the server's, plus the networks an admin allowed for it.
    func policy(allowing networks: [String]) -> EgressPolicy {
        var policy = egress
        policy.allow += networks.compactMap { try? EgressPolicy.parseList($0) }.flatMap { $0 }
        return policy
    }

    /// Subscribers' URLs come from anyone on the internet: never a private, loopback or link-local address,
    /// nor this machine's own addresses or the ranges reserved for documentation, benchmarks and carrier
    /// NAT, whatever the server allows monitors.
    var publicPolicy: EgressPolicy { EgressPolicy(allow: [], deny: egress.deny + Self.neverPublic, denyPrivate: true) }

    static let neverPublic: [CIDR] = {
        let reserved = ["100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"]
        return reserved.compactMap { try? CIDR(parsing: $0) } + LocalAddresses.networks()
    }()
}
