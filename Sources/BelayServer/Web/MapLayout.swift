/// Where each node of the dependency map sits: a layered drawing (Sugiyama's scheme) that crosses few lines.
///
/// Layer 0 holds what depends on nothing; every other node sits one layer right of its deepest dependency.
/// An edge that spans several layers gets a bend point in each layer between, so it is routed around
/// the boxes and takes part in the ordering. The order inside each layer comes from barycenter sweeps:
/// each vertex moves to the mean position of its neighbours in the layer just placed, left to right and
/// back, and the order with the fewest crossings seen is kept. Pure: the same map always draws the same.
struct MapLayout: Equatable {
    /// A slot in a layer: a node, or the bend of edge `edge` (an index into `edges`) in that layer.
    enum Vertex: Hashable {
        case node(String)
        case bend(edge: Int, layer: Int)
    }

    /// `from` depends on `to`.
    struct Edge: Hashable {
        var from: String
        var to: String
    }

    var layers: [[Vertex]]
    var edges: [Edge]

    /// The vertices each edge passes through, from its dependency (`to`, left) to its dependent (`from`).
    /// An edge inside one layer (only a cycle makes one) is a direct segment.
    func route(_ index: Int) -> [Vertex] {
        routes[index]
    }

    /// Every edge's route, from one pass over the layers (bends are met in layer order), so drawing and
    /// counting stay linear in the vertices rather than searching all layers for each edge.
    var routes: [[Vertex]] {
        var bends = Array(repeating: [Vertex](), count: edges.count)
        for layer in layers {
            for vertex in layer { if case .bend(let edge, _) = vertex, bends.indices.contains(edge) { bends[edge].append(vertex) } }
        }
        return edges.indices.map { [.node(edges[$0].to)] + bends[$0] + [.node(edges[$0].from)] }
    }

    /// The segments between adjacent layers, each as (left vertex, right vertex).
    var segments: [(Vertex, Vertex)] {
        routes.flatMap { path in zip(path, path.dropFirst()).map { ($0, $1) } }
    }

    /// How many pairs of segments cross: two segments between the same pair of layers cross when their
    /// ends are in opposite orders (shared ends do not count).
    var crossings: Int {
        var index: [Vertex: (layer: Int, row: Int)] = [:]
        for (layer, vertices) in layers.enumerated() {
            for (row, vertex) in vertices.enumerated() { index[vertex] = (layer, row) }
        }
        var byGap: [Int: [(Int, Int)]] = [:]
        for (left, right) in segments {
            guard let a = index[left], let b = index[right] else { continue }
            let (l, r) = a.layer <= b.layer ? (a, b) : (b, a)
            guard r.layer == l.layer + 1 else { continue }
            byGap[l.layer, default: []].append((l.row, r.row))
        }
        var count = 0
        for pairs in byGap.values {
            for i in pairs.indices {
                for j in pairs.indices where j > i {
                    let (a, b) = (pairs[i], pairs[j])
                    if (a.0 - b.0) * (a.1 - b.1) < 0 { count += 1 }
                }
            }
        }
        return count
    }

    /// Layers by dependency depth, each in the order of `slugs` (sorted), bends last: the map as it was
    /// drawn before the ordering, kept to measure what the sweeps gain.
    static func byDepth(nodes: [String: [String]]) -> MapLayout {
        let slugs = nodes.keys.sorted()
        let depth = depths(nodes)
        let edges = slugs.flatMap { slug in (nodes[slug] ?? []).filter { nodes[$0] != nil }.map { Edge(from: slug, to: $0) } }
        var layers = Array(repeating: [Vertex](), count: (depth.values.max() ?? 0) + 1)
        for slug in slugs { layers[depth[slug] ?? 0].append(.node(slug)) }
        for (index, edge) in edges.enumerated() {
            let (low, high) = (depth[edge.to] ?? 0, depth[edge.from] ?? 0)
            if high > low + 1 { for layer in (low + 1)..<high { layers[layer].append(.bend(edge: index, layer: layer)) } }
        }
        return MapLayout(layers: layers, edges: edges)
    }

    /// `nodes` maps each slug to the slugs it depends on (unknown slugs are ignored).
    /// Above this many vertices (nodes and bends) the sweeps are skipped; real maps have tens.
    static let maxOrderedVertices = 600

    static func make(nodes: [String: [String]], sweeps: Int = 12) -> MapLayout {
        var layout = byDepth(nodes: nodes)
        var neighbours: [Vertex: [Vertex]] = [:]
        for (left, right) in layout.segments where left != right {
            neighbours[left, default: []].append(right)
            neighbours[right, default: []].append(left)
        }
        // Counting crossings is quadratic per gap: a map too large for that keeps the depth order, drawn at once.
        guard layout.layers.joined().count <= maxOrderedVertices else { return layout }
        var best = layout
        var fewest = layout.crossings
        for sweep in 0..<sweeps where fewest > 0 {
            let forward = sweep % 2 == 0
            let order = forward ? Array(layout.layers.indices.dropFirst()) : Array(layout.layers.indices.dropLast().reversed())
            for layer in order {
                let fixed = forward ? layer - 1 : layer + 1
                var row: [Vertex: Int] = [:]
                for (position, vertex) in layout.layers[fixed].enumerated() { row[vertex] = position }
                let current = layout.layers[layer]
                let keys: [Vertex: Double] = Dictionary(
                    uniqueKeysWithValues: current.enumerated().map { position, vertex in
                        let placed = (neighbours[vertex] ?? []).compactMap { row[$0] }
                        // A vertex with no neighbour on that side keeps its place.
                        return (vertex, placed.isEmpty ? Double(position) : Double(placed.reduce(0, +)) / Double(placed.count))
                    })
                let positions = Dictionary(uniqueKeysWithValues: current.enumerated().map { ($1, $0) })
                // Ties keep the current order, so a sweep never shuffles what it cannot improve.
                layout.layers[layer] = current.sorted { (keys[$0] ?? 0, positions[$0] ?? 0) < (keys[$1] ?? 0, positions[$1] ?? 0) }
            }
            let count = layout.crossings
            if count < fewest {
                best = layout
                fewest = count
            }
        }
        return best
    }

    /// Each slug's layer: one more than its deepest dependency's. A cycle (which the map's rules refuse)
    /// is cut where it is met, so a bad map still draws.
    static func depths(_ nodes: [String: [String]]) -> [String: Int] {
        var depth: [String: Int] = [:]
        func level(_ slug: String, _ seen: Set<String>) -> Int {
            if let known = depth[slug] { return known }
            let deps = (nodes[slug] ?? []).filter { nodes[$0] != nil && !seen.contains($0) }
            let value = deps.map { level($0, seen.union([slug])) }.max().map { $0 + 1 } ?? 0
            depth[slug] = value
            return value
        }
        for slug in nodes.keys.sorted() { _ = level(slug, [slug]) }
        return depth
    }
}
