import BelayCore
import Foundation

/// A maintenance window as the status page lists it.
struct MaintenanceCard {
    var id: String
    var title: String
    var statusLabel: String
    var statusClass: String
    var start: String
    var end: String
    var startISO: String
    var endISO: String
    var affected: String
    var hasAffected: Bool
    var updates: [UpdateLine]
}

extension MaintenanceCard {
    init(_ window: MaintenanceWindow, names: [String: String], now: Date) {
        let status = window.effectiveStatus(at: now)
        self.init(
            id: String(window.id), title: window.title, statusLabel: status.label, statusClass: "mt-\(status.rawValue)",
            start: UTCTime.when(window.scheduledStart), end: UTCTime.when(window.scheduledEnd), startISO: BelayJSON.formatDate(window.scheduledStart),
            endISO: BelayJSON.formatDate(window.scheduledEnd), affected: window.components.compactMap { names[$0] }.joined(separator: ", "),
            hasAffected: !window.components.isEmpty,
            updates: window.updates.reversed().map { UpdateLine(status: $0.status.label, body: $0.body, at: $0.createdAt) })
    }
}
