import Foundation
import Mustache

/// The templates of one folder, which render only `TemplateView`s.
///
/// One library per folder because a layout is named in `{{<name}}...{{/name}}`, and swift-mustache
/// cannot read a closing tag whose name has a slash in it: the layouts sit at the top of their folder,
/// where their names have none. Pages in subfolders are still found by their path (`account/sign-in`).
struct TemplateLibrary: Sendable {
    private let library: MustacheLibrary

    struct MissingTemplate: Error, CustomStringConvertible {
        let name: String
        var description: String { "no template named \(name)" }
    }

    /// Loads every `.mustache` file under `folder` and checks that each view has its template, so a
    /// missing file stops the server at start rather than failing a page later.
    static func load(_ folder: URL, views: [any TemplateView.Type]) async throws -> TemplateLibrary {
        let library = TemplateLibrary(library: try await MustacheLibrary(directory: folder.path))
        if let missing = views.first(where: { !library.contains($0.template) }) { throw MissingTemplate(name: missing.template) }
        return library
    }

    func contains(_ name: String) -> Bool {
        library.getTemplate(named: name) != nil
    }

    func render<View: TemplateView>(_ view: View) throws -> String {
        guard let text = library.render(view, withTemplate: View.template) else { throw MissingTemplate(name: View.template) }
        return text
    }
}
