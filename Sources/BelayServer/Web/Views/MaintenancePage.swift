import BelayCore
import Foundation

/// `/app/maintenance`: every window with the moves it allows, and the form to schedule one.
struct MaintenancePage: AppPage {
    static let template = "maintenance"
    var chrome: AppChrome
    var windows: [Row]
    /// The components a new window can name, by name.
    var options: [ComponentOption]
    var defaultStart: String
    var defaultEnd: String

    struct Row {
        var id: String
        var title: String
        var description: String
        var status: String
        var start: String
        var end: String
        var components: String
        var canStart: Bool
        var canComplete: Bool
        var canCancel: Bool
    }
}

extension MaintenancePage {
    /// `names` maps component slugs to names.
    init(chrome: AppChrome, windows: [MaintenanceWindow], names: [String: String], now: Date) {
        self.init(
            chrome: chrome,
            windows: windows.map { window in
                let status = window.effectiveStatus(at: now)
                return Row(
                    id: String(window.id), title: window.title, description: window.description, status: status.label,
                    start: UTCTime.when(window.scheduledStart), end: UTCTime.when(window.scheduledEnd),
                    components: window.components.map { names[$0] ?? $0 }.joined(separator: ", "), canStart: status == .scheduled,
                    canComplete: status == .inProgress, canCancel: status == .scheduled)
            },
            options: names.sorted { $0.value < $1.value }.map { ComponentOption(slug: $0.key, name: $0.value) },
            defaultStart: DateInput.text(now.addingTimeInterval(86400)), defaultEnd: DateInput.text(now.addingTimeInterval(86400 + 3600)))
    }
}
