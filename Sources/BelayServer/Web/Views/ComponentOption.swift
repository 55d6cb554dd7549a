import BelayCore

/// A component offered in a list of choices (`<select>`, checkboxes).
struct ComponentOption {
    var slug: String
    var name: String
    var selected = false
}

extension ComponentOption {
    init(_ component: Component, selected: Bool = false) {
        self.init(slug: component.slug, name: component.name, selected: selected)
    }
}
