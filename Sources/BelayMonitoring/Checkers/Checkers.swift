import BelayEgress
import BelayCore
import Foundation
import NIOCore
import NIOPosix

/// Every checker, sharing one connector (event loop group, egress policy, thread pool, TLS contexts).
/// The scheduler holds one value and calls `check` for each due monitor; nothing here is per check
/// except the connections themselves.
public struct Checkers: Sendable {
    public let connector: Connector
    public let http: HTTPChecker
    public let tcp: TCPChecker
    public let tls: TLSChecker
    public let certificateFile: CertificateFileChecker
    public let dns: DNSChecker
    public let heartbeat: HeartbeatChecker

    /// - Parameters:
    ///   - group: the shared event loop group (e.g. `MultiThreadedEventLoopGroup.singleton`); never one per check.
    ///   - egress: where monitors may connect.
    ///   - threadPool: for getaddrinfo, certificate files and regular expressions; nil uses a shared pool of
    ///     `Connector.sharedPoolThreads` threads.
    ///   - certificateFiles: which files certificate-file monitors may read.
    public init(group: any EventLoopGroup, egress: EgressPolicy, certificateFiles: CertificateFileAccess = .init(directory: nil), threadPool: NIOThreadPool? = nil) {
        let connector = Connector(group: group, egress: egress, threadPool: threadPool)
        self.connector = connector
        self.http = HTTPChecker(connector: connector)
        self.tcp = TCPChecker(connector: connector)
        self.tls = TLSChecker(connector: connector)
        self.certificateFile = CertificateFileChecker(connector: connector, access: certificateFiles)
        self.dns = DNSChecker(connector: connector)
        self.heartbeat = HeartbeatChecker()
    }

    public func checker(for kind: MonitorKind) -> any Checker {
        switch kind {
        case .http: return http
        case .tcp: return tcp
        case .tls: return tls
        case .certificateFile: return certificateFile
        case .dns: return dns
        case .heartbeat: return heartbeat
        }
    }

    /// Runs one check. Never throws; bounded by the monitor's `timeoutSeconds`; blocking work stays off
    /// the event loops.
    public func check(_ monitor: Monitor, now: Date) async -> CheckReport {
        await checker(for: monitor.kind).check(monitor, now: now)
    }
}
