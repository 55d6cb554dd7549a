import BelayCore
import Foundation

/// `/app/changes`: the change log of the last 30 days, and any freeze in force.
struct ChangesPage: AppPage {
    static let template = "changes"
    var chrome: AppChrome
    var changes: [Row]
    var hasChanges: Bool
    var freezes: [Freeze]

    struct Row {
        var when: String
        var kind: String
        var summary: String
        var targets: String
        var environment: String
        // Nil, not empty, when unknown: an empty string opens a mustache section ("by" with no name).
        var author: String?
        /// Who or what reviewed it (the column says "Review"), or "not reviewed".
        var reviewed: String
        var tested: String?
        var status: String
        /// Nil unless the change's source link passes the check.
        var link: String?
    }

    struct Freeze {
        var reason: String
        var since: String
    }
}

extension ChangesPage {
    init(chrome: AppChrome, changes: [Change], freezes: [ChangeFreeze]) {
        self.init(
            chrome: chrome,
            changes: changes.map { change in
                Row(
                    when: UTCTime.when(change.startedAt), kind: change.kind.rawValue, summary: change.summary, targets: change.targets.joined(separator: ", "),
                    environment: change.environment, author: change.author.flatMap(Self.present),
                    reviewed: change.reviewedBy.flatMap(Self.present) ?? "not reviewed",
                    tested: change.tested.map { $0 ? "tested" : "not tested" }, status: change.status.rawValue,
                    link: change.sourceURL.flatMap(ExternalLink.validated))
            },
            hasChanges: !changes.isEmpty, freezes: freezes.map { Freeze(reason: $0.reason, since: UTCTime.when($0.startsAt)) })
    }
}

extension ChangesPage {
    /// The text, or nil when it is blank.
    static func present(_ text: String) -> String? {
        text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : text
    }
}
