import BelayCore
import Foundation

/// One timeline entry, newest first in the war room.
struct TimelineLine {
    var kind: String
    var kindLabel: String
    var text: String
    var author: String
    var when: String
    var iso: String
    var isBackdated: Bool
    var recorded: String
}

extension TimelineLine {
    init(_ entry: TimelineEntry) {
        self.init(
            kind: entry.kind.rawValue, kindLabel: Self.label(entry.kind), text: entry.text, author: entry.author, when: UTCTime.when(entry.occurredAt),
            iso: BelayJSON.formatDate(entry.occurredAt), isBackdated: entry.isBackdated, recorded: UTCTime.when(entry.recordedAt))
    }

    static func label(_ kind: TimelineKind) -> String {
        switch kind {
        case .declared: return "Declared"
        case .statusChange: return "Status"
        case .update: return "Public update"
        case .note: return "Note"
        case .milestone: return "Milestone"
        case .severityChange: return "Severity"
        case .impactChange: return "Impact"
        case .roleChange: return "Role"
        case .visibilityChange: return "Visibility"
        case .signal: return "Signals"
        }
    }
}
