import Foundation

/// Where an incident stands. Moves investigating -> identified -> monitoring -> resolved, may step back
/// among the open states, and leaves resolved only by an explicit, recorded reopen.
public enum IncidentStatus: String, Codable, Sendable, CaseIterable {
    case investigating, identified, monitoring, resolved

    public var isOpen: Bool { self != .resolved }

    public var label: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}

/// The moments that make up an incident's metrics. Each is when it really happened, which may be
/// earlier than when it was recorded.
public enum Milestone: String, Codable, Sendable, CaseIterable {
    case impactStartedAt, detectedAt, acknowledgedAt, mitigatedAt, resolvedAt
}

public struct Milestones: Codable, Sendable, Equatable {
    public var impactStartedAt: Date?
    public var detectedAt: Date?
    public var acknowledgedAt: Date?
    public var mitigatedAt: Date?
    public var resolvedAt: Date?

    public init(impactStartedAt: Date? = nil, detectedAt: Date? = nil, acknowledgedAt: Date? = nil, mitigatedAt: Date? = nil, resolvedAt: Date? = nil) {
        self.impactStartedAt = impactStartedAt
        self.detectedAt = detectedAt
        self.acknowledgedAt = acknowledgedAt
        self.mitigatedAt = mitigatedAt
        self.resolvedAt = resolvedAt
    }

    public subscript(milestone: Milestone) -> Date? {
        get {
            switch milestone {
            case .impactStartedAt: return impactStartedAt
            case .detectedAt: return detectedAt
            case .acknowledgedAt: return acknowledgedAt
            case .mitigatedAt: return mitigatedAt
            case .resolvedAt: return resolvedAt
            }
        }
        set {
            switch milestone {
            case .impactStartedAt: impactStartedAt = newValue
            case .detectedAt: detectedAt = newValue
            case .acknowledgedAt: acknowledgedAt = newValue
            case .mitigatedAt: mitigatedAt = newValue
            case .resolvedAt: resolvedAt = newValue
            }
        }
    }

    /// Pairs that must be in order when both are set: (earlier, later).
    static let order: [(Milestone, Milestone)] = [
        (.impactStartedAt, .mitigatedAt), (.impactStartedAt, .resolvedAt), (.detectedAt, .acknowledgedAt),
        (.detectedAt, .resolvedAt), (.mitigatedAt, .resolvedAt),
    ]

    /// Two milestones closer than this are the same moment. A date stored as seconds since 1970 and read
    /// back can move by a rounding step, so "resolved when mitigated" must not turn into "before".
    static let sameMoment: TimeInterval = 0.001

    func validate() throws {
        for (earlier, later) in Milestones.order {
            if let a = self[earlier], let b = self[later], a.timeIntervalSince(b) > Milestones.sameMoment {
                throw DomainError.invalid(field: later.rawValue, message: "must not be before \(earlier.rawValue)")
            }
        }
    }
}

/// The people running an incident.
public enum Role: String, Codable, Sendable, CaseIterable {
    case commander, communications, scribe
}

public struct Roles: Codable, Sendable, Equatable {
    public var commander: String?
    public var communications: String?
    public var scribe: String?

    public init(commander: String? = nil, communications: String? = nil, scribe: String? = nil) {
        self.commander = commander
        self.communications = communications
        self.scribe = scribe
    }

    public subscript(role: Role) -> String? {
        get {
            switch role {
            case .commander: return commander
            case .communications: return communications
            case .scribe: return scribe
            }
        }
        set {
            switch role {
            case .commander: commander = newValue
            case .communications: communications = newValue
            case .scribe: scribe = newValue
            }
        }
    }
}

/// One component an incident affects and how badly.
public struct ComponentImpact: Codable, Sendable, Equatable {
    public var slug: String
    public var impact: Impact

    public init(slug: String, impact: Impact) {
        self.slug = slug
        self.impact = impact
    }
}

/// A message to the public about an incident, with the status it announces.
public struct StatusUpdate: Codable, Sendable, Equatable {
    public var id: Int64
    public var status: IncidentStatus
    public var body: String
    public var author: String
    /// When the update was recorded.
    public var createdAt: Date
    /// When the update is shown as having happened (may be backdated when recording after the fact).
    public var displayAt: Date
    /// Component status changes this update announced.
    public var affectedComponents: [AffectedComponent]

    public init(id: Int64 = 0, status: IncidentStatus, body: String, author: String, createdAt: Date, displayAt: Date, affectedComponents: [AffectedComponent] = []) {
        self.id = id
        self.status = status
        self.body = body
        self.author = author
        self.createdAt = createdAt
        self.displayAt = displayAt
        self.affectedComponents = affectedComponents
    }
}

public struct AffectedComponent: Codable, Sendable, Equatable {
    public var slug: String
    public var oldStatus: ComponentStatus
    public var newStatus: ComponentStatus

    public init(slug: String, oldStatus: ComponentStatus, newStatus: ComponentStatus) {
        self.slug = slug
        self.oldStatus = oldStatus
        self.newStatus = newStatus
    }
}

/// Something that went wrong, from declaration to resolution.
public struct Incident: Codable, Sendable, Equatable {
    public var id: Int64
    public var title: String
    public var severity: Severity
    public var status: IncidentStatus
    public var isPublic: Bool
    public var impacts: [ComponentImpact]
    public var milestones: Milestones
    public var roles: Roles
    public var reopenCount: Int
    public var createdAt: Date
    public var updatedAt: Date
    /// Public updates, oldest first.
    public var updates: [StatusUpdate]
    /// True when Belay opened the incident from a signal; such incidents resolve themselves after the
    /// quiet period once every signal has cleared, unless `holdOpen`.
    public var autoResolve: Bool
    /// A person asked Belay not to resolve this incident by itself.
    public var holdOpen: Bool
    /// When the last of its active signals cleared; nil while any signal is active or none ever was.
    public var signalsClearedAt: Date?

    public init(
        id: Int64 = 0, title: String, severity: Severity, status: IncidentStatus = .investigating, isPublic: Bool = true,
        impacts: [ComponentImpact] = [], milestones: Milestones = Milestones(), roles: Roles = Roles(), reopenCount: Int = 0,
        createdAt: Date, updatedAt: Date, updates: [StatusUpdate] = [], autoResolve: Bool = false, holdOpen: Bool = false,
        signalsClearedAt: Date? = nil
    ) {
        self.id = id
        self.title = title
        self.severity = severity
        self.status = status
        self.isPublic = isPublic
        self.impacts = impacts
        self.milestones = milestones
        self.roles = roles
        self.reopenCount = reopenCount
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.updates = updates
        self.autoResolve = autoResolve
        self.holdOpen = holdOpen
        self.signalsClearedAt = signalsClearedAt
    }

    public var isOpen: Bool { status.isOpen }

    /// The worst impact on any component, if any.
    public var worstImpact: Impact? { impacts.map(\.impact).max() }

    public func impact(on slug: String) -> Impact? { impacts.first { $0.slug == slug }?.impact }

    /// When impact began, for history: the impact milestone, else detection, else declaration.
    public var impactStart: Date { milestones.impactStartedAt ?? milestones.detectedAt ?? createdAt }
}

/// What a person supplies to declare an incident.
public struct IncidentDraft: Codable, Sendable, Equatable {
    public var title: String
    public var severity: Severity
    public var status: IncidentStatus
    public var isPublic: Bool
    public var impacts: [ComponentImpact]
    public var message: String?
    public var roles: Roles
    public var milestones: Milestones

    public init(
        title: String, severity: Severity, status: IncidentStatus = .investigating, isPublic: Bool = true,
        impacts: [ComponentImpact] = [], message: String? = nil, roles: Roles = Roles(), milestones: Milestones = Milestones()
    ) {
        self.title = title
        self.severity = severity
        self.status = status
        self.isPublic = isPublic
        self.impacts = impacts
        self.message = message
        self.roles = roles
        self.milestones = milestones
    }
}
