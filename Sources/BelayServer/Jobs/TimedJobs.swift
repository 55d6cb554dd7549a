import BelayCore
import Foundation
import Logging
import ServiceLifecycle

/// The work the clock alone starts: resolving incidents whose signals stayed clear through the quiet
/// period, recording maintenance windows that started or ended on schedule (so the event log says so),
/// and pruning events older than their retention. Across replicas one runs them: a sweep runs only while
/// this replica holds the job lease "timed-jobs", renewed by each sweep and lasting several.
struct TimedJobs: Service {
    let store: any IncidentStore & MaintenanceStore & DetectStore & EventStore & NotificationStore & LeaseStore
    let clock: any WallClock
    let policy: SignalPolicy
    let eventRetention: TimeInterval
    /// This replica's id, the lease's owner.
    let replica: String
    let logger: Logger

    static let lease = "timed-jobs"

    /// Three sweeps, and at least 15 s: a slow sweep does not lose the lease, a dead replica's passes on soon.
    var leaseLength: TimeInterval { max(15, 3 * Double(sweepInterval.components.seconds)) }

    /// Sweeps often enough that a resolution comes at most a tenth of the quiet period late (1-30 s).
    var sweepInterval: Duration { .milliseconds(Int64(min(30_000, max(1000, policy.quietPeriod * 100)))) }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastPrune: Date?
            // The first sweep looks a month back, so windows that moved while Belay was down are recorded too.
            var scheduleSince = clock.now.addingTimeInterval(-MaintenanceWindow.maxDuration)
            while !Task.isCancelled {
                let now = clock.now
                guard await holdsLease(now: now) else {
                    try? await Task.sleep(for: sweepInterval)
                    continue
                }
                await job("resolve quiet incidents") {
                    let resolved = try await store.autoResolveIncidents(policy: policy, now: now)
                    if !resolved.isEmpty { logger.info("resolved quiet incidents", metadata: ["incidents": "\(resolved)"]) }
                }
                await job("follow the maintenance schedule") {
                    try await followSchedule(since: scheduleSince, now: now)
                    scheduleSince = now.addingTimeInterval(-86400)
                }
                if lastPrune.map({ now.timeIntervalSince($0) >= 3600 }) ?? true {
                    lastPrune = now
                    await job("prune old events") {
                        let removed = try await store.pruneEvents(before: now.addingTimeInterval(-eventRetention))
                        if removed > 0 { logger.info("pruned old events", metadata: ["events": "\(removed)"]) }
                    }
                    await job("prune unconfirmed subscriptions") {
                        let removed = try await store.prunePendingSubscribers(before: now.addingTimeInterval(-Subscriber.pendingRetention))
                        if removed > 0 { logger.info("deleted unconfirmed subscriptions", metadata: ["subscribers": "\(removed)"]) }
                    }
                }
                try? await Task.sleep(for: sweepInterval)
            }
        }
        // Leaving: another replica takes the jobs at its next sweep instead of after the lease expires.
        do {
            try await store.releaseJobLease(name: Self.lease, owner: replica)
        } catch {
            logger.warning("could not release the timed-jobs lease; it passes on when it expires", metadata: ["error": "\(error)"])
        }
    }

    /// Stores the status the schedule gave each window that moves by itself.
    func followSchedule(since: Date, now: Date) async throws {
        for window in try await store.maintenances(MaintenanceQuery(endingAfter: since))
        where window.autoTransitions && window.effectiveStatus(at: now) != window.status {
            _ = try await store.updateMaintenance(id: window.id) { $0.followSchedule(at: now) }
        }
    }

    /// Takes or renews the lease; a database that cannot answer means no sweep now (the next tries again).
    func holdsLease(now: Date) async -> Bool {
        do {
            return try await store.acquireJobLease(name: Self.lease, owner: replica, now: now, until: now.addingTimeInterval(leaseLength))
        } catch {
            if !(error is CancellationError) { logger.error("could not take the timed-jobs lease", metadata: ["error": "\(error)"]) }
            return false
        }
    }

    private func job(_ name: String, _ work: () async throws -> Void) async {
        do {
            try await work()
        } catch is CancellationError {
        } catch {
            logger.error("could not \(name)", metadata: ["error": "\(error)"])
        }
    }
}
