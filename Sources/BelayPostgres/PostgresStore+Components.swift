import BelayCore
import Foundation
import Logging
import PostgresNIO

extension PostgresStore: ComponentStore {
    // MARK: Severity definitions

    public func severityDefinitions() async throws -> [SeverityDefinition] {
        let logger = logger
        return try await read { connection in
            let rows = try await connection.query("SELECT level, name, definition, urgency FROM severity_level", logger: logger)
            var definitions: [SeverityDefinition] = []
            for try await (level, name, definition, urgency) in rows.decode((String, String, String, String).self) {
                definitions.append(
                    SeverityDefinition(
                        level: try Self.storedEnum(Severity.self, level, column: "severity_level.level"), name: name, definition: definition,
                        urgency: try Self.storedEnum(Urgency.self, urgency, column: "severity_level.urgency")))
            }
            return definitions.sorted { $0.level < $1.level }
        }
    }

    public func saveSeverityDefinition(_ definition: SeverityDefinition) async throws {
        try definition.validate()
        let logger = logger
        try await write { connection in
            try await connection.query(
                """
                INSERT INTO severity_level (level, name, definition, urgency)
                VALUES (\(definition.level.rawValue), \(definition.name), \(definition.definition), \(definition.urgency.rawValue))
                ON CONFLICT (level) DO UPDATE SET name = excluded.name, definition = excluded.definition, urgency = excluded.urgency
                """, logger: logger)
            return Written([.severityDefinitionSaved(level: definition.level)])
        }
    }

    // MARK: Components

    public func components() async throws -> [Component] {
        let logger = logger
        return try await consistentRead { connection in try await Self.fetchComponents(connection, logger: logger) }
    }

    public func component(slug: String) async throws -> Component? {
        let logger = logger
        return try await consistentRead { connection in try await Self.fetchComponents(connection, logger: logger).first { $0.slug == slug } }
    }

    /// Every component in page order, each with its edges: to other components first, then to nodes, each
    /// run sorted by slug (as SQLite lists them).
    static func fetchComponents(_ connection: PostgresConnection, logger: Logger) async throws -> [Component] {
        var edges: [String: [String]] = [:]
        let edgeRows = try await connection.query(
            """
            SELECT componentSlug, dependsOnSlug FROM (
              SELECT componentSlug, dependsOnSlug, 0 AS kind FROM component_dependency
              UNION ALL SELECT componentSlug, nodeSlug, 1 FROM component_node_dependency
            ) AS edges ORDER BY kind, dependsOnSlug
            """, logger: logger)
        for try await (component, dependency) in edgeRows.decode((String, String).self) { edges[component, default: []].append(dependency) }
        let rows = try await connection.query(
            """
            SELECT slug, name, description, groupName, isPublic, automaticIncidentsPublic, position, createdAt, updatedAt
            FROM component ORDER BY position, slug
            """, logger: logger)
        var components: [Component] = []
        for try await (slug, name, description, group, isPublic, automaticIncidentsPublic, position, createdAt, updatedAt) in rows.decode(
            (String, String, String, String?, Bool, Bool, Int, Double, Double).self)
        {
            components.append(
                Component(
                    slug: slug, name: name, description: description, group: group, isPublic: isPublic,
                    automaticIncidentsPublic: automaticIncidentsPublic, position: position, dependsOn: edges[slug] ?? [],
                    createdAt: Date(timeIntervalSince1970: createdAt), updatedAt: Date(timeIntervalSince1970: updatedAt)))
        }
        return components
    }

    /// Every slug on the map (components and infrastructure nodes) with what it depends on. Read inside a
    /// write, under the writer lock, so no other write changes the map between the statements.
    static func dependencyMap(_ connection: PostgresConnection, logger: Logger) async throws -> [String: [String]] {
        var map: [String: [String]] = [:]
        for slug in try await knownComponents(connection, logger: logger) { map[slug] = [] }
        let edges = try await connection.query(
            """
            SELECT componentSlug, dependsOnSlug FROM component_dependency
            UNION ALL SELECT componentSlug, nodeSlug FROM component_node_dependency
            """, logger: logger)
        for try await (component, dependency) in edges.decode((String, String).self) { map[component, default: []].append(dependency) }
        for try await (slug, dependsOn) in try await connection.query("SELECT slug, dependsOn FROM map_node", logger: logger).decode((String, String).self) {
            map[slug] = try EventCoding.decoder.decode([String].self, from: Data(dependsOn.utf8))
        }
        return map
    }

    /// Saves a component's edges: to components in one table, to infrastructure nodes in another.
    static func saveEdges(of component: Component, _ connection: PostgresConnection, logger: Logger) async throws {
        var nodes: Set<String> = []
        for try await slug in try await connection.query("SELECT slug FROM map_node", logger: logger).decode(String.self) { nodes.insert(slug) }
        try await connection.query("DELETE FROM component_dependency WHERE componentSlug = \(component.slug)", logger: logger)
        try await connection.query("DELETE FROM component_node_dependency WHERE componentSlug = \(component.slug)", logger: logger)
        let toNodes = component.dependsOn.filter { nodes.contains($0) }
        let toComponents = component.dependsOn.filter { !nodes.contains($0) }
        if !toComponents.isEmpty {
            try await connection.query(
                """
                INSERT INTO component_dependency (componentSlug, dependsOnSlug)
                SELECT \(component.slug), slug FROM UNNEST(\(toComponents)::text[]) AS rows(slug)
                """, logger: logger)
        }
        if !toNodes.isEmpty {
            try await connection.query(
                """
                INSERT INTO component_node_dependency (componentSlug, nodeSlug)
                SELECT \(component.slug), slug FROM UNNEST(\(toNodes)::text[]) AS rows(slug)
                """, logger: logger)
        }
    }

    public func createComponent(_ component: Component) async throws -> Component {
        let logger = logger
        return try await write { connection in
            try DependencyMap.checkComponent(component, isNew: true, map: try await Self.dependencyMap(connection, logger: logger))
            try await connection.query(
                """
                INSERT INTO component (slug, name, description, groupName, isPublic, automaticIncidentsPublic, position, createdAt, updatedAt)
                VALUES (\(component.slug), \(component.name), \(component.description), \(component.group), \(component.isPublic),
                  \(component.automaticIncidentsPublic), \(component.position), \(component.createdAt.timeIntervalSince1970),
                  \(component.updatedAt.timeIntervalSince1970))
                """, logger: logger)
            try await Self.saveEdges(of: component, connection, logger: logger)
            return Written(component, [.componentCreated(slug: component.slug)])
        }
    }

    public func updateComponent(slug: String, _ change: @escaping @Sendable (inout Component) throws -> Void) async throws -> Component {
        let logger = logger
        return try await write { connection in
            guard var component = try await Self.fetchComponents(connection, logger: logger).first(where: { $0.slug == slug }) else {
                throw DomainError.notFound(what: "component", id: slug)
            }
            let before = component
            try change(&component)
            try component.checkEdit(of: before)
            try DependencyMap.checkComponent(component, isNew: false, map: try await Self.dependencyMap(connection, logger: logger))
            try await connection.query(
                """
                UPDATE component SET name = \(component.name), description = \(component.description), groupName = \(component.group),
                  isPublic = \(component.isPublic), automaticIncidentsPublic = \(component.automaticIncidentsPublic),
                  position = \(component.position), createdAt = \(component.createdAt.timeIntervalSince1970),
                  updatedAt = \(component.updatedAt.timeIntervalSince1970)
                WHERE slug = \(component.slug)
                """, logger: logger)
            try await Self.saveEdges(of: component, connection, logger: logger)
            return Written(component, [.componentUpdated(slug: slug)])
        }
    }

    public func deleteComponent(slug: String) async throws {
        let logger = logger
        try await write { connection in
            var exists = false
            for try await _ in try await connection.query("SELECT 1 FROM component WHERE slug = \(slug)", logger: logger) { exists = true }
            guard exists else { throw DomainError.notFound(what: "component", id: slug) }
            var dependents: [String] = []
            let rows = try await connection.query("SELECT componentSlug FROM component_dependency WHERE dependsOnSlug = \(slug)", logger: logger)
            for try await dependent in rows.decode(String.self) { dependents.append(dependent) }
            let counts = try await connection.query(
                """
                SELECT (SELECT COUNT(*) FROM incident_component WHERE componentSlug = \(slug)),
                       (SELECT COUNT(*) FROM maintenance_component WHERE componentSlug = \(slug))
                """, logger: logger)
            var (incidents, windows) = (0, 0)
            for try await (incidentCount, windowCount) in counts.decode((Int, Int).self) { (incidents, windows) = (incidentCount, windowCount) }
            try DependencyMap.checkComponentRemoval(of: slug, dependents: dependents, incidents: incidents, maintenances: windows)
            try await connection.query("DELETE FROM component WHERE slug = \(slug)", logger: logger)
            return Written([.componentDeleted(slug: slug)])
        }
    }
}
