import Foundation

/// One posted update of an incident or a maintenance window.
struct UpdateLine {
    var statusLabel: String
    var body: String
    var when: String
    var iso: String
}

extension UpdateLine {
    init(status: String, body: String, at date: Date) {
        self.init(statusLabel: status, body: body, when: UTCTime.when(date), iso: BelayJSON.formatDate(date))
    }
}
