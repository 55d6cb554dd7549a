import BelayCore
import Foundation

/// `/app`: open incidents, components not operational, upcoming maintenance, recently resolved.
struct AppHomePage: AppPage {
    static let template = "home"
    var chrome: AppChrome
    var open: [OpenIncident]
    var hasOpen: Bool
    var degraded: [DegradedComponent]
    var hasDegraded: Bool
    var upcoming: [UpcomingWindow]
    var hasUpcoming: Bool
    var recent: [ResolvedIncident]
    var hasRecent: Bool
    /// Why people may not be hearing about incidents: failing channels, dead letters, no public URL.
    var notificationProblems: [String] = []
    var hasNotificationProblems = false
    /// Why the copy of the status page on disk (`--status-mirror`) may be stale: a write or its command failed.
    var statusMirrorProblems: [String] = []
    var hasStatusMirrorProblems = false

    struct OpenIncident {
        var id: String
        var title: String
        var severity: String
        var status: String
        var since: String
        var isInternal: Bool
    }

    struct DegradedComponent {
        var name: String
        var status: String
        var statusClass: String
    }

    struct UpcomingWindow {
        var title: String
        var status: String
        var start: String
        var end: String
    }

    struct ResolvedIncident {
        var id: String
        var title: String
        var severity: String
        var resolved: String
    }
}

extension AppHomePage {
    /// `open` in the order shown; `degraded` the components not operational, with their `statuses`.
    init(
        chrome: AppChrome, open: [Incident], degraded: [Component], statuses: [String: ComponentStatus], upcoming: [MaintenanceWindow],
        recent: [Incident], now: Date
    ) {
        self.init(
            chrome: chrome,
            open: open.map {
                OpenIncident(
                    id: String($0.id), title: $0.title, severity: $0.severity.rawValue, status: $0.status.label, since: UTCTime.when($0.impactStart),
                    isInternal: !$0.isPublic)
            },
            hasOpen: !open.isEmpty,
            degraded: degraded.map { component in
                let status = statuses[component.slug] ?? .operational
                return DegradedComponent(name: component.name, status: status.label, statusClass: "st-\(status.rawValue)")
            },
            hasDegraded: !degraded.isEmpty,
            upcoming: upcoming.map {
                UpcomingWindow(
                    title: $0.title, status: $0.effectiveStatus(at: now).label, start: UTCTime.when($0.scheduledStart), end: UTCTime.when($0.scheduledEnd))
            },
            hasUpcoming: !upcoming.isEmpty,
            recent: recent.map {
                ResolvedIncident(id: String($0.id), title: $0.title, severity: $0.severity.rawValue, resolved: $0.milestones.resolvedAt.map(UTCTime.when) ?? "")
            },
            hasRecent: !recent.isEmpty)
    }
}
