import BelayCore

/// `/app/integrations`: alert senders with their routing, and the form to add one.
struct IntegrationsPage: AppPage {
    static let template = "integrations"
    var chrome: AppChrome
    var integrations: [Row]
    var kinds: [Choice]
    var components: [ComponentOption]
    var severities: [Choice]
    /// The key of an integration just made and its addresses, shown in this one answer only.
    var newKey: String?
    var newName: String?
    var urls: [Address]?

    struct Row {
        var id: String
        var name: String
        var kind: String
        var keyHint: String
        /// Default components, joined for one cell ("no default component" without).
        var components: String
        var severity: String
        /// "2 rules"; nil without rules, so the cell says nothing of them.
        var rules: String?
        var enabled: Bool
        var publicIncidents: Bool
        var lastEvent: String
        var events: Int
    }

    struct Address {
        var label: String
        var url: String
    }
}

extension IntegrationsPage {
    init(chrome: AppChrome, integrations: [Integration], components: [Component]) {
        self.init(
            chrome: chrome,
            integrations: integrations.map { integration in
                Row(
                    id: String(integration.id), name: integration.name, kind: integration.kind.rawValue, keyHint: integration.keyHint,
                    components: integration.routing.defaultComponents.isEmpty ? "no default component" : integration.routing.defaultComponents.joined(separator: ", "),
                    severity: integration.routing.defaultSeverity.rawValue,
                    rules: integration.routing.rules.isEmpty ? nil : Plural.count(integration.routing.rules.count, "rule"), enabled: integration.isEnabled, publicIncidents: integration.publicIncidents,
                    lastEvent: integration.lastEventAt.map(UTCTime.when) ?? "never", events: integration.eventCount)
            },
            kinds: IntegrationKind.allCases.map { Choice($0.rawValue) }, components: components.map { ComponentOption($0) },
            severities: Choice.severities(selecting: .sev2))
    }

    /// Shows a just-made integration's key and the addresses to give its sender.
    mutating func reveal(_ urls: IntegrationURLs, key: String, name: String) {
        newKey = key
        newName = name
        self.urls = [
            Address(label: "Alertmanager webhook", url: urls.alertmanager), Address(label: "Generic events", url: urls.events),
            Address(label: "PagerDuty Events v2 (routing_key = the key)", url: urls.pagerduty),
        ]
    }
}
