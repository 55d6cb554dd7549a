import BelayCore
import Foundation
import Logging
import PostgresNIO

/// Integrations (the keys alerting tools deliver with), as AppDatabase+Detect.swift stores them.
extension PostgresStore {
    public func integrations() async throws -> [Integration] {
        let logger = logger
        return try await read { connection in
            let rows = try await connection.query("SELECT \(unescaped: DetectRows.integrationColumns) FROM integration ORDER BY id", logger: logger)
            var integrations: [Integration] = []
            for try await row in rows { integrations.append(try DetectRows.integration(row)) }
            return integrations
        }
    }

    public func integration(keyHash: String) async throws -> Integration? {
        let logger = logger
        return try await read { connection in try await Self.fetchIntegration(keyHash: keyHash, connection, logger: logger) }
    }

    public func integration(id: Int64) async throws -> Integration? {
        let logger = logger
        return try await read { connection in try await Self.fetchIntegration(id: id, connection, logger: logger) }
    }

    static func fetchIntegration(id: Int64, _ connection: PostgresConnection, logger: Logger) async throws -> Integration? {
        let rows = try await connection.query("SELECT \(unescaped: DetectRows.integrationColumns) FROM integration WHERE id = \(id)", logger: logger)
        for try await row in rows { return try DetectRows.integration(row) }
        return nil
    }

    static func fetchIntegration(keyHash: String, _ connection: PostgresConnection, logger: Logger) async throws -> Integration? {
        let rows = try await connection.query(
            "SELECT \(unescaped: DetectRows.integrationColumns) FROM integration WHERE keyHash = \(keyHash)", logger: logger)
        for try await row in rows { return try DetectRows.integration(row) }
        return nil
    }

    public func createIntegration(_ integration: Integration) async throws -> Integration {
        let logger = logger
        return try await write { connection in
            try integration.validate(knownComponents: try await Self.knownComponents(connection, logger: logger))
            let routing = try DetectRows.json(integration.routing)
            // The database hands out the id, as SQLite does for id 0 (see `insertMonitor`).
            let rows = try await connection.query(
                """
                INSERT INTO integration (name, kind, keyHash, keyHint, routing, publicIncidents, isEnabled, createdAt, updatedAt, lastEventAt, eventCount)
                VALUES (\(integration.name), \(integration.kind.rawValue), \(integration.keyHash), \(integration.keyHint), \(routing),
                  \(integration.publicIncidents), \(integration.isEnabled), \(integration.createdAt.timeIntervalSince1970),
                  \(integration.updatedAt.timeIntervalSince1970), \(integration.lastEventAt?.timeIntervalSince1970), \(integration.eventCount))
                RETURNING id
                """, logger: logger)
            var stored = integration
            var inserted = false
            for try await id in rows.decode(Int64.self) {
                stored.id = id
                inserted = true
            }
            guard inserted else { throw DomainError.invalid(field: "integration", message: "was not stored") }
            return Written(stored, [.integrationCreated(id: stored.id)])
        }
    }

    public func updateIntegration(id: Int64, _ change: @escaping @Sendable (inout Integration) throws -> Void) async throws -> Integration {
        let logger = logger
        return try await write { connection in
            guard var integration = try await Self.fetchIntegration(id: id, connection, logger: logger) else {
                throw DomainError.notFound(what: "integration", id: String(id))
            }
            try change(&integration)
            integration.id = id
            try integration.validate(knownComponents: try await Self.knownComponents(connection, logger: logger))
            let routing = try DetectRows.json(integration.routing)
            try await connection.query(
                """
                UPDATE integration SET name = \(integration.name), kind = \(integration.kind.rawValue), keyHash = \(integration.keyHash),
                  keyHint = \(integration.keyHint), routing = \(routing), publicIncidents = \(integration.publicIncidents),
                  isEnabled = \(integration.isEnabled), createdAt = \(integration.createdAt.timeIntervalSince1970),
                  updatedAt = \(integration.updatedAt.timeIntervalSince1970), lastEventAt = \(integration.lastEventAt?.timeIntervalSince1970),
                  eventCount = \(integration.eventCount)
                WHERE id = \(id)
                """, logger: logger)
            return Written(integration, [.integrationUpdated(id: id)])
        }
    }

    public func deleteIntegration(id: Int64) async throws {
        let logger = logger
        try await write { connection in
            let rows = try await connection.query("DELETE FROM integration WHERE id = \(id) RETURNING id", logger: logger)
            var deleted = false
            for try await _ in rows.decode(Int64.self) { deleted = true }
            guard deleted else { throw DomainError.notFound(what: "integration", id: String(id)) }
            return Written([.integrationDeleted(id: id)])
        }
    }
}
