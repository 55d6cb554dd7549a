import Foundation

/// The overall state of the page, in Statuspage's terms.
public enum OverallIndicator: String, Codable, Sendable {
    case none, minor, major, critical, maintenance

    public var description: String {
        switch self {
        case .none: return "All Systems Operational"
        case .minor: return "Minor Service Outage"
        case .major: return "Partial System Outage"
        case .critical: return "Major System Outage"
        case .maintenance: return "Service Under Maintenance"
        }
    }
}

/// Derives component and page status from incidents and maintenance. Pure: same inputs, same answer.
public enum ServiceStatus {
    /// The status of every component at `now`: the worst impact of any open incident on it, else under
    /// maintenance when an active window covers it, else operational.
    public static func componentStatuses(
        components: [Component], incidents: [Incident], maintenances: [MaintenanceWindow], now: Date
    ) -> [String: ComponentStatus] {
        var statuses: [String: ComponentStatus] = [:]
        for component in components { statuses[component.slug] = .operational }
        for window in maintenances where window.isActive(at: now) {
            for slug in window.components where statuses[slug] == .operational { statuses[slug] = .underMaintenance }
        }
        for incident in incidents where incident.isOpen {
            for impact in incident.impacts {
                let current = statuses[impact.slug] ?? .operational
                if impact.impact.componentStatus.badness > current.badness || current == .underMaintenance {
                    statuses[impact.slug] = impact.impact.componentStatus
                }
            }
        }
        return statuses
    }

    /// The page's headline: worst component status wins; an open incident with no component impact still
    /// counts as a minor outage so the banner never says "all operational" during a declared incident.
    public static func overall(statuses: some Collection<ComponentStatus>, openIncidents: [Incident]) -> OverallIndicator {
        let worst = statuses.max { $0.badness < $1.badness } ?? .operational
        switch worst {
        case .majorOutage: return .critical
        case .partialOutage: return .major
        case .degradedPerformance: return .minor
        case .underMaintenance: return openIncidents.contains { $0.isOpen } ? .minor : .maintenance
        case .operational: return openIncidents.contains { $0.isOpen } ? .minor : .none
        }
    }

    /// Statuspage's per-incident impact: from the worst component impact, or the severity when the
    /// incident names no component.
    public static func impactIndicator(of incident: Incident) -> OverallIndicator {
        if let worst = incident.worstImpact {
            switch worst {
            case .majorOutage: return .critical
            case .partialOutage: return .major
            case .degradedPerformance: return .minor
            }
        }
        switch incident.severity {
        case .sev1: return .critical
        case .sev2: return .major
        case .sev3: return .minor
        case .sev4: return .none
        }
    }
}
