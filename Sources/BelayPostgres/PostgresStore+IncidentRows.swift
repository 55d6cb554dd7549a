import BelayCore
import Foundation
import Logging
import PostgresNIO

/// Incidents and maintenance windows as rows: the PostgreSQL forms of the helpers every incident-writing path
/// shares in SQLite (AppDatabase+Store.swift), with the same names, so declaring, updating, ingesting and
/// auto-resolving load and save incidents the same way. Each runs on the connection of the caller's
/// transaction (or read).
extension PostgresStore {
    // MARK: Row mapping

    static let incidentColumns = """
        id, title, severity, status, isPublic, impactStartedAt, detectedAt, acknowledgedAt, mitigatedAt, resolvedAt, commander,
        communications, scribe, reopenCount, createdAt, updatedAt, autoResolve, holdOpen, signalsClearedAt
        """

    /// An incident from one row of `incidentColumns`, without its impacts and updates (`hydrate` adds them).
    static func incident(_ row: PostgresRow) throws -> Incident {
        let (
            id, title, severity, status, isPublic, impactStartedAt, detectedAt, acknowledgedAt, mitigatedAt, resolvedAt, commander,
            communications, scribe, reopenCount, createdAt, updatedAt, autoResolve, holdOpen, signalsClearedAt
        ) = try row.decode(
            (
                Int64, String, String, String, Bool, Double?, Double?, Double?, Double?, Double?, String?, String?, String?, Int, Double, Double,
                Bool, Bool, Double?
            ).self)
        return Incident(
            id: id, title: title, severity: try storedEnum(Severity.self, severity, column: "incident.severity"),
            status: try storedEnum(IncidentStatus.self, status, column: "incident.status"), isPublic: isPublic,
            milestones: Milestones(
                impactStartedAt: impactStartedAt.map(Date.init(timeIntervalSince1970:)), detectedAt: detectedAt.map(Date.init(timeIntervalSince1970:)),
                acknowledgedAt: acknowledgedAt.map(Date.init(timeIntervalSince1970:)), mitigatedAt: mitigatedAt.map(Date.init(timeIntervalSince1970:)),
                resolvedAt: resolvedAt.map(Date.init(timeIntervalSince1970:))),
            roles: Roles(commander: commander, communications: communications, scribe: scribe), reopenCount: reopenCount,
            createdAt: Date(timeIntervalSince1970: createdAt), updatedAt: Date(timeIntervalSince1970: updatedAt), autoResolve: autoResolve,
            holdOpen: holdOpen, signalsClearedAt: signalsClearedAt.map(Date.init(timeIntervalSince1970:)))
    }

    static let timelineColumns = "id, incidentId, kind, author, occurredAt, recordedAt, text, details, fact"

    static func timelineEntry(_ row: PostgresRow) throws -> TimelineEntry {
        let (id, incidentID, kind, author, occurredAt, recordedAt, text, details, fact) = try row.decode(
            (Int64, Int64, String, String, Double, Double, String, String, String?).self)
        // Entries stored before v6 have only the flat details; newer ones store the typed fact alone.
        let typed: TimelineFact =
            if let fact { try EventCoding.decoder.decode(TimelineFact.self, from: Data(fact.utf8)) } else {
                TimelineFact(
                    legacyKind: try storedEnum(TimelineKind.self, kind, column: "timeline_entry.kind"),
                    details: try EventCoding.decoder.decode([String: String].self, from: Data(details.utf8)))
            }
        return TimelineEntry(
            id: id, incidentID: incidentID, fact: typed, author: author, occurredAt: Date(timeIntervalSince1970: occurredAt),
            recordedAt: Date(timeIntervalSince1970: recordedAt), text: text)
    }

    /// A stored enum value this binary knows, or `StoredValueInvalid` naming the column.
    static func storedEnum<T: RawRepresentable>(_ type: T.Type, _ raw: String, column: String) throws -> T where T.RawValue == String {
        guard let value = T(rawValue: raw) else { throw StoredValueInvalid(column: column, value: raw) }
        return value
    }

    static func jsonText<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try EventCoding.encoder.encode(value), as: UTF8.self)
    }

    // MARK: Loading

    static func fetchIncident(_ id: Int64, _ connection: PostgresConnection, logger: Logger) async throws -> Incident? {
        try await fetchIncidents(
            "SELECT \(unescaped: incidentColumns) FROM incident WHERE id = \(id)", connection, logger: logger
        ).first
    }

    /// The incidents a `SELECT incidentColumns ...` query returns, in its order, with impacts and updates.
    static func fetchIncidents(_ query: PostgresQuery, _ connection: PostgresConnection, logger: Logger) async throws -> [Incident] {
        var incidents: [Incident] = []
        for try await row in try await connection.query(query, logger: logger) { incidents.append(try incident(row)) }
        return try await hydrate(incidents, connection, logger: logger)
    }

    /// Loads impacts and updates for many incidents in two queries rather than two per incident.
    static func hydrate(_ incidents: [Incident], _ connection: PostgresConnection, logger: Logger) async throws -> [Incident] {
        guard !incidents.isEmpty else { return [] }
        let ids = incidents.map(\.id)
        var impacts: [Int64: [ComponentImpact]] = [:]
        let impactRows = try await connection.query(
            "SELECT incidentId, componentSlug, impact FROM incident_component WHERE incidentId = ANY(\(ids)) ORDER BY position",
            logger: logger)
        for try await (incidentID, slug, impact) in impactRows.decode((Int64, String, String).self) {
            impacts[incidentID, default: []].append(
                ComponentImpact(slug: slug, impact: try storedEnum(Impact.self, impact, column: "incident_component.impact")))
        }
        var updates: [Int64: [StatusUpdate]] = [:]
        let updateRows = try await connection.query(
            """
            SELECT id, incidentId, status, body, author, createdAt, displayAt, affectedComponents FROM incident_update
            WHERE incidentId = ANY(\(ids)) ORDER BY displayAt, id
            """, logger: logger)
        for try await (id, incidentID, status, body, author, createdAt, displayAt, affected) in updateRows.decode(
            (Int64, Int64, String, String, String, Double, Double, String).self)
        {
            updates[incidentID, default: []].append(
                StatusUpdate(
                    id: id, status: try storedEnum(IncidentStatus.self, status, column: "incident_update.status"), body: body, author: author,
                    createdAt: Date(timeIntervalSince1970: createdAt), displayAt: Date(timeIntervalSince1970: displayAt),
                    affectedComponents: try EventCoding.decoder.decode([AffectedComponent].self, from: Data(affected.utf8))))
        }
        return incidents.map { incident in
            var incident = incident
            incident.impacts = impacts[incident.id] ?? []
            incident.updates = updates[incident.id] ?? []
            return incident
        }
    }

    /// The open incidents, oldest first (SQLite's row order).
    static func openIncidents(_ connection: PostgresConnection, logger: Logger) async throws -> [Incident] {
        try await fetchIncidents(
            "SELECT \(unescaped: incidentColumns) FROM incident WHERE status <> \(IncidentStatus.resolved.rawValue) ORDER BY id",
            connection, logger: logger)
    }

    static func knownComponents(_ connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        var slugs: Set<String> = []
        for try await slug in try await connection.query("SELECT slug FROM component", logger: logger).decode(String.self) { slugs.insert(slug) }
        return slugs
    }

    /// Public components whose automatic incidents are public.
    static func publicAutomaticComponents(_ connection: PostgresConnection, logger: Logger) async throws -> Set<String> {
        var slugs: Set<String> = []
        let rows = try await connection.query("SELECT slug FROM component WHERE isPublic AND automaticIncidentsPublic", logger: logger)
        for try await slug in rows.decode(String.self) { slugs.insert(slug) }
        return slugs
    }

    // MARK: Saving

    /// Inserts the incident (id 0, and learns its id) or updates it, then rewrites its impact rows, inserts
    /// its new updates (id 0) and `entries`; returns the entries with their ids, as SQLite's insert or
    /// update followed by `saveChildren`.
    static func saveIncident(
        _ incident: inout Incident, entries: [TimelineEntry], _ connection: PostgresConnection, logger: Logger
    ) async throws -> [TimelineEntry] {
        let milestones = incident.milestones
        let times = (
            milestones.impactStartedAt?.timeIntervalSince1970, milestones.detectedAt?.timeIntervalSince1970,
            milestones.acknowledgedAt?.timeIntervalSince1970, milestones.mitigatedAt?.timeIntervalSince1970,
            milestones.resolvedAt?.timeIntervalSince1970
        )
        if incident.id == 0 {
            let rows = try await connection.query(
                """
                INSERT INTO incident (title, severity, status, isPublic, impactStartedAt, detectedAt, acknowledgedAt, mitigatedAt, resolvedAt,
                  commander, communications, scribe, reopenCount, createdAt, updatedAt, autoResolve, holdOpen, signalsClearedAt)
                VALUES (\(incident.title), \(incident.severity.rawValue), \(incident.status.rawValue), \(incident.isPublic), \(times.0), \(times.1),
                  \(times.2), \(times.3), \(times.4), \(incident.roles.commander), \(incident.roles.communications), \(incident.roles.scribe),
                  \(incident.reopenCount), \(incident.createdAt.timeIntervalSince1970), \(incident.updatedAt.timeIntervalSince1970),
                  \(incident.autoResolve), \(incident.holdOpen), \(incident.signalsClearedAt?.timeIntervalSince1970))
                RETURNING id
                """, logger: logger)
            var id: Int64?
            for try await value in rows.decode(Int64.self) { id = value }
            guard let id else { throw DomainError.invalid(field: "incident", message: "was not stored") }
            incident.id = id
        } else {
            let rows = try await connection.query(
                """
                UPDATE incident SET title = \(incident.title), severity = \(incident.severity.rawValue), status = \(incident.status.rawValue),
                  isPublic = \(incident.isPublic), impactStartedAt = \(times.0), detectedAt = \(times.1), acknowledgedAt = \(times.2),
                  mitigatedAt = \(times.3), resolvedAt = \(times.4), commander = \(incident.roles.commander),
                  communications = \(incident.roles.communications), scribe = \(incident.roles.scribe), reopenCount = \(incident.reopenCount),
                  createdAt = \(incident.createdAt.timeIntervalSince1970), updatedAt = \(incident.updatedAt.timeIntervalSince1970),
                  autoResolve = \(incident.autoResolve), holdOpen = \(incident.holdOpen),
                  signalsClearedAt = \(incident.signalsClearedAt?.timeIntervalSince1970)
                WHERE id = \(incident.id) RETURNING id
                """, logger: logger)
            var count = 0
            for try await _ in rows { count += 1 }
            // GRDB's update throws RecordNotFound for a missing row; so does this.
            guard count == 1 else { throw DomainError.notFound(what: "incident", id: String(incident.id)) }
        }
        return try await saveChildren(of: &incident, entries: entries, connection, logger: logger)
    }

    /// Rewrites the impact rows, inserts new updates (id 0) and the timeline entries; returns the entries with
    /// their ids.
    static func saveChildren(
        of incident: inout Incident, entries: [TimelineEntry], _ connection: PostgresConnection, logger: Logger
    ) async throws -> [TimelineEntry] {
        let id = incident.id
        try await connection.query("DELETE FROM incident_component WHERE incidentId = \(id)", logger: logger)
        if !incident.impacts.isEmpty {
            let slugs = incident.impacts.map(\.slug)
            let impacts = incident.impacts.map(\.impact.rawValue)
            let positions = Array(0..<Int64(incident.impacts.count))
            try await connection.query(
                """
                INSERT INTO incident_component (incidentId, componentSlug, impact, position)
                SELECT \(id), slug, impact, position FROM UNNEST(\(slugs)::text[], \(impacts)::text[], \(positions)::bigint[]) AS rows(slug, impact, position)
                """, logger: logger)
        }
        for index in incident.updates.indices where incident.updates[index].id == 0 {
            let update = incident.updates[index]
            let rows = try await connection.query(
                """
                INSERT INTO incident_update (incidentId, status, body, author, createdAt, displayAt, affectedComponents)
                VALUES (\(id), \(update.status.rawValue), \(update.body), \(update.author), \(update.createdAt.timeIntervalSince1970),
                  \(update.displayAt.timeIntervalSince1970), \(try jsonText(update.affectedComponents)))
                RETURNING id
                """, logger: logger)
            for try await value in rows.decode(Int64.self) { incident.updates[index].id = value }
        }
        return try await insertEntries(entries.map { entry in
            var entry = entry
            entry.incidentID = id
            return entry
        }, connection, logger: logger)
    }

    /// Inserts timeline entries (each under its own `incidentID`) in one statement; returns them with their ids.
    /// The entries come back as they are, not read back: decoding each fact again would cost ingestion as much
    /// as storing it.
    static func insertEntries(_ entries: [TimelineEntry], _ connection: PostgresConnection, logger: Logger) async throws -> [TimelineEntry] {
        guard !entries.isEmpty else { return [] }
        let incidentIDs = entries.map(\.incidentID)
        let kinds = entries.map(\.kind.rawValue)
        let authors = entries.map(\.author)
        let occurred = entries.map(\.occurredAt.timeIntervalSince1970)
        let recorded = entries.map(\.recordedAt.timeIntervalSince1970)
        let texts = entries.map(\.text)
        let facts = try entries.map { try jsonText($0.fact) }
        // Rows go in in ordinal order, so the identities they draw ascend with it.
        let rows = try await connection.query(
            """
            INSERT INTO timeline_entry (incidentId, kind, author, occurredAt, recordedAt, text, details, fact)
            SELECT incidentId, kind, author, occurredAt, recordedAt, text, '{}', fact
            FROM UNNEST(\(incidentIDs)::bigint[], \(kinds)::text[], \(authors)::text[], \(occurred)::float8[], \(recorded)::float8[],
              \(texts)::text[], \(facts)::text[]) WITH ORDINALITY AS rows(incidentId, kind, author, occurredAt, recordedAt, text, fact, ordinal)
            ORDER BY ordinal
            RETURNING id
            """, logger: logger)
        var ids: [Int64] = []
        for try await id in rows.decode(Int64.self) { ids.append(id) }
        guard ids.count == entries.count else { throw DomainError.invalid(field: "timeline", message: "was not stored") }
        ids.sort()
        return zip(entries, ids).map { entry, id in
            var saved = entry
            saved.id = id
            return saved
        }
    }

    // MARK: Component status

    /// The component status changes a write to `changed` caused, among `slugs`.
    static func statusEvents(
        before: [Incident], changed: Incident, slugs: [String], now: Date, _ connection: PostgresConnection, logger: Logger
    ) async throws -> [DomainEvent] {
        guard !slugs.isEmpty else { return [] }
        let after = before.filter { $0.id != changed.id } + (changed.isOpen ? [changed] : [])
        return ServiceStatus.statusEvents(
            slugs: Set(slugs), before: before, after: after, maintenances: try await storedWindows(now: now, connection, logger: logger), now: now)
    }

    /// The windows not yet over, as their stored status says. Component status in the log follows the stored
    /// status, which `TimedJobs` moves on schedule, so every path judges maintenance by the same clock.
    static func storedWindows(now: Date, _ connection: PostgresConnection, logger: Logger) async throws -> [MaintenanceWindow] {
        try await fetchMaintenances(
            "SELECT \(unescaped: maintenanceColumns) FROM maintenance WHERE scheduledEnd >= \(now.timeIntervalSince1970) ORDER BY id",
            connection, logger: logger
        ).map(\.asStored)
    }

    // MARK: Maintenance rows

    static let maintenanceColumns = "id, title, description, scheduledStart, scheduledEnd, status, autoTransitions, isPublic, createdAt, updatedAt"

    static func maintenance(_ row: PostgresRow) throws -> MaintenanceWindow {
        let (id, title, description, scheduledStart, scheduledEnd, status, autoTransitions, isPublic, createdAt, updatedAt) = try row.decode(
            (Int64, String, String, Double, Double, String, Bool, Bool, Double, Double).self)
        return MaintenanceWindow(
            id: id, title: title, description: description, components: [], scheduledStart: Date(timeIntervalSince1970: scheduledStart),
            scheduledEnd: Date(timeIntervalSince1970: scheduledEnd), status: try storedEnum(MaintenanceStatus.self, status, column: "maintenance.status"),
            autoTransitions: autoTransitions, isPublic: isPublic, createdAt: Date(timeIntervalSince1970: createdAt),
            updatedAt: Date(timeIntervalSince1970: updatedAt), updates: [])
    }

    static func fetchMaintenance(_ id: Int64, _ connection: PostgresConnection, logger: Logger) async throws -> MaintenanceWindow? {
        try await fetchMaintenances(
            "SELECT \(unescaped: maintenanceColumns) FROM maintenance WHERE id = \(id)", connection, logger: logger
        ).first
    }

    /// The windows a `SELECT maintenanceColumns ...` query returns, in its order, with components and updates.
    static func fetchMaintenances(_ query: PostgresQuery, _ connection: PostgresConnection, logger: Logger) async throws -> [MaintenanceWindow] {
        var windows: [MaintenanceWindow] = []
        for try await row in try await connection.query(query, logger: logger) { windows.append(try maintenance(row)) }
        return try await hydrate(windows, connection, logger: logger)
    }

    /// Loads components and updates for many windows in two queries.
    static func hydrate(_ windows: [MaintenanceWindow], _ connection: PostgresConnection, logger: Logger) async throws -> [MaintenanceWindow] {
        guard !windows.isEmpty else { return [] }
        let ids = windows.map(\.id)
        var components: [Int64: [String]] = [:]
        let componentRows = try await connection.query(
            "SELECT maintenanceId, componentSlug FROM maintenance_component WHERE maintenanceId = ANY(\(ids)) ORDER BY position", logger: logger)
        for try await (maintenanceID, slug) in componentRows.decode((Int64, String).self) { components[maintenanceID, default: []].append(slug) }
        var updates: [Int64: [MaintenanceUpdate]] = [:]
        let updateRows = try await connection.query(
            """
            SELECT id, maintenanceId, status, body, author, createdAt FROM maintenance_update
            WHERE maintenanceId = ANY(\(ids)) ORDER BY createdAt, id
            """, logger: logger)
        for try await (id, maintenanceID, status, body, author, createdAt) in updateRows.decode((Int64, Int64, String, String, String, Double).self) {
            updates[maintenanceID, default: []].append(
                MaintenanceUpdate(
                    id: id, status: try storedEnum(MaintenanceStatus.self, status, column: "maintenance_update.status"), body: body, author: author,
                    createdAt: Date(timeIntervalSince1970: createdAt)))
        }
        return windows.map { window in
            var window = window
            window.components = components[window.id] ?? []
            window.updates = updates[window.id] ?? []
            return window
        }
    }
}
