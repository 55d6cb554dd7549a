import Foundation

/// How bad an incident is. sev1 is the worst.
public enum Severity: String, Codable, Sendable, CaseIterable, Comparable {
    case sev1, sev2, sev3, sev4

    public static func < (lhs: Severity, rhs: Severity) -> Bool {
        // sev1 is the most severe, so it sorts first.
        lhs.rank < rhs.rank
    }

    var rank: Int { Severity.allCases.firstIndex(of: self)! }
}

/// Whether an incident pages people (high) or only notifies them (low).
public enum Urgency: String, Codable, Sendable, CaseIterable {
    case high, low
}

/// The written meaning of a severity level and the urgency it carries by default.
/// Stored, so a team can rewrite the definitions to fit its own service.
public struct SeverityDefinition: Codable, Sendable, Equatable {
    public var level: Severity
    public var name: String
    public var definition: String
    public var urgency: Urgency

    public init(level: Severity, name: String, definition: String, urgency: Urgency) {
        self.level = level
        self.name = name
        self.definition = definition
        self.urgency = urgency
    }

    /// The definitions a fresh install starts with.
    public static let defaults: [SeverityDefinition] = [
        SeverityDefinition(
            level: .sev1, name: "Critical",
            definition: "A core service is down or losing data for many customers, or a security breach is under way. All hands, any hour.",
            urgency: .high),
        SeverityDefinition(
            level: .sev2, name: "Major",
            definition: "A core feature is broken or badly degraded for many customers, with no workaround. Someone responds now, at any hour.",
            urgency: .high),
        SeverityDefinition(
            level: .sev3, name: "Minor",
            definition: "A non-core feature is broken, or a core one is degraded for some customers, and a workaround exists. Handle in working hours.",
            urgency: .low),
        SeverityDefinition(
            level: .sev4, name: "Low",
            definition: "Cosmetic or internal-only impact, or a risk that has not yet hurt customers. Track it; no one is woken.",
            urgency: .low),
    ]

    public func validate() throws {
        try Validate.text(name, field: "name", max: 60)
        try Validate.text(definition, field: "definition", max: 1000)
    }
}
