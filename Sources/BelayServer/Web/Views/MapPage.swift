import BelayCore

/// `/app/map`: the dependency map, and the blast radius of a chosen node.
struct MapPage: AppPage {
    static let template = "map"
    var chrome: AppChrome
    /// Drawn by `MapWebController.draw`, which escapes every name it places.
    var svg: String
    var nodes: [Node]
    /// Set only when a node is chosen, with the two below.
    var selectedName: String?
    var blast: [Reached]?
    /// "3 components", "1 component".
    var blastCount: String?

    struct Node {
        var slug: String
        var name: String
        var kind: String
        var selected: Bool
    }

    struct Reached {
        var name: String
        /// "1 hop", "3 hops".
        var distance: String
        var path: String
        var isComponent: Bool
    }
}

extension MapPage {
    /// `radius` is what lies downstream of `selected`, the chosen node, which it includes.
    init(chrome: AppChrome, map: DependencyMap, svg: String, selected: String?, radius: [String: (distance: Int, path: [String])]) {
        self.init(
            chrome: chrome, svg: svg,
            nodes: map.entries.values.sorted { $0.slug < $1.slug }.map {
                Node(slug: $0.slug, name: $0.name, kind: $0.kind, selected: $0.slug == selected)
            })
        guard let selected else { return }
        selectedName = map.entries[selected]?.name ?? selected
        blast = radius.filter { $0.key != selected }.sorted { ($0.value.distance, $0.key) < ($1.value.distance, $1.key) }.map {
            Reached(
                name: map.entries[$0.key]?.name ?? $0.key, distance: Plural.count($0.value.distance, "hop"), path: $0.value.path.joined(separator: " → "),
                isComponent: map.entries[$0.key]?.isComponent ?? false)
        }
        blastCount = Plural.count(map.downstreamComponents(of: selected).count, "component")
    }
}
