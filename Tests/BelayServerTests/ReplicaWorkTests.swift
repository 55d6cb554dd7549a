import BelayCore
import BelayMonitoring
import BelaySQLite
@testable import BelayServer
import BelayTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// A checker that records which monitors it was asked to check.
final class RecordingChecker: Checker {
    let checked = Mutex<Set<Int64>>([])

    func check(_ monitor: Monitor, now: Date) async -> CheckReport {
        _ = checked.withLock { $0.insert(monitor.id) }
        return CheckReport(outcome: .up, latencyMs: 1, message: "200 OK in 1 ms")
    }

    var ids: Set<Int64> { checked.withLock { $0 } }
    func forget() { checked.withLock { $0.removeAll() } }
}

/// Two replicas on one SQLite file, wired as `BelayApp.build` wires them (membership, scheduler, timed
/// jobs), on a fixed clock: the leases expire only when the test moves the clock, and the membership is
/// renewed by the test, so nothing depends on how fast a loaded machine runs.
@Suite struct ReplicaWorkTests {
    struct Replica {
        let membership: ReplicaMembership
        let scheduler: MonitorScheduler
        let checker = RecordingChecker()

        init(id: String, store: AppDatabase, clock: FixedClock, logger: Logger) {
            let membership = ReplicaMembership(id: id, store: store, clock: clock, logger: logger)
            let checker = checker
            let scheduler = MonitorScheduler(
                store: store, checkers: checker, clock: clock, settings: .init(), logger: logger, owns: { membership.owns($0) })
            membership.observe { _ in scheduler.monitorsChanged() }
            self.membership = membership
            self.scheduler = scheduler
        }
    }

    static var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    static func waitFor(_ what: String, _ condition: () async throws -> Bool) async throws {
        let began = ContinuousClock.now
        while try await !condition() {
            if ContinuousClock.now - began > .seconds(30) { Issue.record("\(what) did not happen within 30 s"); return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func eachMonitorIsCheckedByOneReplicaAndAStoppedReplicasMonitorsMoveAfterItsLease() async throws {
        let (first, directory) = try Fixtures.fileDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        let second = try AppDatabase.open(directory: directory)
        let clock = FixedClock()
        var ids: Set<Int64> = []
        for index in 0..<12 {
            let monitor = try await first.createMonitor(
                Monitor(
                    name: "api \(index)", kind: .http, settings: MonitorSettings(url: "http://10.1.2.3/\(index)"), intervalSeconds: 1,
                    timeoutSeconds: 1, createdAt: clock.now, updatedAt: clock.now))
            ids.insert(monitor.id)
        }
        let a = Replica(id: "replica-a", store: first, clock: clock, logger: Self.logger)
        let b = Replica(id: "replica-b", store: second, clock: clock, logger: Self.logger)
        try await a.membership.renew()
        try await b.membership.renew()
        #expect(try await a.membership.renew() == ["replica-a", "replica-b"])
        let expectedA = ids.filter { MonitorOwnership.owner(of: $0, among: ["replica-a", "replica-b"]) == "replica-a" }
        #expect(!expectedA.isEmpty && expectedA.count < ids.count, "the fixed ids split twelve monitors between the two")
        // b joined after a: it takes its share once a has had a renewal's time to let go.
        clock.advance(by: b.membership.handover + 1)

        let runA = Task { try await a.scheduler.run() }
        let runB = Task { try await b.scheduler.run() }
        defer { runA.cancel(); runB.cancel() }
        try await Self.waitFor("every monitor checked") { a.checker.ids.union(b.checker.ids) == ids }
        // A few more rounds at a one-second interval: still no monitor checked by both.
        try await Task.sleep(for: .seconds(2))
        #expect(a.checker.ids == expectedA)
        #expect(b.checker.ids == ids.subtracting(expectedA))

        // b stops (crashes: no graceful leave), so only its lease's expiry hands its monitors over.
        runB.cancel()
        _ = await runB.result
        a.checker.forget()
        #expect(try await a.membership.renew() == ["replica-a", "replica-b"], "b's lease has not expired yet")
        try await Task.sleep(for: .seconds(2))
        #expect(a.checker.ids.isSubset(of: expectedA), "before the lease expires a checks only its own share")
        clock.advance(by: a.membership.leaseLength + 1)
        #expect(try await a.membership.renew() == ["replica-a"])
        try await Self.waitFor("a checks b's monitors") { a.checker.ids == ids }
    }

    @Test func aJoiningReplicaTakesItsShareOnlyAfterTheOthersHaveLetGo() async throws {
        let (first, directory) = try Fixtures.fileDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        let second = try AppDatabase.open(directory: directory)
        let clock = FixedClock()
        var ids: Set<Int64> = []
        for index in 0..<12 {
            let monitor = try await first.createMonitor(
                Monitor(
                    name: "api \(index)", kind: .http, settings: MonitorSettings(url: "http://10.1.2.3/\(index)"), intervalSeconds: 1,
                    timeoutSeconds: 1, createdAt: clock.now, updatedAt: clock.now))
            ids.insert(monitor.id)
        }
        let a = Replica(id: "replica-a", store: first, clock: clock, logger: Self.logger)
        let b = Replica(id: "replica-b", store: second, clock: clock, logger: Self.logger)
        #expect(try await a.membership.renew() == ["replica-a"])
        let runA = Task { try await a.scheduler.run() }
        let runB = Task { try await b.scheduler.run() }
        defer { runA.cancel(); runB.cancel() }
        try await Self.waitFor("a alone checks every monitor") { a.checker.ids == ids }

        // b joins; a sees it at its next renewal. Neither checks b's share in between: a has let go, and b
        // cannot know whether a has.
        #expect(try await b.membership.renew() == ["replica-a", "replica-b"])
        try await Task.sleep(for: .seconds(2))
        #expect(b.checker.ids.isEmpty, "b checked \(b.checker.ids) while a may still have been checking them")
        #expect(try await a.membership.renew() == ["replica-a", "replica-b"])
        let expectedA = ids.filter { MonitorOwnership.owner(of: $0, among: ["replica-a", "replica-b"]) == "replica-a" }
        try await Task.sleep(for: .seconds(1.5))
        a.checker.forget()
        try await Task.sleep(for: .seconds(2))
        #expect(a.checker.ids == expectedA, "a gave b's share up at its renewal")
        #expect(b.checker.ids.isEmpty)

        clock.advance(by: b.membership.handover + 1)
        try await Self.waitFor("b checks its share after the handover") { b.checker.ids == ids.subtracting(expectedA) }
        a.checker.forget()
        try await Task.sleep(for: .seconds(2))
        #expect(a.checker.ids == expectedA)
        #expect(b.checker.ids == ids.subtracting(expectedA))
    }

    @Test func theTimedJobsRunOnTheReplicaHoldingTheirLeaseAndPassOnWhenItExpiresOrIsReleased() async throws {
        let (first, directory) = try Fixtures.fileDatabase()
        defer { try? FileManager.default.removeItem(at: directory) }
        let second = try AppDatabase.open(directory: directory)
        let clock = FixedClock()
        let jobsA = TimedJobs(store: first, clock: clock, policy: SignalPolicy(), eventRetention: 86400, replica: "replica-a", logger: Self.logger)
        let jobsB = TimedJobs(store: second, clock: clock, policy: SignalPolicy(), eventRetention: 86400, replica: "replica-b", logger: Self.logger)
        #expect(await jobsA.holdsLease(now: clock.now))
        #expect(await !jobsB.holdsLease(now: clock.now))
        clock.advance(by: jobsA.leaseLength - 1)
        #expect(await jobsA.holdsLease(now: clock.now), "each sweep renews the holder's lease")
        clock.advance(by: jobsA.leaseLength - 1)
        #expect(await !jobsB.holdsLease(now: clock.now), "renewed, so not yet expired")
        clock.advance(by: 2)
        #expect(await jobsB.holdsLease(now: clock.now), "a stopped its sweeps; after the lease b takes over")
        #expect(await !jobsA.holdsLease(now: clock.now))
        try await second.releaseJobLease(name: TimedJobs.lease, owner: "replica-b")
        #expect(await jobsA.holdsLease(now: clock.now), "a released lease passes on at once")
    }
}
