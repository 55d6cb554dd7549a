import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// Renders the web app's pages. Every page is served with the same strict policy as the status page and
/// is never cached, since it shows one person's view.
struct WebRenderer: Sendable {
    let templates: MustacheLibrary
    let cssHref: String
    let jsHref: String

    struct MissingTemplate: Error {
        let name: String
    }

    /// Loads the app's templates itself, so the app shares no renderer with the status page.
    static func load(cssHref: String, jsHref: String) async throws -> WebRenderer {
        let folder = try ServerResources.directory().appendingPathComponent("Templates")
        return WebRenderer(templates: try await MustacheLibrary(directory: folder.path), cssHref: cssHref, jsHref: jsHref)
    }

    static let headers: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .contentSecurityPolicy: StatusPageBuilder.contentSecurityPolicy,
        .cacheControl: "no-store",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "same-origin",
        HTTPField.Name("X-Frame-Options")!: "DENY",
    ]

    func page(_ template: String, _ context: [String: Any], status: HTTPResponse.Status = .ok) throws -> Response {
        var context = context
        context["cssHref"] = cssHref
        context["jsHref"] = jsHref
        guard let html = templates.render(context, withTemplate: template) else {
            throw MissingTemplate(name: template)
        }
        return Response(status: status, headers: Self.headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
