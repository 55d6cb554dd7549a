import BelayEgress
import BelayCore
import Foundation
import NIOCore
import NIOSSL

/// Checks the certificate an endpoint presents: trusted chain (system roots plus `caPEM`), name match,
/// and days to expiry.
public struct TLSChecker: Checker {
    let connector: Connector

    public init(connector: Connector) {
        self.connector = connector
    }

    public func check(_ monitor: Monitor, now: Date) async -> CheckReport {
        let settings = monitor.settings
        guard let host = settings.host, !host.isEmpty else { return CheckReport(outcome: .down, message: "no host to check") }
        let port = settings.port ?? 443
        let serverName = settings.serverName ?? host
        let deadline = monitor.checkDeadline
        let started = NIODeadline.now()
        let handshake = TLSHandshake(connector: connector)
        let context: NIOSSLContext
        do { context = try connector.tlsContexts.context(.full, caPEM: settings.caPEM) } catch {
            return .down(error, timeoutSeconds: monitor.timeoutSeconds)
        }
        do {
            let presented = try await handshake.certificate(host: host, port: port, serverName: serverName, context: context, deadline: deadline)
            let latency = Wording.milliseconds(since: started)
            guard let leaf = presented else { return CheckReport(outcome: .down, latencyMs: latency, message: "the server presented no certificate") }
            return CertificateExpiry.report(
                notValidBefore: leaf.notValidBefore, notValidAfter: leaf.notValidAfter, now: now,
                warnDays: settings.warnDays ?? MonitorSettings.defaultWarnDays, latencyMs: latency
            )
        } catch {
            let failure = await handshake.explain(error, host: host, port: port, serverName: serverName, now: now, deadline: deadline)
            return .down(failure, timeoutSeconds: monitor.timeoutSeconds)
        }
    }
}
