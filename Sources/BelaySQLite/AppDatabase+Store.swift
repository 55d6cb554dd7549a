import BelayCore
import Foundation
import GRDB

extension AppDatabase: BelayStore {
    // MARK: Severity definitions

    public func severityDefinitions() async throws -> [SeverityDefinition] {
        try await read { db in
            try SeverityRecord.fetchAll(db).map { try $0.domain() }.sorted { $0.level < $1.level }
        }
    }

    public func saveSeverityDefinition(_ definition: SeverityDefinition) async throws {
        try definition.validate()
        try await write { db in
            try SeverityRecord(definition).save(db)
            return Written([.severityDefinitionSaved(level: definition.level)])
        }
    }

    // MARK: Components

    public func components() async throws -> [Component] {
        try await read { db in try Self.fetchComponents(db) }
    }

    public func component(slug: String) async throws -> Component? {
        try await read { db in try Self.fetchComponents(db).first { $0.slug == slug } }
    }

    static func fetchComponents(_ db: Database) throws -> [Component] {
        var edges: [String: [String]] = [:]
        for edge in try DependencyRecord.order(Column("dependsOnSlug")).fetchAll(db) {
            edges[edge.componentSlug, default: []].append(edge.dependsOnSlug)
        }
        for row in try Row.fetchAll(db, sql: "SELECT componentSlug, nodeSlug FROM component_node_dependency ORDER BY nodeSlug") {
            edges[row["componentSlug"], default: []].append(row["nodeSlug"])
        }
        return try ComponentRecord.order(Column("position"), Column("slug")).fetchAll(db).map {
            $0.domain(dependsOn: edges[$0.slug] ?? [])
        }
    }

    /// Every slug on the map (components and infrastructure nodes) with what it depends on.
    static func dependencyMap(_ db: Database) throws -> [String: [String]] {
        var map: [String: [String]] = [:]
        for slug in try String.fetchAll(db, sql: "SELECT slug FROM component") { map[slug] = [] }
        for edge in try DependencyRecord.fetchAll(db) { map[edge.componentSlug, default: []].append(edge.dependsOnSlug) }
        for row in try Row.fetchAll(db, sql: "SELECT componentSlug, nodeSlug FROM component_node_dependency") {
            map[row["componentSlug"], default: []].append(row["nodeSlug"])
        }
        for node in try MapNodeRecord.fetchAll(db) { map[node.slug] = node.dependsOn }
        return map
    }

    static func nodeSlugs(_ db: Database) throws -> Set<String> { Set(try String.fetchAll(db, sql: "SELECT slug FROM map_node")) }

    /// Saves a component's edges: to components in one table, to infrastructure nodes in another.
    static func saveEdges(of component: Component, _ db: Database) throws {
        let nodes = try nodeSlugs(db)
        try DependencyRecord.filter(Column("componentSlug") == component.slug).deleteAll(db)
        try db.execute(sql: "DELETE FROM component_node_dependency WHERE componentSlug = ?", arguments: [component.slug])
        for dependency in component.dependsOn {
            if nodes.contains(dependency) {
                try db.execute(sql: "INSERT INTO component_node_dependency (componentSlug, nodeSlug) VALUES (?, ?)", arguments: [component.slug, dependency])
            } else {
                try DependencyRecord(componentSlug: component.slug, dependsOnSlug: dependency).insert(db)
            }
        }
    }

    public func createComponent(_ component: Component) async throws -> Component {
        try await write { db in
            try DependencyMap.checkComponent(component, isNew: true, map: try Self.dependencyMap(db))
            try ComponentRecord(component).insert(db)
            try Self.saveEdges(of: component, db)
            return Written(component, [.componentCreated(slug: component.slug)])
        }
    }

    public func updateComponent(slug: String, _ change: @escaping @Sendable (inout Component) throws -> Void) async throws -> Component {
        try await write { db in
            guard var component = try Self.fetchComponents(db).first(where: { $0.slug == slug }) else {
                throw DomainError.notFound(what: "component", id: slug)
            }
            let before = component
            try change(&component)
            try component.checkEdit(of: before)
            try DependencyMap.checkComponent(component, isNew: false, map: try Self.dependencyMap(db))
            try ComponentRecord(component).update(db)
            try Self.saveEdges(of: component, db)
            return Written(component, [.componentUpdated(slug: slug)])
        }
    }

    public func deleteComponent(slug: String) async throws {
        try await write { db in
            guard try ComponentRecord.exists(db, key: slug) else { throw DomainError.notFound(what: "component", id: slug) }
            let dependents = try String.fetchAll(db, sql: "SELECT componentSlug FROM component_dependency WHERE dependsOnSlug = ?", arguments: [slug])
            let incidents = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM incident_component WHERE componentSlug = ?", arguments: [slug]) ?? 0
            let windows = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM maintenance_component WHERE componentSlug = ?", arguments: [slug]) ?? 0
            try DependencyMap.checkComponentRemoval(of: slug, dependents: dependents, incidents: incidents, maintenances: windows)
            _ = try ComponentRecord.deleteOne(db, key: slug)
            return Written([.componentDeleted(slug: slug)])
        }
    }

    // MARK: Incidents

    public func incidents(_ query: IncidentQuery) async throws -> [Incident] {
        try await read { db in
            var request = IncidentRecord.all()
            if query.openOnly { request = request.filter(Column("status") != IncidentStatus.resolved.rawValue) }
            if query.publicOnly { request = request.filter(Column("isPublic") == true) }
            if let since = query.activeSince {
                request = request.filter(Column("status") != IncidentStatus.resolved.rawValue || Column("resolvedAt") >= since.timeIntervalSince1970)
            }
            request = request.order(Column("createdAt").desc, Column("id").desc)
            if let limit = query.limit { request = request.limit(limit) }
            return try Self.hydrate(try request.fetchAll(db), db)
        }
    }

    public func incident(id: Int64) async throws -> Incident? {
        try await read { db in try Self.fetchIncident(id, db) }
    }

    static func fetchIncident(_ id: Int64, _ db: Database) throws -> Incident? {
        guard let record = try IncidentRecord.fetchOne(db, key: id) else { return nil }
        return try hydrate([record], db).first
    }

    /// Loads impacts and updates for many incidents in two queries rather than two per incident.
    static func hydrate(_ records: [IncidentRecord], _ db: Database) throws -> [Incident] {
        guard !records.isEmpty else { return [] }
        let ids = records.compactMap(\.id)
        var impacts: [Int64: [ComponentImpact]] = [:]
        for row in try IncidentComponentRecord.filter(ids.contains(Column("incidentId"))).order(Column("position")).fetchAll(db) {
            impacts[row.incidentId, default: []].append(ComponentImpact(slug: row.componentSlug, impact: try decode(Impact.self, row.impact)))
        }
        var updates: [Int64: [StatusUpdate]] = [:]
        for row in try IncidentUpdateRecord.filter(ids.contains(Column("incidentId"))).order(Column("displayAt"), Column("id")).fetchAll(db) {
            updates[row.incidentId, default: []].append(try row.domain())
        }
        return try records.map { try $0.domain(impacts: impacts[$0.id!] ?? [], updates: updates[$0.id!] ?? []) }
    }

    static func openIncidents(_ db: Database) throws -> [Incident] {
        try hydrate(try IncidentRecord.filter(Column("status") != IncidentStatus.resolved.rawValue).fetchAll(db), db)
    }

    /// The component status changes a write to `changed` caused, among `slugs`.
    static func statusEvents(before: [Incident], changed: Incident, slugs: [String], now: Date, _ db: Database) throws -> [DomainEvent] {
        guard !slugs.isEmpty else { return [] }
        let after = before.filter { $0.id != changed.id } + (changed.isOpen ? [changed] : [])
        return ServiceStatus.statusEvents(slugs: Set(slugs), before: before, after: after, maintenances: try storedWindows(now: now, db), now: now)
    }

    /// The component status changes a maintenance write caused: the window compared as stored before and
    /// after, the other windows and open incidents as they stand.
    static func maintenanceStatusEvents(before: MaintenanceWindow?, after: MaintenanceWindow, now: Date, _ db: Database) throws -> [DomainEvent] {
        let slugs = Set((before?.components ?? []) + after.components)
        guard !slugs.isEmpty else { return [] }
        let others = try storedWindows(now: now, db).filter { $0.id != after.id }
        let incidents = try openIncidents(db)
        return ServiceStatus.statusEvents(
            slugs: slugs, incidents: (incidents, incidents),
            maintenances: (others + (before.map { [$0.asStored] } ?? []), others + [after.asStored]), now: now)
    }

    /// The windows not yet over, as their stored status says. Component status in the log follows the stored
    /// status, which `TimedJobs` moves on schedule, so every path judges maintenance by the same clock.
    static func storedWindows(now: Date, _ db: Database) throws -> [MaintenanceWindow] {
        try hydrate(try MaintenanceRecord.filter(Column("scheduledEnd") >= now.timeIntervalSince1970).fetchAll(db), db).map(\.asStored)
    }

    static func knownComponents(_ db: Database) throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT slug FROM component"))
    }

    /// Public components whose automatic incidents are public.
    static func publicAutomaticComponents(_ db: Database) throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT slug FROM component WHERE isPublic AND automaticIncidentsPublic"))
    }

    public func declareIncident(_ draft: IncidentDraft, author: String, now: Date) async throws -> (Incident, [TimelineEntry]) {
        try await write { db in
            let before = try Self.openIncidents(db)
            var (incident, entries) = try Incident.declare(draft, author: author, knownComponents: try Self.knownComponents(db), now: now)
            var record = IncidentRecord(incident)
            try record.insert(db)
            incident.id = record.id!
            entries = try Self.saveChildren(of: &incident, entries: entries, db)
            let events = DomainEvent.recording(entries, incidentID: incident.id)
                + (try Self.statusEvents(before: before, changed: incident, slugs: incident.impacts.map(\.slug), now: now, db))
            return Written((incident, entries), events)
        }
    }

    public func updateIncident(
        id: Int64, _ change: @escaping @Sendable (inout Incident, Set<String>) throws -> [TimelineEntry]
    ) async throws -> (Incident, [TimelineEntry]) {
        try await write { db in
            guard var incident = try Self.fetchIncident(id, db) else { throw DomainError.notFound(what: "incident", id: String(id)) }
            let old = incident
            let entries = try change(&incident, try Self.knownComponents(db))
            incident.id = id
            // Only a change of impact or of open/closed can change a component's status; the open incidents are
            // read (before this one is saved) only then.
            var statusEvents: [DomainEvent] = []
            if old.impacts != incident.impacts || old.isOpen != incident.isOpen {
                let slugs = old.impacts.map(\.slug) + incident.impacts.map(\.slug)
                statusEvents = try Self.statusEvents(before: try Self.openIncidents(db), changed: incident, slugs: slugs, now: incident.updatedAt, db)
            }
            try IncidentRecord(incident).update(db)
            let saved = try Self.saveChildren(of: &incident, entries: entries, db)
            return Written((incident, saved), DomainEvent.recording(saved, incidentID: id) + statusEvents)
        }
    }

    /// Rewrites the impact rows, inserts new updates (id 0) and the timeline entries; returns the
    /// entries with their ids.
    static func saveChildren(of incident: inout Incident, entries: [TimelineEntry], _ db: Database) throws -> [TimelineEntry] {
        let id = incident.id
        try IncidentComponentRecord.filter(Column("incidentId") == id).deleteAll(db)
        for (position, impact) in incident.impacts.enumerated() {
            try IncidentComponentRecord(incidentId: id, componentSlug: impact.slug, impact: impact.impact.rawValue, position: position).insert(db)
        }
        for index in incident.updates.indices where incident.updates[index].id == 0 {
            var record = IncidentUpdateRecord(incident.updates[index], incidentId: id)
            try record.insert(db)
            incident.updates[index].id = record.id!
        }
        // The entries come back with their ids as they are, not read back: decoding each fact again would cost
        // ingestion as much as storing it.
        return try entries.map { entry in
            var record = try TimelineEntryRecord(entry, incidentId: id)
            try record.insert(db)
            var saved = entry
            saved.id = record.id ?? 0
            saved.incidentID = id
            return saved
        }
    }

    public func timeline(incidentID: Int64) async throws -> [TimelineEntry] {
        try await read { db in
            guard try IncidentRecord.exists(db, key: incidentID) else { throw DomainError.notFound(what: "incident", id: String(incidentID)) }
            return try TimelineEntryRecord.filter(Column("incidentId") == incidentID)
                .order(Column("occurredAt"), Column("id")).fetchAll(db).map { try $0.domain() }
        }
    }

    // MARK: Maintenance

    public func maintenances(_ query: MaintenanceQuery) async throws -> [MaintenanceWindow] {
        try await read { db in
            var request = MaintenanceRecord.all()
            if query.publicOnly { request = request.filter(Column("isPublic") == true) }
            if let after = query.endingAfter { request = request.filter(Column("scheduledEnd") >= after.timeIntervalSince1970) }
            return try Self.hydrate(try request.order(Column("scheduledStart").desc, Column("id").desc).fetchAll(db), db)
        }
    }

    public func maintenance(id: Int64) async throws -> MaintenanceWindow? {
        try await read { db in try Self.fetchMaintenance(id, db) }
    }

    static func fetchMaintenance(_ id: Int64, _ db: Database) throws -> MaintenanceWindow? {
        guard let record = try MaintenanceRecord.fetchOne(db, key: id) else { return nil }
        return try hydrate([record], db).first
    }

    static func hydrate(_ records: [MaintenanceRecord], _ db: Database) throws -> [MaintenanceWindow] {
        guard !records.isEmpty else { return [] }
        let ids = records.compactMap(\.id)
        var components: [Int64: [String]] = [:]
        for row in try MaintenanceComponentRecord.filter(ids.contains(Column("maintenanceId"))).order(Column("position")).fetchAll(db) {
            components[row.maintenanceId, default: []].append(row.componentSlug)
        }
        var updates: [Int64: [MaintenanceUpdate]] = [:]
        for row in try MaintenanceUpdateRecord.filter(ids.contains(Column("maintenanceId"))).order(Column("createdAt"), Column("id")).fetchAll(db) {
            updates[row.maintenanceId, default: []].append(try row.domain())
        }
        return try records.map { try $0.domain(components: components[$0.id!] ?? [], updates: updates[$0.id!] ?? []) }
    }

    public func scheduleMaintenance(_ draft: MaintenanceDraft, author: String, now: Date) async throws -> MaintenanceWindow {
        try await write { db in
            var window = try MaintenanceWindow.schedule(draft, knownComponents: try Self.knownComponents(db), author: author, now: now)
            var record = MaintenanceRecord(window)
            try record.insert(db)
            window.id = record.id!
            try Self.saveChildren(of: &window, db)
            let scheduled = DomainEvent.maintenanceScheduled(
                id: window.id, startsAt: window.scheduledStart, endsAt: window.scheduledEnd, components: window.components)
            return Written(window, [scheduled] + (try Self.maintenanceStatusEvents(before: nil, after: window, now: now, db)))
        }
    }

    public func updateMaintenance(id: Int64, _ change: @escaping @Sendable (inout MaintenanceWindow) throws -> Void) async throws -> MaintenanceWindow {
        try await write { db in
            guard var window = try Self.fetchMaintenance(id, db) else { throw DomainError.notFound(what: "maintenance", id: String(id)) }
            let before = window
            try change(&window)
            window.id = id
            try MaintenanceRecord(window).update(db)
            try Self.saveChildren(of: &window, db)
            let events = MaintenanceWindow.events(from: before, to: window)
            let statuses =
                before.status == window.status ? [] : try Self.maintenanceStatusEvents(before: before, after: window, now: window.updatedAt, db)
            return Written(window, events + statuses)
        }
    }

    static func saveChildren(of window: inout MaintenanceWindow, _ db: Database) throws {
        try MaintenanceComponentRecord.filter(Column("maintenanceId") == window.id).deleteAll(db)
        for (position, slug) in window.components.enumerated() {
            try MaintenanceComponentRecord(maintenanceId: window.id, componentSlug: slug, position: position).insert(db)
        }
        for index in window.updates.indices where window.updates[index].id == 0 {
            var record = MaintenanceUpdateRecord(window.updates[index], maintenanceId: window.id)
            try record.insert(db)
            window.updates[index].id = record.id!
        }
    }

    // MARK: Tokens

    public func createToken(_ token: APIToken) async throws -> APIToken {
        try token.validate()
        return try await write { db in
            var record = TokenRecord(token)
            try record.insert(db)
            let stored = try record.domain()
            return Written(stored, [.tokenCreated(id: stored.id, role: stored.role)])
        }
    }

    public func token(hash: String) async throws -> APIToken? {
        try await read { db in try TokenRecord.filter(Column("tokenHash") == hash).fetchOne(db)?.domain() }
    }

    public func tokens() async throws -> [APIToken] {
        try await read { db in try TokenRecord.order(Column("id")).fetchAll(db).map { try $0.domain() } }
    }

    public func revokeToken(id: Int64, now: Date) async throws -> APIToken {
        try await write { db in
            guard var record = try TokenRecord.fetchOne(db, key: id) else { throw DomainError.notFound(what: "token", id: String(id)) }
            guard record.revokedAt == nil else { return Written(try record.domain(), []) }
            let admins = try TokenRecord.filter(Column("role") == AccessRole.admin.rawValue && Column("revokedAt") == nil).fetchCount(db)
            try AdminRule.check(revoking: try record.domain(), activeAdminTokens: admins)
            record.revokedAt = now
            try record.update(db)
            return Written(try record.domain(), [.tokenRevoked(id: id)])
        }
    }

    public func hasActiveToken(role: AccessRole) async throws -> Bool {
        try await read { db in
            try TokenRecord.filter(Column("role") == role.rawValue && Column("revokedAt") == nil).fetchCount(db) > 0
        }
    }
}
