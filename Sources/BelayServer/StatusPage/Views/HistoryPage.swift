/// `/history`: past incidents by month, then finished maintenance.
struct HistoryPage: TemplateView {
    static let template = "history"
    var chrome: StatusChrome
    var months: [Month]
    var hasIncidents: Bool
    var pastMaintenance: [MaintenanceCard]
    var hasPastMaintenance: Bool
    var historyDays: Int

    struct Month {
        var month: String
        var incidents: [IncidentCard]
    }
}
