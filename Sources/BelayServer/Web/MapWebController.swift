import BelayFormats
import BelayCore
import Foundation
import Hummingbird

/// /app/map: the dependency map drawn as SVG, with the blast radius of a chosen node highlighted, and the
/// change log beside it.
struct MapWebController {
    /// The whole store: the map page draws the dependency map with incidents and changes on it.
    let store: any BelayStore
    let clock: any WallClock
    let renderer: WebRenderer

    func addRoutes(to app: RouterGroup<AppRequestContext>) {
        app.get("map", use: mapPage)
        app.get("changes", use: changesPage)
    }

    @Sendable func mapPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.viewer, request: request)
        let map = try await store.dependencyMap()
        let selected = request.uri.queryParameters["node"].map(String.init).flatMap { map.entries[$0] != nil ? $0 : nil }
        let radius = selected.map { map.downstream(of: $0) } ?? [:]
        return try renderer.page(
            MapPage(
                chrome: AppChrome(context, title: "Dependency map"), map: map, svg: Self.draw(map, selected: selected, radius: Set(radius.keys)),
                selected: selected, radius: radius))
    }

    /// Columns by dependency depth (what depends on nothing on the left), ordered by `MapLayout` to cross
    /// few lines; an arrow from each thing to what it depends on, bending through the columns it passes.
    /// The blast radius of the selected node is highlighted. Not `role="img"`: the boxes are links, and an
    /// image's children are presentational, so the drawing is a labelled group of named links instead.
    static func draw(_ map: DependencyMap, selected: String?, radius: Set<String>) -> String {
        let layout = MapLayout.make(nodes: map.entries.mapValues { $0.dependsOn })
        let columnWidth = 230, boxWidth = 180, boxHeight = 30, rowHeight = 46, bendHeight = 14, margin = 20
        func height(_ vertex: MapLayout.Vertex) -> Int {
            if case .node = vertex { return rowHeight }
            return bendHeight
        }
        let tallest = layout.layers.map { $0.map(height).reduce(0, +) }.max() ?? rowHeight
        // The top left of each vertex's slot; each column is centred on the tallest.
        var position: [MapLayout.Vertex: (x: Int, y: Int)] = [:]
        for (column, vertices) in layout.layers.enumerated() {
            var y = margin + (tallest - vertices.map(height).reduce(0, +)) / 2
            for vertex in vertices {
                position[vertex] = (margin + column * columnWidth, y)
                y += height(vertex)
            }
        }
        let width = 2 * margin + max(0, layout.layers.count - 1) * columnWidth + boxWidth
        let total = 2 * margin + tallest - (rowHeight - boxHeight)
        var svg = "<svg class=\"map\" viewBox=\"0 0 \(width) \(total)\" width=\"\(width)\" height=\"\(total)\" role=\"group\" aria-label=\"Dependency map: \(map.entries.count) components and nodes\">"
        svg += "<defs>"
        for (id, cls) in [("arrow", "arrowhead"), ("arrow-hot", "arrowhead hot")] {
            svg += "<marker id=\"\(id)\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path class=\"\(cls)\" d=\"M0,0 L10,5 L0,10 z\"/></marker>"
        }
        svg += "</defs><g class=\"edges\" aria-hidden=\"true\">"
        let routes = layout.routes
        for index in layout.edges.indices {
            let edge = layout.edges[index]
            // From the dependent's left side, through the bends, into the dependency's right side.
            var points: [(Int, Int)] = []
            for vertex in routes[index].reversed() {
                guard let at = position[vertex] else { continue }
                switch vertex {
                case .node(let slug):
                    points.append(slug == edge.from ? (at.x, at.y + boxHeight / 2) : (at.x + boxWidth, at.y + boxHeight / 2))
                case .bend:
                    points += [(at.x + boxWidth, at.y + bendHeight / 2), (at.x, at.y + bendHeight / 2)]
                }
            }
            let hot = radius.contains(edge.from) && radius.contains(edge.to)
            let list = points.map { "\($0.0),\($0.1)" }.joined(separator: " ")
            svg += "<polyline class=\"\(hot ? "edge hot" : "edge")\" points=\"\(list)\" marker-end=\"url(#\(hot ? "arrow-hot" : "arrow"))\"/>"
        }
        svg += "</g>"
        for entry in map.entries.values.sorted(by: { $0.slug < $1.slug }) {
            guard let at = position[.node(entry.slug)] else { continue }
            var cls = entry.isComponent ? "box component" : "box node"
            if entry.slug == selected { cls += " selected" } else if radius.contains(entry.slug) { cls += " hot" }
            let name = Markup.escape("\(entry.name) (\(entry.kind))")
            let query = entry.slug.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+#"))) ?? ""
            svg += "<a href=\"/app/map?node=\(Markup.escape(query))\" aria-label=\"\(name)\"\(entry.slug == selected ? " aria-current=\"true\"" : "")><title>\(name)</title>"
            svg += "<rect class=\"\(cls)\" x=\"\(at.x)\" y=\"\(at.y)\" width=\"\(boxWidth)\" height=\"\(boxHeight)\" rx=\"4\"/>"
            svg += "<text class=\"label\" x=\"\(at.x + 8)\" y=\"\(at.y + 19)\">\(Markup.escape(Self.label(entry.name)))</text></a>"
        }
        return svg + "</svg>"
    }

    /// A name that fits its box: about 24 characters of 12 px type; a longer one ends in "…" (the box's
    /// title and the link's name give it whole).
    static func label(_ name: String, fits: Int = 24) -> String {
        name.count <= fits ? name : String(name.prefix(fits - 1)).trimmingCharacters(in: .whitespaces) + "…"
    }

    @Sendable func changesPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.viewer, request: request)
        let now = clock.now
        let changes = try await store.changes(from: now.addingTimeInterval(-30 * 86400), to: now.addingTimeInterval(86400), limit: 500)
        let freezes = try await store.freezes().filter { $0.isActive(at: now) }
        return try renderer.page(ChangesPage(chrome: AppChrome(context, title: "Changes"), changes: changes, freezes: freezes))
    }
}
