import BelayCore
import Foundation
import Logging
import ServiceLifecycle

/// Keeps the public snapshot current: rebuilds it after every committed write and on a timer (so
/// maintenance schedules and the day bars move on), one rebuild at a time.
public actor StatusPagePublisher: Service {
    let store: any BelayStore
    let clock: any WallClock
    let builder: StatusPageBuilder
    let configuration: ServerConfiguration
    public nonisolated let box: SnapshotBox
    let logger: Logger

    init(store: any BelayStore, clock: any WallClock, builder: StatusPageBuilder, configuration: ServerConfiguration, box: SnapshotBox, logger: Logger) {
        self.store = store
        self.clock = clock
        self.builder = builder
        self.configuration = configuration
        self.box = box
        self.logger = logger
    }

    /// Reads the public data and replaces the snapshot. Safe to call at any time; calls are serialised.
    public func rebuild() async throws {
        let version = store.changes.version
        let now = clock.now
        let since = now.addingTimeInterval(-Double(configuration.historyDays) * 86400)
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
        let snapshot = try builder.build(
            PublicData(components: components, incidents: incidents, maintenances: maintenances, now: now, dataVersion: version))
        box.replace(with: snapshot)
        logger.debug(
            "status page rebuilt",
            metadata: ["pages": "\(snapshot.pages.count)", "version": "\(version)", "elapsed": "\(ContinuousClock.now - started)"])
    }

    public func run() async throws {
        // Subscribe before the first build so a write landing during it still triggers a rebuild.
        let changes = store.changes.stream()
        try await rebuild()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in changes.cancelOnGracefulShutdown() {
                    await self.rebuildLogged()
                }
            }
            group.addTask {
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await Task.sleep(for: self.configuration.refreshInterval)
                    await self.rebuildLogged()
                }
            }
            try await gracefulShutdown()
            group.cancelAll()
        }
    }

    func rebuildLogged() async {
        do {
            try await rebuild()
        } catch {
            logger.error("status page rebuild failed; serving the previous snapshot", metadata: ["error": "\(error)"])
        }
    }
}
