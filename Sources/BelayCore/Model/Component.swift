import Foundation

/// The status of a component as the public sees it. Always derived from incidents and maintenance,
/// never typed by a person.
public enum ComponentStatus: String, Codable, Sendable, CaseIterable {
    case operational
    case underMaintenance = "under_maintenance"
    case degradedPerformance = "degraded_performance"
    case partialOutage = "partial_outage"
    case majorOutage = "major_outage"

    /// Higher is worse; used to pick the worst of several.
    public var badness: Int {
        switch self {
        case .operational: return 0
        case .underMaintenance: return 1
        case .degradedPerformance: return 2
        case .partialOutage: return 3
        case .majorOutage: return 4
        }
    }

    public var label: String {
        switch self {
        case .operational: return "Operational"
        case .underMaintenance: return "Under maintenance"
        case .degradedPerformance: return "Degraded performance"
        case .partialOutage: return "Partial outage"
        case .majorOutage: return "Major outage"
        }
    }
}

/// How badly an incident hurts one component.
public enum Impact: String, Codable, Sendable, CaseIterable, Comparable {
    case degradedPerformance = "degraded_performance"
    case partialOutage = "partial_outage"
    case majorOutage = "major_outage"

    public var componentStatus: ComponentStatus {
        switch self {
        case .degradedPerformance: return .degradedPerformance
        case .partialOutage: return .partialOutage
        case .majorOutage: return .majorOutage
        }
    }

    public static func < (lhs: Impact, rhs: Impact) -> Bool {
        lhs.componentStatus.badness < rhs.componentStatus.badness
    }
}

/// A part of the service that people depend on, and the edges of the dependency map.
public struct Component: Codable, Sendable, Equatable {
    public var slug: String
    public var name: String
    public var description: String
    public var group: String?
    public var isPublic: Bool
    /// Whether incidents that monitors and alerts open on this component are public at once. Off by default:
    /// an automatic incident may be a false alarm, so a person decides what the public reads unless the team
    /// opts in per component (a public component only; an internal one never shows).
    public var automaticIncidentsPublic: Bool
    public var position: Int
    /// Slugs of the components this one needs in order to work.
    public var dependsOn: [String]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        slug: String, name: String, description: String = "", group: String? = nil, isPublic: Bool = true,
        automaticIncidentsPublic: Bool = false, position: Int = 0, dependsOn: [String] = [], createdAt: Date, updatedAt: Date
    ) {
        self.slug = slug
        self.name = name
        self.description = description
        self.group = group
        self.isPublic = isPublic
        self.automaticIncidentsPublic = automaticIncidentsPublic
        self.position = position
        self.dependsOn = dependsOn
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Checks the component's own fields and that its dependencies exist and form no cycle.
    /// `all` maps every other existing component's slug to its dependencies.
    public func validate(against all: [String: [String]]) throws {
        try Validate.slug(slug)
        try Validate.text(name, field: "name", max: 120)
        try Validate.text(description, field: "description", max: 2000, allowEmpty: true)
        if let group { try Validate.text(group, field: "group", max: 120) }
        guard (-1_000_000...1_000_000).contains(position) else {
            throw DomainError.invalid(field: "position", message: "must be between -1000000 and 1000000")
        }
        var seen = Set<String>()
        for dependency in dependsOn {
            guard seen.insert(dependency).inserted else {
                throw DomainError.invalid(field: "dependsOn", message: "lists '\(dependency)' twice")
            }
            if dependency == slug {
                throw DomainError.invalid(field: "dependsOn", message: "a component cannot depend on itself")
            }
            guard all[dependency] != nil else {
                throw DomainError.invalid(field: "dependsOn", message: "unknown component or map node '\(dependency)'")
            }
        }
        // A cycle would make blast radius undefined: walk from each dependency and make sure we never return.
        var graph = all
        graph[slug] = dependsOn
        var stack = dependsOn
        var visited = Set<String>()
        while let next = stack.popLast() {
            if next == slug {
                throw DomainError.invalid(field: "dependsOn", message: "would create a dependency cycle through '\(slug)'")
            }
            if visited.insert(next).inserted { stack.append(contentsOf: graph[next] ?? []) }
        }
    }
}
