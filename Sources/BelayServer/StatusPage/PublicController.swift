import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

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
        // Assets the snapshot holds besides the fixed ones (the accent stylesheet, a logo file): the pipeline's
        // `SnapshotResponder` answers them, and so must the router when a request reaches it instead.
        router.get("/assets/:name") { request, context in
            try self.serve("/assets/\(try context.parameters.require("name"))", request)
        }
        router.head("/assets/:name") { request, context in
            try self.serve("/assets/\(try context.parameters.require("name"))", request, headOnly: true)
        }
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
            guard !snapshot.pages.isEmpty else {
                throw APIError(status: .serviceUnavailable, code: "starting", message: "the status page is being built; try again in a moment")
            }
            if path.hasPrefix("/incidents/"), let notFound = snapshot.pages["not-found"] {
                return Response(status: .notFound, headers: notFound.headers, body: headOnly ? .init() : .init(byteBuffer: notFound.body))
            }
            throw APIError(status: .notFound, code: "not_found", message: "no such page")
        }
        return Self.response(page, request, headOnly: headOnly)
    }

    /// The page, gzipped when the client accepts it, or 304 when the client already has this version.
    static func response(_ page: CachedPage, _ request: Request, headOnly: Bool) -> Response {
        let (status, headers, body) = representation(
            page, acceptEncoding: request.headers[.acceptEncoding], ifNoneMatch: request.headers[.ifNoneMatch])
        guard let body, !headOnly else { return Response(status: status, headers: headers) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    /// What to send for `page`: its gzip copy when the client accepts it, and 304 without a body when the
    /// client already has this version. Shared by the router and `SnapshotResponder`.
    static func representation(_ page: CachedPage, acceptEncoding: String?, ifNoneMatch: String?) -> (HTTPResponse.Status, HTTPFields, ByteBuffer?) {
        let (body, etag, chosenHeaders) = page.variant(acceptEncoding: acceptEncoding)
        var headers = chosenHeaders
        if CachedPage.matches(etag, ifNoneMatch: ifNoneMatch) {
            headers[.contentLength] = nil
            headers[.contentEncoding] = nil
            return (.notModified, headers, nil)
        }
        return (.ok, headers, body)
    }
}
