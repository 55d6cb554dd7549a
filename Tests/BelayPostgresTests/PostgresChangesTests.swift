import BelayCore
import BelayPostgres
import Foundation
import PostgresNIO
import Testing

/// The change log, map nodes and freezes on PostgreSQL, with the map checks SQLite's store makes.
@Suite(.enabled(if: TestDatabase.isAvailable, "needs BELAY_TEST_POSTGRES_URL"))
struct PostgresChangesTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    /// Components and their edges put in directly: this suite tests the change store, not the component store.
    static func addComponent(_ slug: String, dependsOnNodes nodes: [String] = [], to store: PostgresStore) async throws {
        let logger = TestDatabase.logger
        let at = now.timeIntervalSince1970
        try await store.client.query(
            """
            INSERT INTO component (slug, name, description, isPublic, position, createdAt, updatedAt)
            VALUES (\(slug), \(slug), '', true, 0, \(at), \(at))
            """, logger: logger)
        for node in nodes {
            try await store.client.query("INSERT INTO component_node_dependency (componentSlug, nodeSlug) VALUES (\(slug), \(node))", logger: logger)
        }
    }

    static func deploy(_ targets: [String], at offset: TimeInterval = 0) -> Change {
        Change(kind: .deploy, summary: "ship it", targets: targets, startedAt: now.addingTimeInterval(offset), createdAt: now)
    }

    // MARK: Changes

    @Test func aChangeIsStoredWhole() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.addComponent("api", to: store)
        _ = try await store.saveNode(MapNode(slug: "vpc", name: "VPC", kind: .network))
        let change = Change(
            kind: .deploy, summary: "v2.1 with the new cache", targets: ["api", "vpc"], environment: "staging", author: "dana",
            sourceURL: "https://ci.example.com/runs/1", commit: "abc123", startedAt: Self.now, finishedAt: Self.now.addingTimeInterval(90.25),
            reviewedBy: "kim", tested: true, status: .done, createdAt: Self.now)
        let head = try await store.eventHead()
        let stored = try await store.recordChange(change)
        #expect(stored.id > 0)
        var expected = change
        expected.id = stored.id
        #expect(stored == expected)
        #expect(try await store.change(id: stored.id) == expected)
        #expect(try await store.change(id: stored.id + 1) == nil)
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [.changeRecorded(id: stored.id, kind: .deploy, targets: ["api", "vpc"])])
        let bare = try await store.recordChange(Self.deploy(["api"]))
        #expect(try await store.change(id: bare.id)?.tested == nil)
        #expect(try await store.change(id: bare.id)?.author == nil)
    }

    @Test func aChangeMustNameSomethingOnTheMap() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.addComponent("api", to: store)
        await #expect(throws: DomainError.self) { _ = try await store.recordChange(Self.deploy(["nowhere"])) }
        await #expect(throws: DomainError.self) { _ = try await store.recordChange(Self.deploy([])) }
        #expect(try await store.changes(from: .distantPast, to: .distantFuture, limit: 10).isEmpty)
        #expect(try await store.eventHead() == 0)
    }

    @Test func changesListNewestFirstWithinTheWindowAndLimit() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.addComponent("api", to: store)
        var ids: [Int64] = []
        for offset in [0.0, 60, 120, 120, 180] { ids.append(try await store.recordChange(Self.deploy(["api"], at: offset)).id) }
        let all = try await store.changes(from: Self.now, to: Self.now.addingTimeInterval(180), limit: 10)
        // Ties on startedAt go newest id first.
        #expect(all.map(\.id) == [ids[4], ids[3], ids[2], ids[1], ids[0]])
        #expect(try await store.changes(from: Self.now.addingTimeInterval(60), to: Self.now.addingTimeInterval(120), limit: 10).map(\.id) == [ids[3], ids[2], ids[1]])
        #expect(try await store.changes(from: Self.now, to: Self.now.addingTimeInterval(180), limit: 2).map(\.id) == [ids[4], ids[3]])
        #expect(try await store.changes(from: Self.now, to: Self.now.addingTimeInterval(180), limit: 0).isEmpty)
        #expect(try await store.changes(from: Self.now, to: Self.now.addingTimeInterval(180), limit: -1).count == 5)
    }

    @Test func anUpdatedChangeKeepsTargetsThatLeftTheMap() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.addComponent("api", to: store)
        _ = try await store.saveNode(MapNode(slug: "old-lb", name: "Old LB", kind: .loadBalancer))
        let change = try await store.recordChange(Self.deploy(["api", "old-lb"]))
        try await store.deleteNode(slug: "old-lb")
        let head = try await store.eventHead()
        let updated = try await store.updateChange(id: change.id) {
            $0.status = .rolledBack
            $0.finishedAt = Self.now.addingTimeInterval(30)
        }
        #expect(updated.status == .rolledBack)
        #expect(try await store.change(id: change.id) == updated)
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [.changeUpdated(id: change.id, status: .rolledBack)])
        await #expect(throws: DomainError.self) { _ = try await store.updateChange(id: change.id) { $0.targets = ["gone"] } }
        await #expect(throws: DomainError.notFound(what: "change", id: "999")) { _ = try await store.updateChange(id: 999) { _ in } }
        #expect(try await store.change(id: change.id)?.targets == ["api", "old-lb"])
    }

    // MARK: Map nodes

    @Test func nodesAreSavedReplacedAndListedBySlug() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let head = try await store.eventHead()
        _ = try await store.saveNode(MapNode(slug: "vpc", name: "VPC", kind: .network))
        let cert = MapNode(slug: "cert", name: "TLS cert", kind: .certificate, dependsOn: ["vpc"], expiresAt: Self.now.addingTimeInterval(86400))
        #expect(try await store.saveNode(cert) == cert)
        var renamed = cert
        renamed.name = "Wildcard cert"
        renamed.dependsOn = []
        _ = try await store.saveNode(renamed)
        #expect(try await store.mapNodes() == [renamed, MapNode(slug: "vpc", name: "VPC", kind: .network)])
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [
            .mapNodeSaved(slug: "vpc"), .mapNodeSaved(slug: "cert"), .mapNodeSaved(slug: "cert"),
        ])
    }

    @Test func aNodeRefusesClashesUnknownEdgesAndCycles() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        try await Self.addComponent("api", to: store)
        _ = try await store.saveNode(MapNode(slug: "vpc", name: "VPC", kind: .network))
        _ = try await store.saveNode(MapNode(slug: "lb", name: "LB", kind: .loadBalancer, dependsOn: ["vpc"]))
        try await expectConflict("already_exists") { _ = try await store.saveNode(MapNode(slug: "api", name: "API", kind: .service)) }
        await #expect(throws: DomainError.self) { _ = try await store.saveNode(MapNode(slug: "vpc", name: "VPC", kind: .network, dependsOn: ["vpc"])) }
        await #expect(throws: DomainError.self) { _ = try await store.saveNode(MapNode(slug: "vpc", name: "VPC", kind: .network, dependsOn: ["lb"])) }
        // Nodes depend only on nodes.
        await #expect(throws: DomainError.self) { _ = try await store.saveNode(MapNode(slug: "dns", name: "DNS", kind: .other, dependsOn: ["api"])) }
        await #expect(throws: DomainError.self) { _ = try await store.saveNode(MapNode(slug: "dns", name: "DNS", kind: .other, dependsOn: ["nowhere"])) }
        await #expect(throws: DomainError.self) { _ = try await store.saveNode(MapNode(slug: "Not A Slug", name: "x", kind: .other)) }
        #expect(try await store.mapNodes().map(\.slug) == ["lb", "vpc"])
        #expect(try await store.mapNodes().first?.dependsOn == ["vpc"])
    }

    @Test func aNodeGoesOnlyWhenNothingDependsOnIt() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        _ = try await store.saveNode(MapNode(slug: "vpc", name: "VPC", kind: .network))
        _ = try await store.saveNode(MapNode(slug: "bucket", name: "Bucket", kind: .s3Bucket))
        _ = try await store.saveNode(MapNode(slug: "lb", name: "LB", kind: .loadBalancer, dependsOn: ["vpc"]))
        try await Self.addComponent("web", dependsOnNodes: ["bucket"], to: store)
        try await expectConflict("in_use") { try await store.deleteNode(slug: "vpc") }
        try await expectConflict("in_use") { try await store.deleteNode(slug: "bucket") }
        await #expect(throws: DomainError.notFound(what: "map node", id: "nowhere")) { try await store.deleteNode(slug: "nowhere") }
        let head = try await store.eventHead()
        try await store.deleteNode(slug: "lb")
        try await store.deleteNode(slug: "vpc")
        #expect(try await store.mapNodes().map(\.slug) == ["bucket"])
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [.mapNodeDeleted(slug: "lb"), .mapNodeDeleted(slug: "vpc")])
    }

    // MARK: Freezes

    @Test func freezesListNewestFirstAndEndOnce() async throws {
        let store = try await TestDatabase.makeStore()
        defer { store.close() }
        let head = try await store.eventHead()
        let older = try await store.createFreeze(ChangeFreeze(reason: "Quarter end", startsAt: Self.now, createdBy: "dana"))
        let newer = try await store.createFreeze(
            ChangeFreeze(reason: "Holidays", startsAt: Self.now.addingTimeInterval(3600), endsAt: Self.now.addingTimeInterval(7200), createdBy: "kim"))
        #expect(older.id > 0)
        #expect(try await store.freezes() == [newer, older])
        let ended = try await store.endFreeze(id: older.id, at: Self.now.addingTimeInterval(60))
        #expect(ended.endsAt == Self.now.addingTimeInterval(60))
        #expect(try await store.freezes().last == ended)
        // Ending an ended freeze changes nothing and says nothing.
        #expect(try await store.endFreeze(id: older.id, at: Self.now.addingTimeInterval(120)) == ended)
        #expect(try await store.events(after: head, limit: 10).map(\.event) == [
            .freezeCreated(id: older.id, startsAt: Self.now, endsAt: nil),
            .freezeCreated(id: newer.id, startsAt: Self.now.addingTimeInterval(3600), endsAt: Self.now.addingTimeInterval(7200)),
            .freezeEnded(id: older.id),
        ])
        await #expect(throws: DomainError.notFound(what: "freeze", id: "999")) { _ = try await store.endFreeze(id: 999, at: Self.now) }
        await #expect(throws: DomainError.self) {
            _ = try await store.createFreeze(ChangeFreeze(reason: "Backwards", startsAt: Self.now, endsAt: Self.now, createdBy: "x"))
        }
    }
}

/// Expects `body` to fail with a conflict of this code (as SQLite's store answers it).
private func expectConflict(_ code: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async throws {
    do {
        try await body()
        Issue.record("expected a \(code) conflict, but it succeeded", sourceLocation: sourceLocation)
    } catch let DomainError.conflict(found, _) {
        #expect(found == code, sourceLocation: sourceLocation)
    }
}
