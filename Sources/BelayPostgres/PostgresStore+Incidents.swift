import BelayCore
import Foundation
import Logging
import PostgresNIO

extension PostgresStore: IncidentStore {
    public func incidents(_ query: IncidentQuery) async throws -> [Incident] {
        let logger = logger
        return try await consistentRead { connection in
            // Filters are bound values, never spliced text: a filter left out binds to NULL and drops its condition.
            let since = query.activeSince?.timeIntervalSince1970
            let limit = query.limit.map { Int64(max(0, $0)) }
            return try await Self.fetchIncidents(
                """
                SELECT \(unescaped: Self.incidentColumns) FROM incident
                WHERE (NOT \(query.openOnly) OR status <> \(IncidentStatus.resolved.rawValue))
                  AND (NOT \(query.publicOnly) OR isPublic)
                  AND (\(since)::float8 IS NULL OR status <> \(IncidentStatus.resolved.rawValue) OR resolvedAt >= \(since))
                ORDER BY createdAt DESC, id DESC
                LIMIT \(limit)
                """, connection, logger: logger)
        }
    }

    public func incident(id: Int64) async throws -> Incident? {
        let logger = logger
        return try await consistentRead { connection in try await Self.fetchIncident(id, connection, logger: logger) }
    }

    public func declareIncident(_ draft: IncidentDraft, author: String, now: Date) async throws -> (Incident, [TimelineEntry]) {
        let logger = logger
        return try await write { connection in
            let before = try await Self.openIncidents(connection, logger: logger)
            let known = try await Self.knownComponents(connection, logger: logger)
            var (incident, entries) = try Incident.declare(draft, author: author, knownComponents: known, now: now)
            entries = try await Self.saveIncident(&incident, entries: entries, connection, logger: logger)
            let events = DomainEvent.recording(entries, incidentID: incident.id)
                + (try await Self.statusEvents(
                    before: before, changed: incident, slugs: incident.impacts.map(\.slug), now: now, connection, logger: logger))
            return Written((incident, entries), events)
        }
    }

    public func updateIncident(
        id: Int64, _ change: @escaping @Sendable (inout Incident, Set<String>) throws -> [TimelineEntry]
    ) async throws -> (Incident, [TimelineEntry]) {
        let logger = logger
        return try await write { connection in
            guard var incident = try await Self.fetchIncident(id, connection, logger: logger) else {
                throw DomainError.notFound(what: "incident", id: String(id))
            }
            let old = incident
            let entries = try change(&incident, try await Self.knownComponents(connection, logger: logger))
            incident.id = id
            // Only a change of impact or of open/closed can change a component's status; the open incidents are
            // read (before this one is saved) only then.
            var statusEvents: [DomainEvent] = []
            if old.impacts != incident.impacts || old.isOpen != incident.isOpen {
                let slugs = old.impacts.map(\.slug) + incident.impacts.map(\.slug)
                statusEvents = try await Self.statusEvents(
                    before: try await Self.openIncidents(connection, logger: logger), changed: incident, slugs: slugs, now: incident.updatedAt,
                    connection, logger: logger)
            }
            let saved = try await Self.saveIncident(&incident, entries: entries, connection, logger: logger)
            return Written((incident, saved), DomainEvent.recording(saved, incidentID: id) + statusEvents)
        }
    }

    public func timeline(incidentID: Int64) async throws -> [TimelineEntry] {
        let logger = logger
        return try await consistentRead { connection in
            var exists = false
            for try await _ in try await connection.query("SELECT 1 FROM incident WHERE id = \(incidentID)", logger: logger) { exists = true }
            guard exists else { throw DomainError.notFound(what: "incident", id: String(incidentID)) }
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.timelineColumns) FROM timeline_entry WHERE incidentId = \(incidentID) ORDER BY occurredAt, id",
                logger: logger)
            var entries: [TimelineEntry] = []
            for try await row in rows { entries.append(try Self.timelineEntry(row)) }
            return entries
        }
    }
}
