import BelayCore

/// `/app/components/:slug`: an admin edits one component or deletes it.
struct ComponentEditPage: AppPage {
    static let template = "component"
    var chrome: AppChrome
    var component: Fields
    /// The other components, those it depends on selected.
    var options: [ComponentOption]

    struct Fields {
        var slug: String
        var name: String
        var group: String
        var description: String
        var position: String
        var isInternal: Bool
        var automaticIncidentsPublic: Bool
    }
}

extension ComponentEditPage {
    /// `all` is every component, `component` among them.
    init(chrome: AppChrome, component: Component, all: [Component]) {
        self.init(
            chrome: chrome,
            component: Fields(
                slug: component.slug, name: component.name, group: component.group ?? "", description: component.description,
                position: String(component.position), isInternal: !component.isPublic,
                automaticIncidentsPublic: component.automaticIncidentsPublic),
            options: all.filter { $0.slug != component.slug }.map { ComponentOption($0, selected: component.dependsOn.contains($0.slug)) })
    }
}
