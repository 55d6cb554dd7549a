import BelayCore
import Dispatch
import Foundation
import Logging
import ServiceLifecycle

/// Keeps the public snapshot current: rebuilds it after every committed write and on a timer (so
/// maintenance schedules and the day bars move on), one rebuild at a time.
public actor StatusPagePublisher: Service {
    let store: any ComponentStore & IncidentStore & MaintenanceStore & DetectStore & EventStore
    let clock: any WallClock
    let builder: StatusPageBuilder
    let configuration: ServerConfiguration
    public nonisolated let box: SnapshotBox
    /// Gets each new snapshot to copy to disk (`--status-mirror`); it returns at once.
    let mirror: StatusMirror?
    let metrics: BelayMetrics?
    let logger: Logger
    /// When the current snapshot was built, and the moments after that at which a schedule changes what
    /// it shows (maintenance starting or ending); the timer rebuilds only when one has passed.
    private var builtAt: Date = .distantPast
    private var boundaries: [Date] = []

    /// Rendering runs here, off the event loops that serve requests, so a rebuild of a large page never
    /// stalls a connection.
    private static let renderQueue = DispatchQueue(label: "belay.status-page.render", qos: .utility)
    /// Even with nothing scheduled, rebuild this often so uptime figures for open incidents keep moving.
    static let maximumAge: TimeInterval = 300

    init(store: any ComponentStore & IncidentStore & MaintenanceStore & DetectStore & EventStore, clock: any WallClock, builder: StatusPageBuilder, configuration: ServerConfiguration, box: SnapshotBox, mirror: StatusMirror? = nil, metrics: BelayMetrics? = nil, logger: Logger) {
        self.store = store
        self.clock = clock
        self.builder = builder
        self.configuration = configuration
        self.box = box
        self.mirror = mirror
        self.metrics = metrics
        self.logger = logger
    }

    /// Reads the public data and replaces the snapshot. Safe to call at any time; calls are serialised.
    public func rebuild() async throws {
        // The log's head names the data this snapshot shows (events committed later trigger another build).
        let began = ContinuousClock.now
        let version = UInt64(clamping: try await store.eventHead())
        let now = clock.now
        let since = now.addingTimeInterval(-Double(configuration.statusPage.historyDays) * 86400)
        let components = try await store.components().filter(\.isPublic)
        let visible = Set(components.map(\.slug))
        var incidents = try await store.incidents(IncidentQuery(publicOnly: true, activeSince: since))
        var maintenances = try await store.maintenances(MaintenanceQuery(publicOnly: true, endingAfter: since))
        // Internal components never appear publicly, not even as part of a public incident.
        for index in incidents.indices {
            incidents[index].impacts.removeAll { !visible.contains($0.slug) }
            for update in incidents[index].updates.indices {
                incidents[index].updates[update].affectedComponents.removeAll { !visible.contains($0.slug) }
            }
        }
        for index in maintenances.indices { maintenances[index].components.removeAll { !visible.contains($0) } }
        let started = ContinuousClock.now
        let measured = try await store.measuredDays(since: now.addingTimeInterval(-Double(configuration.statusPage.historyDays) * 86400))
        let data = PublicData(
            components: components, incidents: incidents, maintenances: maintenances, measured: measured, now: now, dataVersion: version)
        let builder = self.builder
        let snapshot = try await withCheckedThrowingContinuation { continuation in
            Self.renderQueue.async { continuation.resume(with: Result { try builder.build(data) }) }
        }
        box.replace(with: snapshot)
        metrics?.statusPageRebuilt(in: ContinuousClock.now - began)
        mirror?.offer(snapshot)
        builtAt = now
        boundaries = maintenances.flatMap { [$0.scheduledStart, $0.scheduledEnd] }.filter { $0 > now }
        logger.debug(
            "status page rebuilt",
            metadata: ["pages": "\(snapshot.pages.count)", "version": "\(version)", "elapsed": "\(ContinuousClock.now - started)"])
    }

    public func run() async throws {
        // Subscribe before the first build so a write landing during it still triggers a rebuild.
        let changes = store.feed.committed()
        try await rebuild()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in changes.cancelOnGracefulShutdown() {
                    await self.rebuildLogged()
                    // At most ten rebuilds a second: writes landing meanwhile coalesce into the next one, so a
                    // flood of alerts does not keep a core busy re-rendering pages.
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            group.addTask {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await Task.sleep(for: self.configuration.statusPage.refreshInterval)
                    if await self.isStale(at: self.clock.now) { await self.rebuildLogged() }
                }
            }
            try await gracefulShutdown()
            group.cancelAll()
        }
    }

    /// Whether time alone has changed what the page should show: a maintenance window started or ended,
    /// the UTC day turned (the history bars move), or the snapshot is older than `maximumAge`.
    func isStale(at now: Date) -> Bool {
        if boundaries.contains(where: { $0 <= now }) { return true }
        if Int(now.timeIntervalSince1970 / 86400) != Int(builtAt.timeIntervalSince1970 / 86400) { return true }
        return now.timeIntervalSince(builtAt) >= Self.maximumAge
    }

    func rebuildLogged() async {
        do {
            try await rebuild()
        } catch is CancellationError {
            // Shutting down: the last snapshot stands until the process exits.
        } catch {
            metrics?.statusPageRebuildFailed()
            logger.error("status page rebuild failed; serving the previous snapshot", metadata: ["error": "\(error)"])
        }
    }
}
