import Foundation
import Hummingbird

/// Unauthenticated API routes: a health check and the OpenAPI document.
struct MetaController {
    let openAPIDocument: [UInt8]

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("health") { _, _ in HealthDTO(status: "ok") }
        group.get("openapi.json") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                body: .init(byteBuffer: .init(bytes: openAPIDocument)))
        }
    }

    static func loadDocument() throws -> [UInt8] {
        Array(try Data(contentsOf: try ServerResources.directory().appendingPathComponent("openapi.json")))
    }
}
