import Foundation
import HTTPTypes
import Hummingbird

/// The public status page: every route is a dictionary look-up into the current snapshot.
struct PublicController {
    let box: SnapshotBox

    static let paths = [
        "/", "/history", "/history.atom", "/history.rss", "/assets/belay.css",
        "/api/v2/status.json", "/api/v2/summary.json", "/api/v2/components.json", "/api/v2/incidents.json",
        "/api/v2/incidents/unresolved.json", "/api/v2/scheduled-maintenances.json",
        "/api/v2/scheduled-maintenances/upcoming.json", "/api/v2/scheduled-maintenances/active.json",
    ]

    func addRoutes(to router: Router<AppRequestContext>) {
        for path in Self.paths {
            router.get(RouterPath(path)) { request, _ in try self.serve(path, request) }
            router.head(RouterPath(path)) { request, _ in try self.serve(path, request, headOnly: true) }
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
            if path.hasPrefix("/incidents/"), let notFound = snapshot.pages["/404"] {
                return Response(status: .notFound, headers: notFound.headers, body: headOnly ? .init() : .init(byteBuffer: notFound.body))
            }
            throw APIError(status: .serviceUnavailable, code: "starting", message: "the status page is being built; try again in a moment")
        }
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
