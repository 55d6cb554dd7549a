import BelayCore
import Foundation
import Logging
import PostgresNIO

extension PostgresStore: MaintenanceStore {
    public func maintenances(_ query: MaintenanceQuery) async throws -> [MaintenanceWindow] {
        let logger = logger
        return try await consistentRead { connection in
            // A filter left out binds to NULL (or false) and drops its condition.
            let after = query.endingAfter?.timeIntervalSince1970
            return try await Self.fetchMaintenances(
                """
                SELECT \(unescaped: Self.maintenanceColumns) FROM maintenance
                WHERE (NOT \(query.publicOnly) OR isPublic) AND (\(after)::float8 IS NULL OR scheduledEnd >= \(after))
                ORDER BY scheduledStart DESC, id DESC
                """, connection, logger: logger)
        }
    }

    public func maintenance(id: Int64) async throws -> MaintenanceWindow? {
        let logger = logger
        return try await consistentRead { connection in try await Self.fetchMaintenance(id, connection, logger: logger) }
    }

    public func scheduleMaintenance(_ draft: MaintenanceDraft, author: String, now: Date) async throws -> MaintenanceWindow {
        let logger = logger
        return try await write { connection in
            let known = try await Self.knownComponents(connection, logger: logger)
            var window = try MaintenanceWindow.schedule(draft, knownComponents: known, author: author, now: now)
            try await Self.saveMaintenance(&window, connection, logger: logger)
            let scheduled = DomainEvent.maintenanceScheduled(
                id: window.id, startsAt: window.scheduledStart, endsAt: window.scheduledEnd, components: window.components)
            return Written(window, [scheduled] + (try await Self.maintenanceStatusEvents(before: nil, after: window, now: now, connection, logger: logger)))
        }
    }

    public func updateMaintenance(id: Int64, _ change: @escaping @Sendable (inout MaintenanceWindow) throws -> Void) async throws -> MaintenanceWindow {
        let logger = logger
        return try await write { connection in
            guard var window = try await Self.fetchMaintenance(id, connection, logger: logger) else {
                throw DomainError.notFound(what: "maintenance", id: String(id))
            }
            let before = window
            try change(&window)
            window.id = id
            try await Self.saveMaintenance(&window, connection, logger: logger)
            let events = MaintenanceWindow.events(from: before, to: window)
            let statuses =
                before.status == window.status
                ? [] : try await Self.maintenanceStatusEvents(before: before, after: window, now: window.updatedAt, connection, logger: logger)
            return Written(window, events + statuses)
        }
    }

    /// Inserts the window (id 0, and learns its id) or updates it, then rewrites its component rows and
    /// inserts its new updates (id 0), as SQLite's insert or update followed by `saveChildren`.
    static func saveMaintenance(_ window: inout MaintenanceWindow, _ connection: PostgresConnection, logger: Logger) async throws {
        if window.id == 0 {
            let rows = try await connection.query(
                """
                INSERT INTO maintenance (title, description, scheduledStart, scheduledEnd, status, autoTransitions, isPublic, createdAt, updatedAt)
                VALUES (\(window.title), \(window.description), \(window.scheduledStart.timeIntervalSince1970), \(window.scheduledEnd.timeIntervalSince1970),
                  \(window.status.rawValue), \(window.autoTransitions), \(window.isPublic), \(window.createdAt.timeIntervalSince1970),
                  \(window.updatedAt.timeIntervalSince1970))
                RETURNING id
                """, logger: logger)
            var id: Int64?
            for try await value in rows.decode(Int64.self) { id = value }
            guard let id else { throw DomainError.invalid(field: "maintenance", message: "was not stored") }
            window.id = id
        } else {
            let rows = try await connection.query(
                """
                UPDATE maintenance SET title = \(window.title), description = \(window.description),
                  scheduledStart = \(window.scheduledStart.timeIntervalSince1970), scheduledEnd = \(window.scheduledEnd.timeIntervalSince1970),
                  status = \(window.status.rawValue), autoTransitions = \(window.autoTransitions), isPublic = \(window.isPublic),
                  createdAt = \(window.createdAt.timeIntervalSince1970), updatedAt = \(window.updatedAt.timeIntervalSince1970)
                WHERE id = \(window.id) RETURNING id
                """, logger: logger)
            var count = 0
            for try await _ in rows { count += 1 }
            guard count == 1 else { throw DomainError.notFound(what: "maintenance", id: String(window.id)) }
        }
        let id = window.id
        try await connection.query("DELETE FROM maintenance_component WHERE maintenanceId = \(id)", logger: logger)
        if !window.components.isEmpty {
            let positions = Array(0..<Int64(window.components.count))
            try await connection.query(
                """
                INSERT INTO maintenance_component (maintenanceId, componentSlug, position)
                SELECT \(id), slug, position FROM UNNEST(\(window.components)::text[], \(positions)::bigint[]) AS rows(slug, position)
                """, logger: logger)
        }
        for index in window.updates.indices where window.updates[index].id == 0 {
            let update = window.updates[index]
            let rows = try await connection.query(
                """
                INSERT INTO maintenance_update (maintenanceId, status, body, author, createdAt)
                VALUES (\(id), \(update.status.rawValue), \(update.body), \(update.author), \(update.createdAt.timeIntervalSince1970))
                RETURNING id
                """, logger: logger)
            for try await value in rows.decode(Int64.self) { window.updates[index].id = value }
        }
    }

    /// The component status changes a maintenance write caused: the window compared as stored before and
    /// after, the other windows and open incidents as they stand.
    static func maintenanceStatusEvents(
        before: MaintenanceWindow?, after: MaintenanceWindow, now: Date, _ connection: PostgresConnection, logger: Logger
    ) async throws -> [DomainEvent] {
        let slugs = Set((before?.components ?? []) + after.components)
        guard !slugs.isEmpty else { return [] }
        let others = try await storedWindows(now: now, connection, logger: logger).filter { $0.id != after.id }
        let incidents = try await openIncidents(connection, logger: logger)
        return ServiceStatus.statusEvents(
            slugs: slugs, incidents: (incidents, incidents),
            maintenances: (others + (before.map { [$0.asStored] } ?? []), others + [after.asStored]), now: now)
    }
}
