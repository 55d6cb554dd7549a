import BelayServer
import BelayTestSupport
import Foundation
import HummingbirdTesting
import Logging
import Testing

@Suite struct OpenAPITests {
    /// Every route the router serves is in openapi.json, and every operation there is served.
    @Test func theOpenAPIDocumentListsExactlyTheRoutesTheServerHas() async throws {
        let harness = try await Harness.make()
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        let app = try await BelayApp.build(store: harness.database, configuration: harness.configuration, clock: harness.clock, logger: harness.logger)
        // The document covers the JSON API and the public pages; /app is the browser app of HTML forms.
        let served = Set(app.router.routes.map { "\($0.method.rawValue) \($0.path.description)" }.filter { !$0.contains(" /app") })

        let response = try await app.application(logger: harness.logger).test(.router) { client in
            try await client.send(.get, "/api/v1/openapi.json", token: nil)
        }
        #expect(response.status == .ok)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
        #expect((document["openapi"] as? String)?.hasPrefix("3.1") == true)
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head"]
        var documented = Set<String>()
        for (path, item) in paths {
            let routerPath = path
            for method in item.keys where methods.contains(method) {
                documented.insert("\(method.uppercased()) \(routerPath)")
            }
        }
        #expect(served.subtracting(documented).sorted() == [], "served but not documented")
        #expect(documented.subtracting(served).sorted() == [], "documented but not served")
        #expect(served.count > 40)
    }
}
