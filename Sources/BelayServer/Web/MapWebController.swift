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

    /// Columns by depth (what depends on nothing on the left), nodes stacked in each column, an arrow-less
    /// line from each thing to what it depends on. The blast radius of the selected node is highlighted.
    static func draw(_ map: DependencyMap, selected: String?, radius: Set<String>) -> String {
        var depth: [String: Int] = [:]
        func level(_ slug: String, _ seen: Set<String> = []) -> Int {
            if let known = depth[slug] { return known }
            let deps = (map.entries[slug]?.dependsOn ?? []).filter { map.entries[$0] != nil && !seen.contains($0) }
            let value = deps.map { level($0, seen.union([slug])) }.max().map { $0 + 1 } ?? 0
            depth[slug] = value
            return value
        }
        for slug in map.entries.keys { _ = level(slug) }
        let columns = Dictionary(grouping: map.entries.keys.sorted(), by: { depth[$0] ?? 0 })
        let columnWidth = 190, rowHeight = 46, boxWidth = 160, boxHeight = 30
        var position: [String: (x: Int, y: Int)] = [:]
        for (column, slugs) in columns {
            for (row, slug) in slugs.enumerated() { position[slug] = (20 + column * columnWidth, 20 + row * rowHeight) }
        }
        let width = 40 + (columns.keys.max() ?? 0) * columnWidth + boxWidth
        let height = 40 + (columns.values.map(\.count).max() ?? 1) * rowHeight
        var svg = "<svg class=\"map\" viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"Dependency map: \(map.entries.count) components and nodes\">"
        for entry in map.entries.values.sorted(by: { $0.slug < $1.slug }) {
            guard let from = position[entry.slug] else { continue }
            for dependency in entry.dependsOn {
                guard let to = position[dependency] else { continue }
                let hot = radius.contains(entry.slug) && radius.contains(dependency)
                svg += "<line class=\"\(hot ? "edge hot" : "edge")\" x1=\"\(to.x + boxWidth)\" y1=\"\(to.y + boxHeight / 2)\" x2=\"\(from.x)\" y2=\"\(from.y + boxHeight / 2)\"/>"
            }
        }
        for entry in map.entries.values.sorted(by: { $0.slug < $1.slug }) {
            guard let at = position[entry.slug] else { continue }
            var cls = entry.isComponent ? "box component" : "box node"
            if entry.slug == selected { cls += " selected" } else if radius.contains(entry.slug) { cls += " hot" }
            let label = Markup.escape(String(entry.name.prefix(24)))
            svg += "<a href=\"/app/map?node=\(entry.slug)\"><rect class=\"\(cls)\" x=\"\(at.x)\" y=\"\(at.y)\" width=\"\(boxWidth)\" height=\"\(boxHeight)\" rx=\"4\"><title>\(Markup.escape(entry.name)) (\(entry.kind))</title></rect>"
            svg += "<text class=\"label\" x=\"\(at.x + 8)\" y=\"\(at.y + 19)\">\(label)</text></a>"
        }
        return svg + "</svg>"
    }

    @Sendable func changesPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.viewer, request: request)
        let now = clock.now
        let changes = try await store.changes(from: now.addingTimeInterval(-30 * 86400), to: now.addingTimeInterval(86400), limit: 500)
        let freezes = try await store.freezes().filter { $0.isActive(at: now) }
        return try renderer.page(ChangesPage(chrome: AppChrome(context, title: "Changes"), changes: changes, freezes: freezes))
    }
}
