import BelayCore

/// `/app/components`: every component with its status, and the form to add one.
struct ComponentsPage: AppPage {
    static let template = "components"
    var chrome: AppChrome
    var components: [Row]
    var hasComponents: Bool
    /// Choices for the new component's dependencies.
    var options: [ComponentOption]

    struct Row {
        var slug: String
        var name: String
        var group: String
        var description: String
        var status: String
        var statusClass: String
        var isInternal: Bool
        /// Names of what it depends on, a slug where the name is unknown.
        var dependsOn: String
    }
}

extension ComponentsPage {
    init(chrome: AppChrome, components: [Component], statuses: [String: ComponentStatus]) {
        let names = Dictionary(uniqueKeysWithValues: components.map { ($0.slug, $0.name) })
        self.init(
            chrome: chrome,
            components: components.map { component in
                let status = statuses[component.slug] ?? .operational
                return Row(
                    slug: component.slug, name: component.name, group: component.group ?? "", description: component.description, status: status.label,
                    statusClass: "st-\(status.rawValue)", isInternal: !component.isPublic,
                    dependsOn: component.dependsOn.map { names[$0] ?? $0 }.joined(separator: ", "))
            },
            hasComponents: !components.isEmpty, options: components.map { ComponentOption($0) })
    }
}
