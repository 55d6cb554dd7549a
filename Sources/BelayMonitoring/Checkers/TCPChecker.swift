import BelayEgress
import BelayCore
import Foundation
import NIOCore

/// Checks that a TCP connection to host:port opens (through the egress policy), then closes it.
public struct TCPChecker: Checker {
    let connector: Connector

    public init(connector: Connector) {
        self.connector = connector
    }

    public func check(_ monitor: Monitor, now: Date) async -> CheckReport {
        guard let host = monitor.settings.host, !host.isEmpty, let port = monitor.settings.port, (1...65_535).contains(port) else {
            return CheckReport(outcome: .down, message: "no host and port to check")
        }
        let started = NIODeadline.now()
        do {
            let channel = try await connector.connect(host: host, port: port, deadline: monitor.checkDeadline)
            let latency = Wording.milliseconds(since: started)
            channel.close(promise: nil)
            return CheckReport(outcome: .up, latencyMs: latency, message: "connected in \(Wording.duration(latency))")
        } catch {
            return .down(error, timeoutSeconds: monitor.timeoutSeconds)
        }
    }
}
