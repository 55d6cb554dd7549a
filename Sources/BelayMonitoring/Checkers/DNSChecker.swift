import BelayEgress
import BelayFormats
import BelayCore
import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks that a name resolves (A, AAAA or either), and with `expected`, to every one of those addresses.
/// Resolves with the system resolver, like every other check; it opens no connection, so the egress policy
/// does not apply.
public struct DNSChecker: Checker {
    let connector: Connector

    public init(connector: Connector) {
        self.connector = connector
    }

    public func check(_ monitor: Monitor, now: Date) async -> CheckReport {
        let settings = monitor.settings
        guard let name = settings.name, !name.isEmpty else { return CheckReport(outcome: .down, message: "no name to resolve") }
        let family: CInt
        switch settings.recordType?.uppercased() {
        case "A": family = AF_INET
        case "AAAA": family = AF_INET6
        default: family = AF_UNSPEC
        }
        let started = NIODeadline.now()
        let found: [IPAddress]
        do {
            let addresses = try await connector.runBlocking(deadline: monitor.checkDeadline) {
                try HostResolver.resolve(name, port: 0, family: family, forConnecting: false)
            }
            found = addresses.compactMap(IPAddress.init)
        } catch {
            return .down(error, timeoutSeconds: monitor.timeoutSeconds)
        }
        let latency = Wording.milliseconds(since: started)
        let list = found.map(\.description).joined(separator: ", ")
        let missing = (settings.expected ?? []).filter { text in
            guard let wanted = IPAddress(parsing: text) else { return true }
            return !found.contains(wanted)
        }
        guard missing.isEmpty else {
            return CheckReport(outcome: .down, latencyMs: latency, message: "\(name) resolved to \(list), missing \(missing.joined(separator: ", "))")
        }
        return CheckReport(outcome: .up, latencyMs: latency, message: "\(name) resolved to \(list) in \(Wording.duration(latency))")
    }
}
