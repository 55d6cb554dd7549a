import BelayCore
import BelayEgress
import Foundation
import NIOCore
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Asks, when a monitor is saved, whether the egress policy would refuse every address of its target, so a
/// refused target is a clear 422 at once rather than a monitor that fails every check. Names resolve within
/// a short deadline; one that does not resolve now is saved (the checks will say so), since DNS may be
/// set up after the monitor.
struct MonitorTargetCheck: Sendable {
    let connector: Connector
    var resolveDeadline: TimeAmount = .seconds(2)

    /// getaddrinfo cannot be cancelled and may outlive the request's deadline by far, so save-time lookups
    /// run on threads of their own (never the pool monitor checks and notifications share), and at most
    /// `maxPending` may be queued or running: past that a monitor is saved unchecked, as if its name had not
    /// resolved, and its checks report what they find.
    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()
    static let maxPending = 8
    private static let pending = Mutex(0)

    init(egress: EgressPolicy, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        connector = Connector(group: group, egress: egress, threadPool: Self.pool)
    }

    /// Throws `DomainError.invalid` naming the field when the policy refuses the target.
    func check(_ monitor: Monitor) async throws {
        // Malformed settings are the store's to refuse, naming the field; only a well-formed target is resolved.
        guard (try? monitor.settings.validate(for: monitor.kind)) != nil, let target = Self.target(of: monitor) else { return }
        let deadline = NIODeadline.now() + resolveDeadline
        guard let addresses = await resolve(target.host, port: target.port, deadline: deadline),
              let first = addresses.first, !addresses.contains(where: connector.egress.allows),
              let reason = connector.egress.denialReason(for: first)
        else { return }
        throw DomainError.invalid(
            field: target.field,
            message: "\(reason): Belay may not connect there, so this monitor could never check it; "
                + "an admin can allow the network with --egress-allow (docs/configuration.md)")
    }

    /// The addresses of `host`, or nil when it does not resolve in time or too many lookups are pending.
    private func resolve(_ host: String, port: Int, deadline: NIODeadline) async -> [SocketAddress]? {
        if let literal = HostResolver.literal(host, port: port) { return [literal] }
        let admitted = Self.pending.withLock { count -> Bool in
            guard count < Self.maxPending else { return false }
            count += 1
            return true
        }
        guard admitted else { return nil }
        return try? await connector.runBlocking(deadline: deadline) {
            // Released when the lookup itself ends, not when the request stops waiting for it.
            defer { Self.pending.withLock { $0 -= 1 } }
            return try HostResolver.resolve(host, port: port, family: AF_UNSPEC, forConnecting: true)
        }
    }

    /// The host a monitor connects to, and the field that names it. DNS, certificate file and heartbeat
    /// monitors open no connection.
    static func target(of monitor: Monitor) -> (host: String, port: Int, field: String)? {
        let settings = monitor.settings
        switch monitor.kind {
        case .http:
            guard let raw = settings.url, let url = URL(string: raw), let target = try? HTTPTarget(url) else { return nil }
            return (target.host, target.port, "settings.url")
        case .tcp:
            guard let host = settings.host, let port = settings.port else { return nil }
            return (host, port, "settings.host")
        case .tls:
            guard let host = settings.host else { return nil }
            return (host, settings.port ?? 443, "settings.host")
        case .certificateFile, .dns, .heartbeat:
            return nil
        }
    }
}
