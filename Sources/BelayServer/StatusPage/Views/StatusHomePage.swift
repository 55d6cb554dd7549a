/// `/`: the overall state, what is happening now, and every public component with its history.
struct StatusHomePage: TemplateView {
    static let template = "home"
    var chrome: StatusChrome
    var overallClass: String
    var overallText: String
    var activeIncidents: [IncidentCard]
    var hasActiveIncidents: Bool
    var activeMaintenance: [MaintenanceCard]
    var upcomingMaintenance: [MaintenanceCard]
    var hasActiveMaintenance: Bool
    var hasUpcomingMaintenance: Bool
    var historyDays: Int
    var groups: [Group]
    /// The subscribe form; missing when Belay has no public URL (links in messages would be wrong).
    var subscribe: SubscribeForm?

    struct SubscribeForm {
        var email: Bool
        var components: [ComponentChoice]
        var hasComponents: Bool
    }

    struct Group {
        /// Empty for components outside any group.
        var name: String
        var hasName: Bool
        var components: [ComponentRow]
    }

    struct ComponentRow {
        var name: String
        var description: String
        var hasDescription: Bool
        var statusLabel: String
        var statusClass: String
        var uptime: String
        /// The history bar's days, oldest first; empty when the component has no history yet.
        var days: [UptimeBars.Day]
        var historyLabel: String
        var hasHistory: Bool
    }
}
