import BelayCore
import Foundation
import Hummingbird

// The shapes of the change log, map and suspects API (docs/changes.md).

/// A recorded change as the API shows it.
struct ChangeDTO: ResponseEncodable {
    var id: Int64
    var kind: ChangeKind
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
    var status: ChangeStatus
    var createdAt: Date

    init(_ change: Change) {
        id = change.id
        kind = change.kind
        summary = change.summary
        targets = change.targets
        environment = change.environment
        author = change.author
        sourceURL = change.sourceURL
        commit = change.commit
        startedAt = change.startedAt
        finishedAt = change.finishedAt
        reviewedBy = change.reviewedBy
        tested = change.tested
        status = change.status
        createdAt = change.createdAt
    }
}

struct MapNodeDTO: ResponseEncodable {
    var slug: String
    var name: String
    var kind: NodeKind
    var dependsOn: [String]
    var expiresAt: Date?

    init(_ node: MapNode) {
        slug = node.slug
        name = node.name
        kind = node.kind
        dependsOn = node.dependsOn
        expiresAt = node.expiresAt
    }
}

struct FreezeDTO: ResponseEncodable {
    var id: Int64
    var reason: String
    var startsAt: Date
    var endsAt: Date?
    var createdBy: String

    init(_ freeze: ChangeFreeze) {
        id = freeze.id
        reason = freeze.reason
        startsAt = freeze.startsAt
        endsAt = freeze.endsAt
        createdBy = freeze.createdBy
    }
}

/// The ranked suspects of an incident, saying when the ranking saw only part of the record.
struct SuspectReportDTO: ResponseEncodable {
    struct SuspectDTO: Codable {
        var changeID: Int64?
        var summary: String
        var kind: ChangeKind
        var targets: [String]
        var at: Date
        var score: Double
        var reasons: [String]
    }

    var suspects: [SuspectDTO]
    var possiblyAffected: [String]
    /// True when the lookback window held more changes (or signals) than one ranking reads.
    var truncated: Bool
    var changesConsidered: Int

    init(_ report: SuspectReport) {
        suspects = report.suspects.map {
            SuspectDTO(changeID: $0.changeID, summary: $0.summary, kind: $0.kind, targets: $0.targets, at: $0.at, score: $0.score, reasons: $0.reasons)
        }
        possiblyAffected = report.possiblyAffected
        truncated = report.truncated
        changesConsidered = report.changesConsidered
    }
}

struct ChangeInput: Decodable {
    var kind: ChangeKind
    var summary: String
    var targets: [String]
    var environment: String?
    var author: String?
    var sourceURL: String?
    var commit: String?
    var startedAt: Date?
    var finishedAt: Date?
    var reviewedBy: String?
    var tested: Bool?
    var status: ChangeStatus?
}

struct ChangePatch: Decodable {
    var summary: String?
    var status: ChangeStatus?
    var finishedAt: Date?
    var reviewedBy: String?
    var tested: Bool?
}

struct ChangeListDTO: ResponseEncodable {
    var changes: [ChangeDTO]
}

struct ChangeCheckDTO: ResponseEncodable {
    var target: String
    var ok: Bool
    var reasons: [String]
}

struct MapEntryDTO: Codable {
    var slug: String
    var name: String
    var kind: String
    var isComponent: Bool
    var dependsOn: [String]
    var expiresAt: Date?
}

struct MapDTO: ResponseEncodable {
    var nodes: [MapEntryDTO]
}

struct NodeInput: Decodable {
    var name: String
    var kind: NodeKind
    var dependsOn: [String]?
    var expiresAt: Date?
}

struct BlastEntryDTO: Codable {
    var slug: String
    var isComponent: Bool
    var distance: Int
    var path: [String]
}

struct BlastRadiusDTO: ResponseEncodable {
    var slug: String
    var downstream: [BlastEntryDTO]
    /// The components among them: what an outage of `slug` would take down.
    var components: [String]
}

struct FreezeInput: Decodable {
    var reason: String
    var startsAt: Date?
    var endsAt: Date?
}

struct FreezeListDTO: ResponseEncodable {
    var freezes: [FreezeDTO]
}
