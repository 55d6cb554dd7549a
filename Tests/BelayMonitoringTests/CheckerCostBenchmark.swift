import BelayCore
import BelayMonitoring
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
private let RUSAGE_SELF_WHO = RUSAGE_SELF.rawValue
#else
import Darwin
private let RUSAGE_SELF_WHO = RUSAGE_SELF
#endif

/// Not a correctness test: measures the CPU one HTTP check costs (client and the local server together,
/// so an upper bound). Run with BELAY_BENCH=1. The goal: 10,000 monitors every 30 s (333 checks/s)
/// in under half a core, i.e. under 1.5 ms of CPU per check.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["BELAY_BENCH"] != nil))
struct CheckerCostBenchmark {
    @Test(arguments: ["http 127.0.0.1", "http localhost", "tls localhost"])
    func cpuPerCheck(_ scenario: String) async throws {
        let checkers = Fixtures.checkers()
        let certificate = try TestCertificate(days: 30)
        defer { certificate.remove() }
        let isTLS = scenario.hasPrefix("tls")
        try await TestHTTPServer.with(tls: isTLS ? try certificate.serverContext() : nil) { server in
            let host = String(scenario.split(separator: " ")[1])
            let monitor = isTLS
                ? Fixtures.monitor(.tls, MonitorSettings(host: host, port: server.port, caPEM: certificate.certificatePEM))
                : Fixtures.monitor(.http, MonitorSettings(url: "http://\(host):\(server.port)/ok", keyword: "ok"))
            let rounds = 3000
            let concurrency = 64
            _ = await checkers.check(monitor, now: Date())
            let cpuBefore = Self.cpuSeconds()
            let started = Date()
            let passed = await withTaskGroup(of: Bool.self) { group in
                var launched = 0
                var passed = 0
                while launched < min(concurrency, rounds) {
                    group.addTask { await checkers.check(monitor, now: Date()).outcome != .down }
                    launched += 1
                }
                for await result in group {
                    if result { passed += 1 }
                    if launched < rounds {
                        group.addTask { await checkers.check(monitor, now: Date()).outcome != .down }
                        launched += 1
                    }
                }
                return passed
            }
            let cpu = Self.cpuSeconds() - cpuBefore
            let wall = Date().timeIntervalSince(started)
            print("\(scenario): \(rounds) checks in \(String(format: "%.2f", wall)) s, CPU \(String(format: "%.3f", cpu * 1000 / Double(rounds))) ms per check (client + server), \(String(format: "%.2f", cpu / (Double(rounds) / 333))) cores at 333 checks/s")
            #expect(passed == rounds)
        }
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF_WHO, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }
}
