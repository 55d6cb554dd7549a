import BelayCore
import Foundation
import Logging
import PostgresNIO

/// Row mapping for changes, map nodes and freezes: the columns of SQLite's `ChangeRecord`, `MapNodeRecord`
/// and `FreezeRecord`, the slug lists as JSON text the way SQLite's `JSONColumn` writes them.
enum ChangeRows {
    static let changeColumns =
        "id, kind, summary, targets, environment, author, sourceURL, commit, startedAt, finishedAt, reviewedBy, tested, status, createdAt"

    static func change(_ row: PostgresRow) throws -> Change {
        let (id, kind, summary, targets, environment, author, sourceURL, commit, startedAt, finishedAt, reviewedBy, tested, status, createdAt) =
            try row.decode((Int64, String, String, String, String, String?, String?, String?, Double, Double?, String?, Bool?, String, Double).self)
        guard let changeKind = ChangeKind(rawValue: kind) else { throw StoredValueInvalid(column: "change.kind", value: kind) }
        guard let changeStatus = ChangeStatus(rawValue: status) else { throw StoredValueInvalid(column: "change.status", value: status) }
        return Change(
            id: id, kind: changeKind, summary: summary, targets: try slugs(targets), environment: environment, author: author, sourceURL: sourceURL,
            commit: commit, startedAt: Date(timeIntervalSince1970: startedAt), finishedAt: finishedAt.map(Date.init(timeIntervalSince1970:)),
            reviewedBy: reviewedBy, tested: tested, status: changeStatus, createdAt: Date(timeIntervalSince1970: createdAt))
    }

    static let nodeColumns = "slug, name, kind, dependsOn, expiresAt"

    static func node(_ row: PostgresRow) throws -> MapNode {
        let (slug, name, kind, dependsOn, expiresAt) = try row.decode((String, String, String, String, Double?).self)
        guard let nodeKind = NodeKind(rawValue: kind) else { throw StoredValueInvalid(column: "map_node.kind", value: kind) }
        return MapNode(slug: slug, name: name, kind: nodeKind, dependsOn: try slugs(dependsOn), expiresAt: expiresAt.map(Date.init(timeIntervalSince1970:)))
    }

    static let freezeColumns = "id, reason, startsAt, endsAt, createdBy"

    static func freeze(_ row: PostgresRow) throws -> ChangeFreeze {
        let (id, reason, startsAt, endsAt, createdBy) = try row.decode((Int64, String, Double, Double?, String).self)
        return ChangeFreeze(
            id: id, reason: reason, startsAt: Date(timeIntervalSince1970: startsAt), endsAt: endsAt.map(Date.init(timeIntervalSince1970:)),
            createdBy: createdBy)
    }

    static func slugs(_ text: String) throws -> [String] { try EventCoding.decoder.decode([String].self, from: Data(text.utf8)) }
    static func json(_ slugs: [String]) throws -> String { String(decoding: try EventCoding.encoder.encode(slugs), as: UTF8.self) }

    static func all<T>(_ query: PostgresQuery, _ connection: PostgresConnection, logger: Logger, _ map: (PostgresRow) throws -> T) async throws -> [T] {
        var values: [T] = []
        for try await row in try await connection.query(query, logger: logger) { values.append(try map(row)) }
        return values
    }

    static func strings(_ query: PostgresQuery, _ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        var values: [String] = []
        for try await value in try await connection.query(query, logger: logger).decode(String.self) { values.append(value) }
        return values
    }

    /// Every slug on the map, components and nodes, with what it depends on (as SQLite's `dependencyMap`).
    /// Read inside a write, under the writer lock, so no other write changes the map between the statements.
    static func dependencyMap(_ connection: PostgresConnection, logger: Logger) async throws -> [String: [String]] {
        var map: [String: [String]] = [:]
        for slug in try await strings("SELECT slug FROM component", connection, logger: logger) { map[slug] = [] }
        let edges = try await connection.query(
            """
            SELECT componentSlug, dependsOnSlug FROM component_dependency
            UNION ALL SELECT componentSlug, nodeSlug FROM component_node_dependency
            """, logger: logger)
        for try await (component, dependency) in edges.decode((String, String).self) { map[component, default: []].append(dependency) }
        for node in try await nodes(connection, logger: logger) { map[node.slug] = node.dependsOn }
        return map
    }

    static func nodes(_ connection: PostgresConnection, logger: Logger) async throws -> [MapNode] {
        // Byte order, as SQLite sorts text, whatever the database's collation.
        try await all("SELECT \(unescaped: nodeColumns) FROM map_node ORDER BY slug COLLATE \"C\"", connection, logger: logger, node)
    }

    static func findChange(id: Int64, _ connection: PostgresConnection, logger: Logger) async throws -> Change? {
        try await all("SELECT \(unescaped: changeColumns) FROM change WHERE id = \(id)", connection, logger: logger, change).first
    }
}

extension PostgresStore: ChangeStore {
    public func recordChange(_ change: Change) async throws -> Change {
        let logger = logger
        return try await write { connection in
            try change.validate(knownSlugs: Set(try await ChangeRows.dependencyMap(connection, logger: logger).keys))
            var stored = change
            let rows = try await connection.query(
                """
                INSERT INTO change (kind, summary, targets, environment, author, sourceURL, commit, startedAt, finishedAt, reviewedBy, tested,
                  status, createdAt)
                VALUES (\(change.kind.rawValue), \(change.summary), \(try ChangeRows.json(change.targets)), \(change.environment), \(change.author),
                        \(change.sourceURL), \(change.commit), \(change.startedAt.timeIntervalSince1970), \(change.finishedAt?.timeIntervalSince1970),
                        \(change.reviewedBy), \(change.tested), \(change.status.rawValue), \(change.createdAt.timeIntervalSince1970))
                RETURNING id
                """, logger: logger)
            for try await id in rows.decode(Int64.self) { stored.id = id }
            return Written(stored, [.changeRecorded(id: stored.id, kind: stored.kind, targets: stored.targets)])
        }
    }

    public func updateChange(id: Int64, _ update: @escaping @Sendable (inout Change) throws -> Void) async throws -> Change {
        let logger = logger
        return try await write { connection in
            guard var change = try await ChangeRows.findChange(id: id, connection, logger: logger) else {
                throw DomainError.notFound(what: "change", id: String(id))
            }
            let recorded = change.targets
            try update(&change)
            change.id = id
            // A change keeps naming what it touched even after that was removed from the map.
            try change.validate(knownSlugs: Set(try await ChangeRows.dependencyMap(connection, logger: logger).keys).union(recorded))
            try await connection.query(
                """
                UPDATE change SET kind = \(change.kind.rawValue), summary = \(change.summary), targets = \(try ChangeRows.json(change.targets)),
                  environment = \(change.environment), author = \(change.author), sourceURL = \(change.sourceURL), commit = \(change.commit),
                  startedAt = \(change.startedAt.timeIntervalSince1970), finishedAt = \(change.finishedAt?.timeIntervalSince1970),
                  reviewedBy = \(change.reviewedBy), tested = \(change.tested), status = \(change.status.rawValue),
                  createdAt = \(change.createdAt.timeIntervalSince1970)
                WHERE id = \(id)
                """, logger: logger)
            return Written(change, [.changeUpdated(id: id, status: change.status)])
        }
    }

    public func change(id: Int64) async throws -> Change? {
        let logger = logger
        return try await read { connection in try await ChangeRows.findChange(id: id, connection, logger: logger) }
    }

    public func changes(from: Date, to: Date, limit: Int) async throws -> [Change] {
        let logger = logger
        // SQLite reads a negative limit as none; PostgreSQL's LIMIT NULL means the same.
        let bound: Int? = limit < 0 ? nil : limit
        return try await read { connection in
            try await ChangeRows.all(
                """
                SELECT \(unescaped: ChangeRows.changeColumns) FROM change
                WHERE startedAt >= \(from.timeIntervalSince1970) AND startedAt <= \(to.timeIntervalSince1970)
                ORDER BY startedAt DESC, id DESC LIMIT \(bound)
                """, connection, logger: logger, ChangeRows.change)
        }
    }

    public func mapNodes() async throws -> [MapNode] {
        let logger = logger
        return try await read { connection in try await ChangeRows.nodes(connection, logger: logger) }
    }

    public func saveNode(_ node: MapNode) async throws -> MapNode {
        let logger = logger
        return try await write { connection in
            var nodes = [String: [String]]()
            for other in try await ChangeRows.nodes(connection, logger: logger) { nodes[other.slug] = other.dependsOn }
            let components = Set(try await ChangeRows.strings("SELECT slug FROM component", connection, logger: logger))
            try DependencyMap.checkNode(node, components: components, nodes: nodes)
            try await connection.query(
                """
                INSERT INTO map_node (slug, name, kind, dependsOn, expiresAt)
                VALUES (\(node.slug), \(node.name), \(node.kind.rawValue), \(try ChangeRows.json(node.dependsOn)), \(node.expiresAt?.timeIntervalSince1970))
                ON CONFLICT (slug) DO UPDATE SET name = excluded.name, kind = excluded.kind, dependsOn = excluded.dependsOn, expiresAt = excluded.expiresAt
                """, logger: logger)
            return Written(node, [.mapNodeSaved(slug: node.slug)])
        }
    }

    public func deleteNode(slug: String) async throws {
        let logger = logger
        try await write { connection in
            let nodes = try await ChangeRows.nodes(connection, logger: logger)
            guard nodes.contains(where: { $0.slug == slug }) else { throw DomainError.notFound(what: "map node", id: slug) }
            var dependents = try await ChangeRows.strings(
                "SELECT componentSlug FROM component_node_dependency WHERE nodeSlug = \(slug) ORDER BY componentSlug COLLATE \"C\"", connection,
                logger: logger)
            dependents += nodes.filter { $0.dependsOn.contains(slug) }.map(\.slug)
            try DependencyMap.checkRemoval(of: slug, dependents: dependents)
            try await connection.query("DELETE FROM map_node WHERE slug = \(slug)", logger: logger)
            return Written([.mapNodeDeleted(slug: slug)])
        }
    }

    public func freezes() async throws -> [ChangeFreeze] {
        let logger = logger
        return try await read { connection in
            try await ChangeRows.all(
                "SELECT \(unescaped: ChangeRows.freezeColumns) FROM change_freeze ORDER BY startsAt DESC, id DESC", connection, logger: logger,
                ChangeRows.freeze)
        }
    }

    public func createFreeze(_ freeze: ChangeFreeze) async throws -> ChangeFreeze {
        try freeze.validate()
        let logger = logger
        return try await write { connection in
            var stored = freeze
            let rows = try await connection.query(
                """
                INSERT INTO change_freeze (reason, startsAt, endsAt, createdBy)
                VALUES (\(freeze.reason), \(freeze.startsAt.timeIntervalSince1970), \(freeze.endsAt?.timeIntervalSince1970), \(freeze.createdBy))
                RETURNING id
                """, logger: logger)
            for try await id in rows.decode(Int64.self) { stored.id = id }
            return Written(stored, [.freezeCreated(id: stored.id, startsAt: freeze.startsAt, endsAt: freeze.endsAt)])
        }
    }

    public func endFreeze(id: Int64, at: Date) async throws -> ChangeFreeze {
        let logger = logger
        return try await write { connection in
            guard
                let freeze = try await ChangeRows.all(
                    "SELECT \(unescaped: ChangeRows.freezeColumns) FROM change_freeze WHERE id = \(id)", connection, logger: logger, ChangeRows.freeze
                ).first
            else { throw DomainError.notFound(what: "freeze", id: String(id)) }
            guard let ended = freeze.ending(at: at) else { return Written(freeze, []) }
            try await connection.query(
                "UPDATE change_freeze SET endsAt = \(ended.endsAt?.timeIntervalSince1970) WHERE id = \(id)", logger: logger)
            return Written(ended, [.freezeEnded(id: id)])
        }
    }
}
