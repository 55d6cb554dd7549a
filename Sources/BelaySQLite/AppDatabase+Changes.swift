import BelayCore
import Foundation
import GRDB

struct ChangeRecord: IdentifiedRecord {
    static let databaseTableName = "change"
    var id: Int64?
    var kind: String
    var summary: String
    var targets: [String]
    var environment: String
    var author: String?
    var sourceURL: String?
    var commit: String?
    var startedAt: Date
    var finishedAt: Date?
    var reviewedBy: String?
    var tested: Bool?
    var status: String
    var createdAt: Date

    init(_ value: Change) {
        id = value.id == 0 ? nil : value.id
        kind = value.kind.rawValue
        summary = value.summary
        targets = value.targets
        environment = value.environment
        author = value.author
        sourceURL = value.sourceURL
        commit = value.commit
        startedAt = value.startedAt
        finishedAt = value.finishedAt
        reviewedBy = value.reviewedBy
        tested = value.tested
        status = value.status.rawValue
        createdAt = value.createdAt
    }

    func domain() throws -> Change {
        Change(
            id: id ?? 0, kind: try decode(ChangeKind.self, kind), summary: summary, targets: targets, environment: environment, author: author,
            sourceURL: sourceURL, commit: commit, startedAt: startedAt, finishedAt: finishedAt, reviewedBy: reviewedBy, tested: tested,
            status: try decode(ChangeStatus.self, status), createdAt: createdAt)
    }
}

struct MapNodeRecord: BelayRecord {
    static let databaseTableName = "map_node"
    var slug: String
    var name: String
    var kind: String
    var dependsOn: [String]
    var expiresAt: Date?

    init(_ value: MapNode) {
        slug = value.slug
        name = value.name
        kind = value.kind.rawValue
        dependsOn = value.dependsOn
        expiresAt = value.expiresAt
    }

    func domain() throws -> MapNode {
        MapNode(slug: slug, name: name, kind: try decode(NodeKind.self, kind), dependsOn: dependsOn, expiresAt: expiresAt)
    }
}

struct FreezeRecord: IdentifiedRecord {
    static let databaseTableName = "change_freeze"
    var id: Int64?
    var reason: String
    var startsAt: Date
    var endsAt: Date?
    var createdBy: String

    init(_ value: ChangeFreeze) {
        id = value.id == 0 ? nil : value.id
        reason = value.reason
        startsAt = value.startsAt
        endsAt = value.endsAt
        createdBy = value.createdBy
    }

    var domain: ChangeFreeze { ChangeFreeze(id: id ?? 0, reason: reason, startsAt: startsAt, endsAt: endsAt, createdBy: createdBy) }
}

extension AppDatabase: ChangeStore {
    public func recordChange(_ change: Change) async throws -> Change {
        try await write { db in
            try change.validate(knownSlugs: Set(try Self.dependencyMap(db).keys))
            var record = ChangeRecord(change)
            try record.insert(db)
            let stored = try record.domain()
            return Written(stored, [.changeRecorded(id: stored.id, kind: stored.kind, targets: stored.targets)])
        }
    }

    public func updateChange(id: Int64, _ update: @escaping @Sendable (inout Change) throws -> Void) async throws -> Change {
        try await write { db in
            guard var change = try ChangeRecord.fetchOne(db, key: id)?.domain() else { throw DomainError.notFound(what: "change", id: String(id)) }
            let recorded = change.targets
            try update(&change)
            change.id = id
            // A change keeps naming what it touched even after that was removed from the map.
            try change.validate(knownSlugs: Set(try Self.dependencyMap(db).keys).union(recorded))
            try ChangeRecord(change).update(db)
            return Written(change, [.changeUpdated(id: id, status: change.status)])
        }
    }

    public func change(id: Int64) async throws -> Change? {
        try await read { db in try ChangeRecord.fetchOne(db, key: id)?.domain() }
    }

    public func changes(from: Date, to: Date, limit: Int) async throws -> [Change] {
        try await read { db in
            try ChangeRecord
                .filter(Column("startedAt") >= from.timeIntervalSince1970 && Column("startedAt") <= to.timeIntervalSince1970)
                .order(Column("startedAt").desc, Column("id").desc).limit(limit).fetchAll(db).map { try $0.domain() }
        }
    }

    public func mapNodes() async throws -> [MapNode] {
        try await read { db in try MapNodeRecord.order(Column("slug")).fetchAll(db).map { try $0.domain() } }
    }

    public func saveNode(_ node: MapNode) async throws -> MapNode {
        try await write { db in
            var nodes = [String: [String]]()
            for other in try MapNodeRecord.fetchAll(db) { nodes[other.slug] = other.dependsOn }
            try DependencyMap.checkNode(node, components: try Self.knownComponents(db), nodes: nodes)
            try MapNodeRecord(node).save(db)
            return Written(node, [.mapNodeSaved(slug: node.slug)])
        }
    }

    public func deleteNode(slug: String) async throws {
        try await write { db in
            guard try MapNodeRecord.exists(db, key: slug) else { throw DomainError.notFound(what: "map node", id: slug) }
            var dependents = try String.fetchAll(db, sql: "SELECT componentSlug FROM component_node_dependency WHERE nodeSlug = ?", arguments: [slug])
            dependents += try MapNodeRecord.fetchAll(db).filter { $0.dependsOn.contains(slug) }.map(\.slug)
            try DependencyMap.checkRemoval(of: slug, dependents: dependents)
            _ = try MapNodeRecord.deleteOne(db, key: slug)
            return Written([.mapNodeDeleted(slug: slug)])
        }
    }

    public func freezes() async throws -> [ChangeFreeze] {
        try await read { db in try FreezeRecord.order(Column("startsAt").desc).fetchAll(db).map(\.domain) }
    }

    public func createFreeze(_ freeze: ChangeFreeze) async throws -> ChangeFreeze {
        try freeze.validate()
        return try await write { db in
            var record = FreezeRecord(freeze)
            try record.insert(db)
            return Written(record.domain, [.freezeCreated(id: record.domain.id, startsAt: freeze.startsAt, endsAt: freeze.endsAt)])
        }
    }

    public func endFreeze(id: Int64, at: Date) async throws -> ChangeFreeze {
        try await write { db in
            guard var record = try FreezeRecord.fetchOne(db, key: id) else { throw DomainError.notFound(what: "freeze", id: String(id)) }
            guard let ended = record.domain.ending(at: at) else { return Written(record.domain, []) }
            record.endsAt = ended.endsAt
            try record.update(db)
            return Written(ended, [.freezeEnded(id: id)])
        }
    }
}
