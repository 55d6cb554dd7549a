import Foundation

/// Storage for the change log, the infrastructure nodes of the dependency map and change freezes.
public protocol ChangeStore: Sendable {
    func recordChange(_ change: Change) async throws -> Change
    func updateChange(id: Int64, _ update: @escaping @Sendable (inout Change) throws -> Void) async throws -> Change
    func change(id: Int64) async throws -> Change?
    /// Changes that started in [from, to], newest first.
    func changes(from: Date, to: Date, limit: Int) async throws -> [Change]

    func mapNodes() async throws -> [MapNode]
    /// Creates or replaces a node, checking its edges (known slugs, no cycles, no clash with a component).
    func saveNode(_ node: MapNode) async throws -> MapNode
    func deleteNode(slug: String) async throws

    func freezes() async throws -> [ChangeFreeze]
    func createFreeze(_ freeze: ChangeFreeze) async throws -> ChangeFreeze
    func endFreeze(id: Int64, at: Date) async throws -> ChangeFreeze
}

extension BelayStore {
    /// The whole map: components and nodes.
    public func dependencyMap() async throws -> DependencyMap {
        DependencyMap(components: try await components(), nodes: try await mapNodes())
    }

    /// Ranked suspect changes for an incident, from the changes in its lookback window.
    public func suspects(incidentID: Int64, now: Date, settings: SuspectRanking.Settings = .init()) async throws -> SuspectReport {
        guard let incident = try await incident(id: incidentID) else { throw DomainError.notFound(what: "incident", id: String(incidentID)) }
        let changeLimit = 10_000
        let signalLimit = 1000
        let changes = try await changes(from: incident.impactStart.addingTimeInterval(-settings.lookback), to: now, limit: changeLimit)
        let firing = try await signals(SignalQuery(status: .firing, limit: signalLimit))
        let acknowledged = try await signals(SignalQuery(status: .acknowledged, limit: signalLimit))
        var report = SuspectRanking.rank(
            incident: incident, changes: changes, nodes: try await mapNodes(), map: try await dependencyMap(),
            signalComponents: Set((firing + acknowledged).flatMap(\.components)), now: now, settings: settings)
        report.changesConsidered = changes.count
        report.truncated = changes.count >= changeLimit || firing.count >= signalLimit || acknowledged.count >= signalLimit
        return report
    }

    /// Why a change to `target` should wait, or nil when nothing stands in the way: `target` or anything
    /// downstream of it is in an open incident or an active maintenance window, or a freeze is on.
    public func changeGuard(target: String, now: Date) async throws -> [String] {
        let map = try await dependencyMap()
        guard map.entries[target] != nil else { throw DomainError.notFound(what: "component or node", id: target) }
        let downstream = map.downstream(of: target)
        var reasons: [String] = []
        for freeze in try await freezes() where freeze.isActive(at: now) {
            reasons.append("a change freeze is on: \(freeze.reason)")
        }
        for incident in try await incidents(IncidentQuery(openOnly: true)) {
            let hit = incident.impacts.map(\.slug).filter { downstream[$0] != nil }
            if !hit.isEmpty {
                let how = hit.map { slug -> String in
                    guard slug != target else { return slug }
                    let via = (downstream[slug]?.path ?? []).dropFirst().dropLast()
                    return via.isEmpty ? "\(slug) (directly downstream)" : "\(slug) (downstream via \(via.joined(separator: ", ")))"
                }
                reasons.append("incident \(incident.id) \"\(incident.title)\" is open on \(how.joined(separator: ", "))")
            }
        }
        for window in try await maintenances(MaintenanceQuery(endingAfter: now)) where window.effectiveStatus(at: now) == .inProgress {
            let hit = window.components.filter { downstream[$0] != nil }
            if !hit.isEmpty { reasons.append("maintenance \"\(window.title)\" is in progress on \(hit.joined(separator: ", "))") }
        }
        return reasons
    }
}
