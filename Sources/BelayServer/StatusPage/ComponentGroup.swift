import BelayCore

/// Components as the page shows them: in display order, gathered into groups in the order each group
/// first appears. The HTML page and the Statuspage v2 documents share this order.
struct ComponentGroup {
    var name: String?
    var members: [Component]

    static func grouped(_ components: [Component]) -> [ComponentGroup] {
        let sorted = components.sorted { ($0.position, $0.name, $0.slug) < ($1.position, $1.name, $1.slug) }
        var groups: [ComponentGroup] = []
        var index: [String: Int] = [:]
        for component in sorted {
            if let name = component.group {
                if let at = index[name] {
                    groups[at].members.append(component)
                } else {
                    index[name] = groups.count
                    groups.append(ComponentGroup(name: name, members: [component]))
                }
            } else if let last = groups.last, last.name == nil {
                groups[groups.count - 1].members.append(component)
            } else {
                groups.append(ComponentGroup(name: nil, members: [component]))
            }
        }
        return groups
    }
}
