import BelayCore

/// `/app/incidents/new`: the declaration form, filled again with what was sent when it was refused.
struct DeclarePage: AppPage {
    static let template = "declare"
    var chrome: AppChrome
    var severities: [SeverityChoice]
    var components: [ComponentOption]
    var impacts: [Choice]
    var title: String
    var message: String
    var commander: String
    var communications: String
    var scribe: String
    var isInternal: Bool

    struct SeverityChoice {
        var level: String
        var name: String
        var definition: String
        var urgency: String
        var checked: Bool
    }
}

extension DeclarePage {
    /// `form` is the refused declaration, nil for an empty form.
    init(chrome: AppChrome, definitions: [SeverityDefinition], components: [Component], form: FormData?) {
        let severity = form?["severity"] ?? "sev2"
        let chosen = Set(form?.all("components") ?? [])
        let impact = form?["impact"] ?? Impact.majorOutage.rawValue
        self.init(
            chrome: chrome,
            severities: definitions.map { definition in
                SeverityChoice(
                    level: definition.level.rawValue, name: definition.name, definition: definition.definition,
                    // Only what Belay does: it pages no one; the channels whose rules match are told (docs/notifications.md).
                    urgency: definition.urgency == .high ? "high urgency" : "low urgency",
                    checked: definition.level.rawValue == severity)
            },
            components: components.map { ComponentOption($0, selected: chosen.contains($0.slug)) },
            impacts: [Impact.majorOutage, .partialOutage, .degradedPerformance].map {
                Choice(value: $0.rawValue, label: $0.componentStatus.label, selected: $0.rawValue == impact)
            },
            title: form?["title"] ?? "", message: form?["message"] ?? "", commander: form?["commander"] ?? "",
            communications: form?["communications"] ?? "", scribe: form?["scribe"] ?? "", isInternal: form?["internal"] != nil)
    }
}
