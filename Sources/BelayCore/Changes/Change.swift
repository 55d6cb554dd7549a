import Foundation

/// What kind of thing changed. Security and infrastructure kinds count as riskier in the suspect score.
public enum ChangeKind: String, Codable, Sendable, CaseIterable {
    case deploy, config, infrastructure
    case securityPolicy = "security_policy"
    case featureFlag = "feature_flag"
    case certificate, database, rollback, maintenance

    public var isRisky: Bool { self == .securityPolicy || self == .infrastructure }
}

public enum ChangeStatus: String, Codable, Sendable, CaseIterable {
    case planned
    case inProgress = "in_progress"
    case done
    case rolledBack = "rolled_back"
    case cancelled

    /// Whether the change actually touched anything.
    public var happened: Bool { self != .planned && self != .cancelled }
}

/// One recorded change to a component or an infrastructure node: a deploy, a config or policy change...
public struct Change: Codable, Sendable, Equatable {
    public var id: Int64
    public var kind: ChangeKind
    public var summary: String
    /// Slugs of components or map nodes the change touched.
    public var targets: [String]
    public var environment: String
    public var author: String?
    /// A link to the commit, pipeline run or ticket.
    public var sourceURL: String?
    public var commit: String?
    public var startedAt: Date
    public var finishedAt: Date?
    /// Who reviewed it; nil means nobody did.
    public var reviewedBy: String?
    /// Whether it ran in a lower environment first; nil when unknown.
    public var tested: Bool?
    public var status: ChangeStatus
    public var createdAt: Date

    public init(
        id: Int64 = 0, kind: ChangeKind, summary: String, targets: [String], environment: String = "production", author: String? = nil,
        sourceURL: String? = nil, commit: String? = nil, startedAt: Date, finishedAt: Date? = nil, reviewedBy: String? = nil, tested: Bool? = nil,
        status: ChangeStatus = .done, createdAt: Date
    ) {
        self.id = id
        self.kind = kind
        self.summary = summary
        self.targets = targets
        self.environment = environment
        self.author = author
        self.sourceURL = sourceURL
        self.commit = commit
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.reviewedBy = reviewedBy
        self.tested = tested
        self.status = status
        self.createdAt = createdAt
    }

    public func validate(knownSlugs: Set<String>) throws {
        try Validate.text(summary, field: "summary", max: 500)
        guard !targets.isEmpty, targets.count <= 50 else { throw DomainError.invalid(field: "targets", message: "name 1-50 components or nodes") }
        for target in targets where !knownSlugs.contains(target) {
            throw DomainError.invalid(field: "targets", message: "unknown component or node '\(target.prefix(80))'")
        }
        try Validate.text(environment, field: "environment", max: 64)
        if let author { try Validate.text(author, field: "author", max: 120) }
        if let reviewedBy { try Validate.text(reviewedBy, field: "reviewedBy", max: 120) }
        if let commit { try Validate.text(commit, field: "commit", max: 80) }
        if let sourceURL {
            guard ExternalLink.validated(sourceURL) != nil else {
                throw DomainError.invalid(field: "sourceURL", message: "must be an http or https URL")
            }
        }
        if let finishedAt, finishedAt < startedAt { throw DomainError.invalid(field: "finishedAt", message: "must not be before startedAt") }
    }

    /// Production unless the environment says otherwise.
    public var isProduction: Bool { ["production", "prod", "live"].contains(environment.lowercased()) }
}

/// A kind of infrastructure node on the dependency map.
public enum NodeKind: String, Codable, Sendable, CaseIterable {
    case awsAccount = "aws_account"
    case s3Bucket = "s3_bucket"
    case cdn, firewall
    case loadBalancer = "load_balancer"
    case network, database, cache, certificate
    case secretStore = "secret_store"
    case service, queue, other
}

/// Something components depend on that is not itself on the status page: an account, a bucket, a
/// firewall, a certificate. Components and nodes share one slug space on the map.
public struct MapNode: Codable, Sendable, Equatable {
    public var slug: String
    public var name: String
    public var kind: NodeKind
    public var dependsOn: [String]
    /// For certificates: when it expires. An expiry in the lookback window counts as a change.
    public var expiresAt: Date?

    public init(slug: String, name: String, kind: NodeKind, dependsOn: [String] = [], expiresAt: Date? = nil) {
        self.slug = slug
        self.name = name
        self.kind = kind
        self.dependsOn = dependsOn
        self.expiresAt = expiresAt
    }
}

/// A period when changes should not be made.
public struct ChangeFreeze: Codable, Sendable, Equatable {
    public var id: Int64
    public var reason: String
    public var startsAt: Date
    public var endsAt: Date?
    public var createdBy: String

    public init(id: Int64 = 0, reason: String, startsAt: Date, endsAt: Date? = nil, createdBy: String) {
        self.id = id
        self.reason = reason
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.createdBy = createdBy
    }

    public func isActive(at now: Date) -> Bool { startsAt <= now && (endsAt.map { now < $0 } ?? true) }
}
