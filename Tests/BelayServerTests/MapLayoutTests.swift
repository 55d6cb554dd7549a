@testable import BelayServer
import Testing

/// The dependency map's layout: layers by depth, long edges bent through the layers between, and an
/// order in each layer that crosses fewer lines than the alphabetical one the map used to draw.
@Suite struct MapLayoutTests {
    /// Three layers whose alphabetical order crosses: each service of layer 1 sits on a store of layer 0
    /// listed in a different place, and `web` reaches a store two layers down.
    static let tangled: [String: [String]] = [
        "a-store": [], "b-store": [], "c-store": [], "d-store": [],
        "w-service": ["d-store"], "x-service": ["c-store"], "y-service": ["a-store"], "z-service": ["b-store", "a-store"],
        "api": ["z-service", "w-service"], "web": ["y-service", "x-service", "d-store"],
    ]

    @Test func crossingsAreCountedPairwiseBetweenAdjacentLayers() {
        // a b over x y with a→y and b→x: one crossing; with a→x and b→y: none.
        let crossed = MapLayout(layers: [[.node("a"), .node("b")], [.node("x"), .node("y")]], edges: [.init(from: "y", to: "a"), .init(from: "x", to: "b")])
        let straight = MapLayout(layers: [[.node("a"), .node("b")], [.node("x"), .node("y")]], edges: [.init(from: "x", to: "a"), .init(from: "y", to: "b")])
        #expect(crossed.crossings == 1)
        #expect(straight.crossings == 0)
    }

    @Test func theSweepsCrossFewerLinesThanTheAlphabeticalLayout() {
        let before = MapLayout.byDepth(nodes: Self.tangled)
        let after = MapLayout.make(nodes: Self.tangled)
        #expect(before.crossings >= 4, "the known graph should be tangled as drawn alphabetically: \(before.crossings)")
        #expect(after.crossings < before.crossings)
        #expect(after.crossings <= 1, "\(after.layers)")
    }

    @Test func everyNodeSitsRightOfWhatItDependsOnAndLongEdgesBend() {
        let layout = MapLayout.make(nodes: Self.tangled)
        var layerOf: [MapLayout.Vertex: Int] = [:]
        for (index, layer) in layout.layers.enumerated() { for vertex in layer { layerOf[vertex] = index } }
        #expect(Set(layerOf.keys.compactMap { if case .node(let slug) = $0 { return slug } else { return nil } }) == Set(Self.tangled.keys))
        for edge in layout.edges {
            let (from, to) = (layerOf[.node(edge.from)] ?? -1, layerOf[.node(edge.to)] ?? -1)
            #expect(from > to, "\(edge.from) should sit right of \(edge.to)")
            // One vertex per layer along the route: a bend in every layer the edge passes.
            #expect(layout.route(layout.edges.firstIndex(of: edge) ?? 0).count == from - to + 1)
        }
        #expect(layout.edges.count == Self.tangled.values.map(\.count).reduce(0, +))
    }

    @Test func aCycleStillDrawsAndTheSameMapAlwaysDrawsTheSame() {
        let cycle: [String: [String]] = ["a": ["b"], "b": ["a"], "c": ["a", "ghost"]]
        let layout = MapLayout.make(nodes: cycle)
        #expect(layout.layers.flatMap { $0 }.count >= 3)
        #expect(MapLayout.make(nodes: Self.tangled) == MapLayout.make(nodes: Self.tangled))
    }

    @Test func longNamesAreCutWithAnEllipsisToFitTheirBox() {
        #expect(MapWebController.label("API servers") == "API servers")
        let cut = MapWebController.label("Assessment platform integrations (LTI and SCORM)")
        #expect(cut.count <= 24 && cut.hasSuffix("…"))
    }

    /// A chain of 300 components each also on the root has ~45,000 bends: too many to order, so the map is
    /// drawn in depth order at once, and every edge still has one bend per layer it crosses.
    @Test func aMapTooLargeToOrderIsDrawnInDepthOrder() {
        var nodes: [String: [String]] = ["n0": []]
        for index in 1..<300 { nodes["n\(index)"] = index == 1 ? ["n0"] : ["n\(index - 1)", "n0"] }
        let layout = MapLayout.make(nodes: nodes)
        #expect(layout == MapLayout.byDepth(nodes: nodes))
        #expect(layout.layers.joined().count > MapLayout.maxOrderedVertices)
        let routes = layout.routes
        let longest = layout.edges.firstIndex(of: .init(from: "n299", to: "n0")) ?? -1
        #expect(routes.indices.contains(longest) && routes[longest].count == 300)
    }

}
