@testable import BelayServer
import Foundation
import Testing

/// Pages are drawn from typed views only: a name a template reads from a dictionary that nobody set
/// renders as nothing, silently, and two pages' values can share a key by accident.
@Suite struct TemplateViewTests {
    /// Each surface's folder, the views it draws, and its templates that are no view's own.
    static var surfaces: [(folder: String, views: [any TemplateView.Type], shared: Set<String>)] {
        [
            ("status", StatusPageBuilder.pageViews, ["layout", "updates"]),
            ("feeds", StatusPageBuilder.feedViews, []),
            ("app", WebRenderer.views, ["layout"]),
        ]
    }

    static func templates(in folder: String) throws -> [String: String] {
        let root = try ServerResources.directory().appendingPathComponent("Templates/\(folder)")
        let paths = (FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".mustache") }
        return try Dictionary(
            uniqueKeysWithValues: paths.map { path in
                (String(path.dropLast(".mustache".count)), try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8))
            })
    }

    @Test func everyTemplateIsAViewsALayoutOrAPartial() async throws {
        for surface in Self.surfaces {
            let found = Set(try Self.templates(in: surface.folder).keys)
            let expected = Set(surface.views.map { $0.template }).union(surface.shared)
            #expect(found == expected, "\(surface.folder): templates without a view \(found.subtracting(expected).sorted()), views without a template \(expected.subtracting(found).sorted())")
        }
        let app = try await WebRenderer.load(assets: AppAssets())
        #expect(WebRenderer.views.allSatisfy { app.templates.contains($0.template) })
    }

    /// The chrome lives in one layout per surface, so a page cannot forget the header or the footer.
    @Test func everyHTMLPageInheritsItsSurfacesLayout() throws {
        for surface in Self.surfaces where surface.folder != "feeds" {
            let templates = try Self.templates(in: surface.folder)
            // Fragments fetched by a page's script (the war room's live part) have no chrome.
            for view in surface.views where surface.folder == "status" || view is any AppPage.Type {
                let text = try #require(templates[view.template])
                #expect(text.hasPrefix("{{<layout}}\n{{$content}}\n") && text.hasSuffix("{{/content}}\n{{/layout}}\n"), "\(surface.folder)/\(view.template)")
            }
            #expect(templates.filter { $0.value.contains("<!doctype html>") }.keys.sorted() == ["layout"], "\(surface.folder)")
        }
    }

    /// Rendering goes through `TemplateLibrary.render`, which takes only a `TemplateView`.
    @Test func onlyTheTemplateLibraryRendersMustache() throws {
        #expect(!((["title": "x"] as [String: Any]) as Any is any TemplateView))
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/BelayServer").standardized
        let files = (FileManager.default.enumerator(atPath: sources.path)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".swift") }
        #expect(files.count > 50, "the server's sources were not found at \(sources.path)")
        let importing = try files.filter { try String(contentsOf: sources.appendingPathComponent($0), encoding: .utf8).contains("import Mustache") }
        #expect(importing == ["Rendering/TemplateLibrary.swift"])
    }
}
