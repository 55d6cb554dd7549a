import BelayCore
import Foundation
import HeapModule
import Logging
import ServiceLifecycle
import Synchronization

/// What the scheduler reports about itself (`GET /api/v1/monitoring/stats`).
public struct SchedulerStats: Codable, Sendable, Equatable {
    public var monitors: Int
    public var inFlight: Int
    public var checksRun: Int
    /// How late checks started against their schedule, over the last minute.
    public var latenessP50Ms: Double
    public var latenessP99Ms: Double
    public var latenessMaxMs: Double
    public var samples: Int
    public var pendingResults: Int
}

/// Runs every monitor at its interval: a random first offset spreads them out, then each runs at a fixed
/// rate. At most `concurrency` checks run at once, each bounded by its timeout inside its checker.
/// Results are written in batches (at once when a monitor changes state, so incidents open promptly).
public final class MonitorScheduler: Service, Sendable {
    public struct Settings: Sendable {
        public var concurrency: Int
        public var flushInterval: Duration
        public var resultRetention: TimeInterval
        public var policy: SignalPolicy

        public init(concurrency: Int = 256, flushInterval: Duration = .seconds(1), resultRetention: TimeInterval = 7 * 86400, policy: SignalPolicy = SignalPolicy()) {
            self.concurrency = concurrency
            self.flushInterval = flushInterval
            self.resultRetention = resultRetention
            self.policy = policy
        }
    }

    private struct Entry {
        var monitor: Monitor
        var due: ContinuousClock.Instant
        var running = false
        /// Bumped when the monitor's configuration changes, so a stale heap item is skipped.
        var generation: Int
        /// Whether this replica checked it last; one that gains it takes the stored state first.
        var owned = true
    }

    private struct HeapItem: Comparable {
        var due: ContinuousClock.Instant
        var id: Int64
        var generation: Int
        static func < (a: HeapItem, b: HeapItem) -> Bool { a.due < b.due }
    }

    private struct State {
        var entries: [Int64: Entry] = [:]
        var heap = Heap<HeapItem>()
        var inFlight = 0
        var checksRun = 0
        var pending: [MonitorCheck] = []
        var urgent = false
        var needsReload = true
        var lateness: [(at: ContinuousClock.Instant, ms: Double)] = []
        var nextGeneration = 0
    }

    private let store: any DetectStore
    private let checkers: any Checker
    private let clock: any WallClock
    private let settings: Settings
    private let logger: Logger
    private let state = Mutex(State())
    private let monotonic = ContinuousClock()
    private let owns: @Sendable (Int64) -> Bool

    /// `owns` says whether this replica checks a monitor (every replica knows every monitor, and each checks
    /// its share); alone, a replica owns them all. `MonitorOwnership.housekeeping` is the pruning of old results.
    public init(
        store: any DetectStore, checkers: any Checker, clock: any WallClock, settings: Settings, logger: Logger,
        owns: @escaping @Sendable (Int64) -> Bool = { _ in true }
    ) {
        self.store = store
        self.checkers = checkers
        self.clock = clock
        self.settings = settings
        self.logger = logger
        self.owns = owns
    }

    /// Call after monitors are created, changed or deleted; the scheduler reloads within a moment.
    public func monitorsChanged() {
        state.withLock { $0.needsReload = true }
    }

    /// A heartbeat arrived: the in-memory monitor learns it, and a down monitor is checked at once.
    public func heartbeat(monitorID: Int64, at date: Date) {
        state.withLock { state in
            guard var entry = state.entries[monitorID] else { return }
            entry.monitor.state.lastPingAt = date
            // A ping settles a monitor that is not up (a new one is pending) at once rather than at its next
            // check, which for a daily job is a day away.
            if entry.monitor.state.status != .up && !entry.running {
                entry.due = monotonic.now
                state.heap.insert(HeapItem(due: entry.due, id: monitorID, generation: entry.generation))
            }
            state.entries[monitorID] = entry
        }
    }

    public func stats() -> SchedulerStats {
        let now = monotonic.now
        return state.withLock { state in
            state.lateness.removeAll { now - $0.at > .seconds(60) }
            let sorted = state.lateness.map(\.ms).sorted()
            func percentile(_ p: Double) -> Double {
                guard !sorted.isEmpty else { return 0 }
                let rank = Int((Double(sorted.count) * p).rounded(.up)) - 1
                return sorted[min(max(rank, 0), sorted.count - 1)]
            }
            return SchedulerStats(
                monitors: state.entries.count, inFlight: state.inFlight, checksRun: state.checksRun, latenessP50Ms: percentile(0.5),
                latenessP99Ms: percentile(0.99), latenessMaxMs: sorted.last ?? 0, samples: sorted.count, pendingResults: state.pending.count)
        }
    }

    public func run() async throws {
        // Every check is a child of this group, so none outlives the scheduler. Graceful shutdown cancels the
        // loops and the checks still running (each also bounded by its own timeout); every result already in
        // hand is written before returning.
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.flushLoop() }
                while !Task.isCancelled {
                    if self.state.withLock({ $0.needsReload }) { await self.reload() }
                    let (due, wait) = self.takeDue()
                    for (monitor, lateMs) in due {
                        group.addTask { await self.runCheck(monitor, lateMs: lateMs) }
                    }
                    try? await Task.sleep(for: min(wait, .milliseconds(250)))
                }
                group.cancelAll()
            }
        }
        await flush()
    }

    /// Pops every due monitor that may start now; returns them and how long until the next is due.
    private func takeDue() -> ([(Monitor, Double)], Duration) {
        let now = monotonic.now
        return state.withLock { state in
            var started: [(Monitor, Double)] = []
            while let top = state.heap.min, top.due <= now, state.inFlight < settings.concurrency {
                _ = state.heap.popMin()
                guard var entry = state.entries[top.id], entry.generation == top.generation, entry.due == top.due, !entry.running else { continue }
                guard owns(top.id) else {
                    // Another replica's: keep it in step, so it is checked within an interval if it becomes ours.
                    entry.owned = false
                    entry.due = top.due + .seconds(max(1, entry.monitor.intervalSeconds))
                    state.entries[top.id] = entry
                    state.heap.insert(HeapItem(due: entry.due, id: top.id, generation: entry.generation))
                    continue
                }
                guard entry.owned else {
                    // Newly ours: the last owner's results are in storage; load them before checking.
                    state.needsReload = true
                    entry.due = now + .milliseconds(300)
                    state.entries[top.id] = entry
                    state.heap.insert(HeapItem(due: entry.due, id: top.id, generation: entry.generation))
                    continue
                }
                entry.running = true
                state.entries[top.id] = entry
                state.inFlight += 1
                let late = now - top.due
                let lateMs = Double(late.components.seconds) * 1000 + Double(late.components.attoseconds) / 1e15
                started.append((entry.monitor, lateMs))
            }
            guard let next = state.heap.min else { return (started, .milliseconds(250)) }
            if state.inFlight >= settings.concurrency { return (started, .milliseconds(5)) }
            return (started, max(.zero, next.due - now))
        }
    }

    private func runCheck(_ monitor: Monitor, lateMs: Double) async {
        let startedAt = clock.now
        let report = await checkers.check(monitor, now: startedAt)
        let finished = monotonic.now
        state.withLock { state in
            state.inFlight -= 1
            state.checksRun += 1
            state.lateness.append((finished, lateMs))
            if state.lateness.count > 200_000 { state.lateness.removeFirst(state.lateness.count - 100_000) }
            guard var entry = state.entries[monitor.id] else { return }
            entry.running = false
            // A configuration change while the check ran keeps the new settings but still records the result.
            if report.isConfigurationProblem {
                // Not an outage: no result against uptime, no transition, so no incident; the monitor shows why.
                let known = entry.monitor.state.configurationProblem != nil
                entry.monitor.recordConfigurationProblem(report.message, at: startedAt)
                state.pending.append(MonitorCheck(monitorID: monitor.id, state: entry.monitor.state))
                if !known { state.urgent = true }
            } else {
                let transition = entry.monitor.record(report.outcome, message: report.message, latencyMs: report.latencyMs, at: startedAt)
                state.pending.append(
                    MonitorCheck(
                        result: CheckResult(
                            monitorID: monitor.id, checkedAt: startedAt, outcome: report.outcome, latencyMs: report.latencyMs, message: report.message),
                        state: entry.monitor.state, transition: transition))
                if transition != nil { state.urgent = true }
            }
            // Fixed rate: the next run is one interval after this one was due; a monitor that fell a whole
            // interval behind starts again from now rather than running back to back.
            var next = entry.due + .seconds(entry.monitor.intervalSeconds)
            let now = monotonic.now
            if next < now { next = now + .seconds(entry.monitor.intervalSeconds) }
            entry.due = next
            state.entries[monitor.id] = entry
            state.heap.insert(HeapItem(due: next, id: monitor.id, generation: entry.generation))
        }
    }

    /// A heartbeat pinged while not up: its next check should settle it now, not an interval later.
    static func pingAwaitsCheck(_ monitor: Monitor) -> Bool {
        monitor.kind == .heartbeat && monitor.state.lastPingAt != nil && monitor.state.status != .up && !monitor.isPaused
    }

    private func reload() async {
        state.withLock { $0.needsReload = false }
        let monitors: [Monitor]
        do {
            monitors = try await store.scheduledMonitors()
        } catch is CancellationError {
            // Shutting down (a port in use ends the server before it starts): nothing to report.
            return
        } catch {
            logger.error("could not load monitors", metadata: ["error": "\(error)"])
            state.withLock { $0.needsReload = true }
            return
        }
        let now = monotonic.now
        state.withLock { state in
            var seen = Set<Int64>()
            for monitor in monitors {
                seen.insert(monitor.id)
                let mine = owns(monitor.id)
                if var entry = state.entries[monitor.id], !entry.running, !entry.owned || !mine {
                    // Checked elsewhere until now (or from now on): the stored state is the one to go on from.
                    entry.monitor = monitor
                    entry.owned = mine
                    state.entries[monitor.id] = entry
                } else if var entry = state.entries[monitor.id] {
                    // Settings come from storage; the live state (which the scheduler itself writes) stays,
                    // except for heartbeats, which the API records.
                    guard entry.monitor.updatedAt != monitor.updatedAt || entry.monitor.state.lastPingAt != monitor.state.lastPingAt else { continue }
                    let live = entry.monitor.state
                    let intervalChanged = entry.monitor.intervalSeconds != monitor.intervalSeconds
                    entry.monitor = monitor
                    entry.monitor.state = live
                    entry.monitor.state.lastPingAt = [live.lastPingAt, monitor.state.lastPingAt].compactMap { $0 }.max()
                    if (intervalChanged || Self.pingAwaitsCheck(entry.monitor)) && !entry.running {
                        state.nextGeneration += 1
                        entry.generation = state.nextGeneration
                        entry.due = now + .milliseconds(Int64.random(in: 0..<Int64(min(monitor.intervalSeconds, 5) * 1000)))
                        state.heap.insert(HeapItem(due: entry.due, id: monitor.id, generation: entry.generation))
                    }
                    state.entries[monitor.id] = entry
                } else {
                    state.nextGeneration += 1
                    // A random first offset within the interval spreads the load; a ping that came before the
                    // scheduler knew the monitor is checked at once.
                    let offset = Self.pingAwaitsCheck(monitor) ? 0 : Int64.random(in: 0..<Int64(max(1, monitor.intervalSeconds) * 1000))
                    let entry = Entry(monitor: monitor, due: now + .milliseconds(offset), generation: state.nextGeneration, owned: mine)
                    state.entries[monitor.id] = entry
                    state.heap.insert(HeapItem(due: entry.due, id: monitor.id, generation: entry.generation))
                }
            }
            for id in state.entries.keys where !seen.contains(id) { state.entries.removeValue(forKey: id) }
        }
    }

    private func flushLoop() async {
        var lastPrune = ContinuousClock.Instant.now - .seconds(3600)
        var waited = Duration.zero
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(50))
            waited += .milliseconds(50)
            let urgent = state.withLock { $0.urgent }
            guard urgent || waited >= settings.flushInterval else { continue }
            waited = .zero
            await flush()
            if monotonic.now - lastPrune > .seconds(3600) && owns(MonitorOwnership.housekeeping) {
                lastPrune = monotonic.now
                let now = clock.now
                do {
                    let removed = try await store.pruneResults(
                        rawBefore: now.addingTimeInterval(-settings.resultRetention), minuteBefore: now.addingTimeInterval(-2 * 86400),
                        hourBefore: now.addingTimeInterval(-90 * 86400))
                    if removed > 0 { logger.info("pruned old monitor results", metadata: ["rows": "\(removed)"]) }
                } catch {
                    logger.error("could not prune monitor results", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    private func flush() async {
        let batch = state.withLock { state -> [MonitorCheck] in
            state.urgent = false
            defer { state.pending.removeAll(keepingCapacity: true) }
            return state.pending
        }
        guard !batch.isEmpty else { return }
        do {
            try await store.recordChecks(batch, policy: settings.policy, now: clock.now)
        } catch {
            logger.error("could not save monitor results; will retry", metadata: ["error": "\(error)", "results": "\(batch.count)"])
            state.withLock { state in
                if state.pending.count < 100_000 { state.pending.insert(contentsOf: batch, at: 0) }
            }
        }
    }
}

/// The full set of checkers is itself a checker that picks by kind.
extension Checkers: Checker {}
