import BelayFormats
import Foundation
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Opens the connections monitors make: resolves the name, checks every address with the egress policy,
/// and connects only to allowed ones, all within the check's deadline. One value is shared by every check;
/// it holds no per-check resources.
public struct Connector: Sendable {
    public let group: any EventLoopGroup
    public let egress: EgressPolicy
    /// Where blocking work runs (getaddrinfo, reading certificate files, regular expressions).
    package let threadPool: NIOThreadPool
    package let tlsContexts: TLSContextCache

    /// - Parameter threadPool: runs getaddrinfo and other blocking work; nil uses one process-wide pool of
    ///   `sharedPoolThreads` threads, sized for many slow DNS answers at once (NIO's singleton pool has one
    ///   thread per core, which a few slow resolvers would fill).
    public init(group: any EventLoopGroup, egress: EgressPolicy, threadPool: NIOThreadPool? = nil) {
        self.group = group
        self.egress = egress
        self.threadPool = threadPool ?? Self.sharedPool
        self.tlsContexts = TLSContextCache()
    }

    private init(group: any EventLoopGroup, egress: EgressPolicy, threadPool: NIOThreadPool, tlsContexts: TLSContextCache) {
        self.group = group
        self.egress = egress
        self.threadPool = threadPool
        self.tlsContexts = tlsContexts
    }

    /// The same connector under another policy (a channel's allowed networks), sharing its TLS contexts.
    public func with(egress: EgressPolicy) -> Connector {
        Connector(group: group, egress: egress, threadPool: threadPool, tlsContexts: tlsContexts)
    }

    public static let sharedPoolThreads = 16

    private static let sharedPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: sharedPoolThreads)
        pool.start()
        return pool
    }()

    /// Connects to `host:port` within `deadline`, trying allowed addresses in resolver order.
    /// `initializer` sets up the pipeline before the connection opens (so a TLS handshake starts at once).
    public func connect(
        host: String, port: Int, deadline: NIODeadline,
        initializer: (@Sendable (any Channel) -> EventLoopFuture<Void>)? = nil
    ) async throws -> any Channel {
        try await connect(host: host, port: port, deadline: deadline, on: group.next(), initializer: initializer).get()
    }

    package func connect(
        host: String, port: Int, deadline: NIODeadline, on eventLoop: any EventLoop,
        initializer: (@Sendable (any Channel) -> EventLoopFuture<Void>)?
    ) -> EventLoopFuture<any Channel> {
        let egress = self.egress
        return resolve(host: host, port: port, deadline: deadline, on: eventLoop).flatMapThrowing { addresses -> [SocketAddress] in
            let allowed = addresses.filter(egress.allows)
            if allowed.isEmpty, let first = addresses.first {
                throw ConnectionFailure.refused(egress.denialReason(for: first) ?? "\(host) is refused by the egress policy")
            }
            return allowed
        }.flatMap { addresses in
            Self.connect(to: addresses[...], deadline: deadline, on: eventLoop, initializer: initializer, lastError: nil)
        }
    }

    private static func connect(
        to addresses: ArraySlice<SocketAddress>, deadline: NIODeadline, on eventLoop: any EventLoop,
        initializer: (@Sendable (any Channel) -> EventLoopFuture<Void>)?, lastError: (any Error)?
    ) -> EventLoopFuture<any Channel> {
        guard let address = addresses.first else {
            return eventLoop.makeFailedFuture(lastError ?? ConnectionFailure.failed("no address to connect to"))
        }
        let remaining = deadline - .now()
        guard remaining > .zero else { return eventLoop.makeFailedFuture(ConnectionFailure.timedOut) }
        guard var bootstrap = ClientBootstrap(validatingGroup: eventLoop) else {
            return eventLoop.makeFailedFuture(ConnectionFailure.failed("the event loop group cannot open sockets"))
        }
        // A silent first address must not eat the whole budget when others remain.
        let share = addresses.count == 1 ? remaining : .nanoseconds(max(remaining.nanoseconds / Int64(addresses.count), min(remaining, .seconds(2)).nanoseconds))
        bootstrap = bootstrap.connectTimeout(share)
        if let initializer { bootstrap = bootstrap.channelInitializer(initializer) }
        return bootstrap.connect(to: address).flatMapError { error in
            if addresses.count > 1 {
                return connect(to: addresses.dropFirst(), deadline: deadline, on: eventLoop, initializer: initializer, lastError: error)
            }
            // The deadline, not the per-address share, is what people set.
            if case ChannelError.connectTimeout = error, deadline - .now() > .milliseconds(1) {
                return eventLoop.makeFailedFuture(ConnectionFailure.failed("connect timed out"))
            }
            return eventLoop.makeFailedFuture(ConnectionFailure.from(error))
        }
    }

    /// The addresses of `host` (a name or a literal address, IPv6 optionally in brackets) in resolver order,
    /// or a failure within `deadline`. Names resolve with getaddrinfo on the thread pool.
    package func resolve(
        host: String, port: Int, family: CInt = AF_UNSPEC, forConnecting: Bool = true, deadline: NIODeadline, on eventLoop: any EventLoop
    ) -> EventLoopFuture<[SocketAddress]> {
        if let address = HostResolver.literal(host, port: port) { return eventLoop.makeSucceededFuture([address]) }
        return threadPool.runIfActive(eventLoop: eventLoop) {
            try HostResolver.resolve(host, port: port, family: family, forConnecting: forConnecting)
        }.bounded(by: deadline)
    }

    /// Runs blocking `body` on the thread pool, giving up on waiting (not on the work) at `deadline`.
    package func runBlocking<T: Sendable>(deadline: NIODeadline, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await threadPool.runIfActive(eventLoop: group.next(), body).bounded(by: deadline).get()
    }
}

/// getaddrinfo, and literal addresses without it.
package enum HostResolver {
    package static func literal(_ host: String, port: Int) -> SocketAddress? {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        guard IPAddress(parsing: bare) != nil else { return nil }
        return try? SocketAddress(ipAddress: bare, port: port)
    }

    /// Blocking. getaddrinfo also accepts "127.1", "2130706433" and "0x7f000001" and answers 127.0.0.1,
    /// which is why the policy judges what comes back, never the name.
    package static func resolve(_ host: String, port: Int, family: CInt, forConnecting: Bool) throws -> [SocketAddress] {
        guard !host.isEmpty, !host.utf8.contains(0) else { throw ConnectionFailure.unresolvable("could not resolve an empty host name") }
        var hints = addrinfo()
        hints.ai_family = family
        #if canImport(Darwin)
        hints.ai_socktype = SOCK_STREAM
        #else
        hints.ai_socktype = CInt(SOCK_STREAM.rawValue)
        #endif
        if forConnecting { hints.ai_flags = AI_ADDRCONFIG }
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else {
            let reason = status == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(status))
            throw ConnectionFailure.unresolvable("could not resolve \(host) (\(reason))")
        }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var entry = list
        while let info = entry?.pointee {
            defer { entry = info.ai_next }
            guard let raw = info.ai_addr else { continue }
            let address: SocketAddress
            switch info.ai_family {
            case AF_INET:
                var v4 = UnsafeRawPointer(raw).loadUnaligned(as: sockaddr_in.self)
                v4.sin_port = in_port_t(UInt16(truncatingIfNeeded: port)).bigEndian
                address = SocketAddress(v4, host: host)
            case AF_INET6:
                var v6 = UnsafeRawPointer(raw).loadUnaligned(as: sockaddr_in6.self)
                v6.sin6_port = in_port_t(UInt16(truncatingIfNeeded: port)).bigEndian
                address = SocketAddress(v6, host: host)
            default:
                continue
            }
            if !addresses.contains(address) { addresses.append(address) }
        }
        guard !addresses.isEmpty else { throw ConnectionFailure.unresolvable("\(host) has no addresses") }
        return addresses
    }
}
