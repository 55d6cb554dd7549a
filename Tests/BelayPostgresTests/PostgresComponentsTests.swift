import BelayCore
import BelayPostgres
import BelayTestSupport
import Foundation
import PostgresNIO
import Testing

/// Severity definitions and components on PostgreSQL, through `ComponentStore`: what AppDatabaseTests and the
/// store contract's map rules check on SQLite.
@Suite(.enabled(if: TestDatabase.isAvailable, "needs BELAY_TEST_POSTGRES_URL"))
struct PostgresComponentsTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    /// A database, an API on it, a website and exports on the API (Fixtures.seedComponents, which needs a
    /// whole BelayStore).
    static func seed(_ store: PostgresStore) async throws {
        for component in [
            Fixtures.component("database", group: "Core", at: now), Fixtures.component("api", group: "Core", dependsOn: ["database"], at: now),
            Fixtures.component("website", group: "Web", dependsOn: ["api"], at: now),
            Fixtures.component("exports", group: "Web", dependsOn: ["api"], at: now),
        ] {
            _ = try await store.createComponent(component)
        }
    }

    @Test func severityDefinitionsStartWithDefaultsAndCanBeRewritten() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        #expect(try await store.severityDefinitions() == SeverityDefinition.defaults)
        var sev3 = SeverityDefinition.defaults[2]
        sev3.urgency = .high
        sev3.definition = "Anything customers can see pages someone."
        try await store.saveSeverityDefinition(sev3)
        #expect(try await store.severityDefinitions()[2] == sev3)
        #expect(try await store.events(after: 0, limit: 10).map(\.event) == [.severityDefinitionSaved(level: sev3.level)])
    }

    @Test func componentsRoundTripInPageOrderWithTheirDependencies() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        var web = Component(
            slug: "web", name: "Web", description: "The site", group: "Edge", isPublic: false, automaticIncidentsPublic: true, position: 1,
            createdAt: Self.now, updatedAt: Self.now)
        let api = Component(slug: "api", name: "API", position: 2, createdAt: Self.now, updatedAt: Self.now)
        let db = Component(slug: "db", name: "DB", position: 2, createdAt: Self.now, updatedAt: Self.now)
        _ = try await store.createComponent(api)
        _ = try await store.createComponent(db)
        web.dependsOn = ["db", "api"]
        #expect(try await store.createComponent(web) == web)
        // Page order is position, then slug; edges come back sorted.
        #expect(try await store.components().map(\.slug) == ["web", "api", "db"])
        var stored = web
        stored.dependsOn = ["api", "db"]
        #expect(try await store.component(slug: "web") == stored)
        #expect(try await store.component(slug: "nope") == nil)
        #expect(try await store.events(after: 0, limit: 10).map(\.event) == [
            .componentCreated(slug: "api"), .componentCreated(slug: "db"), .componentCreated(slug: "web"),
        ])
    }

    @Test func componentsKeepTheirDependenciesAndRefuseUnsafeDeletes() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.seed(store)
        let api = try #require(try await store.component(slug: "api"))
        #expect(api.dependsOn == ["database"])
        await #expect(throws: DomainError.self) { try await store.deleteComponent(slug: "database") }  // api depends on it
        await #expect(throws: DomainError.self) { _ = try await store.createComponent(Fixtures.component("api", at: Self.now)) }  // duplicate
        await #expect(throws: DomainError.self) {
            _ = try await store.updateComponent(slug: "database") { $0.dependsOn = ["website"] }  // database -> website -> api -> database
        }
        await #expect(throws: DomainError.self) { _ = try await store.updateComponent(slug: "api") { $0.dependsOn = ["ghost"] } }
        #expect(try await store.component(slug: "database")?.dependsOn == [])
        _ = try await store.declareIncident(
            IncidentDraft(title: "t", severity: .sev3, impacts: [ComponentImpact(slug: "website", impact: .partialOutage)]), author: "a", now: Self.now)
        await #expect(throws: DomainError.self) { try await store.deleteComponent(slug: "website") }  // history names it
        _ = try await store.scheduleMaintenance(
            MaintenanceDraft(
                title: "Move", components: ["exports"], scheduledStart: Self.now.addingTimeInterval(3600), scheduledEnd: Self.now.addingTimeInterval(7200)),
            author: "a", now: Self.now)
        await #expect(throws: DomainError.self) { try await store.deleteComponent(slug: "exports") }  // a window names it
        _ = try await store.createComponent(Fixtures.component("status", dependsOn: ["api"], at: Self.now))
        let head = try await store.eventHead()
        try await store.deleteComponent(slug: "status")
        await #expect(throws: DomainError.self) { try await store.deleteComponent(slug: "status") }  // gone
        #expect(try await store.components().map(\.slug).sorted() == ["api", "database", "exports", "website"])
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [.componentDeleted(slug: "status")])
    }

    @Test func anEditKeepsTheSlugReplacesTheEdgesAndLogsOneEvent() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.seed(store)
        let head = try await store.eventHead()
        let later = Self.now.addingTimeInterval(60)
        let updated = try await store.updateComponent(slug: "website") {
            $0.name = "Website"
            $0.dependsOn = ["database", "api"]
            $0.isPublic = false
            $0.updatedAt = later
        }
        #expect(updated.name == "Website")
        let stored = try #require(try await store.component(slug: "website"))
        #expect(stored.dependsOn == ["api", "database"])
        #expect(stored.isPublic == false && stored.updatedAt == later)
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [.componentUpdated(slug: "website")])
        await #expect(throws: DomainError.self) { _ = try await store.updateComponent(slug: "website") { $0.slug = "site" } }
        await #expect(throws: DomainError.self) { _ = try await store.updateComponent(slug: "ghost") { $0.name = "x" } }
        #expect(try await store.eventHead() == head + 1)
    }

    @Test func aThrowingEditLeavesTheComponentAndLogAsTheyWere() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.seed(store)
        let before = try await store.components()
        let head = try await store.eventHead()
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            _ = try await store.updateComponent(slug: "api") {
                $0.name = "Changed"
                throw Refused()
            }
        }
        #expect(try await store.components() == before)
        #expect(try await store.eventHead() == head)
        #expect(store.feed.head == head)
    }

    @Test func edgesToInfrastructureNodesAreKeptApartAndCountOnTheMap() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await store.client.query(
            "INSERT INTO map_node (slug, name, kind, dependsOn) VALUES ('vpc', 'VPC', 'network', '[]')", logger: TestDatabase.logger)
        _ = try await store.createComponent(Fixtures.component("db", at: Self.now))
        _ = try await store.createComponent(Fixtures.component("api", dependsOn: ["vpc", "db"], at: Self.now))
        // Component edges first, then node edges.
        #expect(try await store.component(slug: "api")?.dependsOn == ["db", "vpc"])
        var nodeEdges: [String] = []
        let rows = try await store.client.query("SELECT nodeSlug FROM component_node_dependency WHERE componentSlug = 'api'", logger: TestDatabase.logger)
        for try await slug in rows.decode(String.self) { nodeEdges.append(slug) }
        #expect(nodeEdges == ["vpc"])
        // A component may not take a node's slug.
        await #expect(throws: DomainError.self) { _ = try await store.createComponent(Fixtures.component("vpc", at: Self.now)) }
        _ = try await store.updateComponent(slug: "api") { $0.dependsOn = ["db"] }
        #expect(try await store.component(slug: "api")?.dependsOn == ["db"])
    }
}
