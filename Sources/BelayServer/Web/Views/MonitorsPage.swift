import BelayCore

/// `/app/monitors`: one page of monitors, the filter, and the form to add one.
struct MonitorsPage: AppPage {
    static let template = "monitors"
    var chrome: AppChrome
    var monitors: [Row]
    var hasMonitors: Bool
    var nextPage: String?
    var q: String
    var statusOptions: [Choice]
    var total: Int
    var kinds: [Choice]
    var components: [ComponentOption]
    var severities: [Choice]
    /// The scheduler's own numbers, in one line.
    var stats: String

    struct Row {
        var id: String
        var name: String
        var kind: String
        var target: String
        var status: String
        var statusClass: String
        var message: String
        var component: String
        var checked: String
    }
}

extension MonitorsPage {
    init(
        chrome: AppChrome, monitors: [Monitor], nextPage: String?, query: MonitorQuery, total: Int, components: [Component], stats: String
    ) {
        self.init(
            chrome: chrome,
            monitors: monitors.map { monitor in
                Row(
                    id: String(monitor.id), name: monitor.name, kind: monitor.kind.rawValue, target: MonitorText.target(monitor),
                    status: monitor.state.status.rawValue, statusClass: MonitorText.statusClass(monitor.state.status),
                    message: monitor.state.lastMessage ?? "", component: monitor.component ?? "",
                    checked: monitor.state.lastCheckedAt.map(UTCTime.when) ?? "never")
            },
            hasMonitors: !monitors.isEmpty, nextPage: nextPage, q: query.text ?? "",
            statusOptions: [Choice(value: "", label: "any state", selected: query.status == nil)]
                + MonitorStatus.allCases.map { Choice($0.rawValue, selected: $0 == query.status) },
            total: total, kinds: MonitorKind.allCases.map { Choice($0.rawValue) }, components: components.map { ComponentOption($0) },
            severities: Choice.severities(selecting: .sev2), stats: stats)
    }
}
