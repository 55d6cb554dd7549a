import Foundation

/// Components and infrastructure nodes joined by depends-on edges. "Downstream" of a node is everything
/// that depends on it, directly or not: its blast radius.
public struct DependencyMap: Sendable {
    public struct Entry: Sendable, Equatable {
        public var slug: String
        public var name: String
        /// "component" or a node kind.
        public var kind: String
        public var isComponent: Bool
        public var dependsOn: [String]
    }

    public let entries: [String: Entry]
    /// For each slug, who depends on it.
    let dependents: [String: [String]]

    public init(components: [Component], nodes: [MapNode]) {
        var entries: [String: Entry] = [:]
        for node in nodes {
            entries[node.slug] = Entry(slug: node.slug, name: node.name, kind: node.kind.rawValue, isComponent: false, dependsOn: node.dependsOn)
        }
        for component in components {
            entries[component.slug] = Entry(slug: component.slug, name: component.name, kind: "component", isComponent: true, dependsOn: component.dependsOn)
        }
        self.entries = entries
        var dependents: [String: [String]] = [:]
        for entry in entries.values {
            for target in entry.dependsOn { dependents[target, default: []].append(entry.slug) }
        }
        self.dependents = dependents.mapValues { $0.sorted() }
    }

    /// Everything downstream of `slug` with its distance in hops and the path from `slug` to it
    /// (both ends included). Breadth first, so each path is a shortest one.
    public func downstream(of slug: String) -> [String: (distance: Int, path: [String])] {
        var result: [String: (distance: Int, path: [String])] = [slug: (0, [slug])]
        var queue = [slug]
        var index = 0
        while index < queue.count {
            let current = queue[index]
            index += 1
            let here = result[current]!
            for next in dependents[current] ?? [] where result[next] == nil {
                result[next] = (here.distance + 1, here.path + [next])
                queue.append(next)
            }
        }
        return result
    }

    /// The components downstream of `slug` (not counting itself).
    public func downstreamComponents(of slug: String) -> [String] {
        downstream(of: slug).keys.filter { $0 != slug && entries[$0]?.isComponent == true }.sorted()
    }
}
