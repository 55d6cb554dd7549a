import BelayCore
import Foundation
import Hummingbird

// The shapes of the change log, map and suspects API (docs/changes.md).

extension Change: ResponseEncodable {}
extension MapNode: ResponseEncodable {}
extension ChangeFreeze: ResponseEncodable {}
extension SuspectReport: ResponseEncodable {}

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
    var changes: [Change]
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
    var freezes: [ChangeFreeze]
}
