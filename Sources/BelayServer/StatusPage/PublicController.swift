import Foundation
import HTTPTypes
import Hummingbird

/// The public status page: every route is a dictionary look-up into the current snapshot.
struct PublicController {
    let box: SnapshotBox

    static let paths = [
        "/", "/history", "/history.atom", "/history.rss", "/assets/belay.css", "/assets/app.js", "/assets/local-time.js",
        "/api/v2/status.json", "/api/v2/summary.json", "/api/v2/components.json", "/api/v2/incidents.json",
        "/api/v2/incidents/unresolved.json", "/api/v2/scheduled-maintenances.json",
        "/api/v2/scheduled-maintenances/upcoming.json", "/api/v2/scheduled-maintenances/active.json",
    ]

    func addRoutes(to router: Router<AppRequestContext>) {
        for path in Self.paths {
            router.get(RouterPath(path)) { request, _ in try self.serve(path, request) }
            router.head(RouterPath(path)) { request, _ in try self.serve(path, request, headOnly: true) }
        }
        // The icon never changes with the data, so it is served as it is rather than from each snapshot.
        router.get(RouterPath(Favicon.path)) { request, _ in Self.response(Favicon.page, request, headOnly: false) }
        router.head(RouterPath(Favicon.path)) { request, _ in Self.response(Favicon.page, request, headOnly: true) }
        router.get("/incidents/:id") { request, context in
            try self.serve("/incidents/\(try context.parameters.require("id"))", request)
        }
        router.head("/incidents/:id") { request, context in
            try self.serve("/incidents/\(try context.parameters.require("id"))", request, headOnly: true)
        }
    }

    func serve(_ path: String, _ request: Request, headOnly: Bool = false) throws -> Response {
        let snapshot = box.snapshot
        guard let page = snapshot.pages[path] else {
            if path.hasPrefix("/incidents/"), let notFound = snapshot.pages["not-found"] {
                return Response(status: .notFound, headers: notFound.headers, body: headOnly ? .init() : .init(byteBuffer: notFound.body))
            }
            throw APIError(status: .serviceUnavailable, code: "starting", message: "the status page is being built; try again in a moment")
        }
        return Self.response(page, request, headOnly: headOnly)
    }

    /// The page, gzipped when the client accepts it, or 304 when the client already has this version.
    static func response(_ page: CachedPage, _ request: Request, headOnly: Bool) -> Response {
        var (body, etag, headers) = (page.body, page.etag, page.headers)
        if let gzip = page.gzip, CachedPage.acceptsGzip(request.headers[.acceptEncoding]) {
            (body, etag, headers) = gzip
        }
        if CachedPage.matches(etag, ifNoneMatch: request.headers[.ifNoneMatch]) {
            headers[.contentLength] = nil
            headers[.contentEncoding] = nil
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: headOnly ? .init() : .init(byteBuffer: body))
    }
}

/// Answers GET and HEAD for public pages straight from the snapshot, before the router and its middleware,
/// because the status page is what a stampede of refreshing users hits. Everything else, and any path
/// the snapshot lacks, goes on to the router, which also serves these routes.
struct PublicFastPath<Next: HTTPResponder>: HTTPResponder where Next.Context == AppRequestContext {
    let box: SnapshotBox
    let next: Next

    func respond(to request: Request, context: AppRequestContext) async throws -> Response {
        let method = request.method
        if method == .get || method == .head, let page = box.snapshot.pages[request.uri.path] {
            return PublicController.response(page, request, headOnly: method == .head)
        }
        return try await next.respond(to: request, context: context)
    }
}
