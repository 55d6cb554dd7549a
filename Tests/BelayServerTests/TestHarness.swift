import BelayCore
import BelaySQLite
import BelayServer
import BelayTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore

/// A Belay server on a real SQLite file, with one token per role, driven through HummingbirdTesting.
struct Harness: Sendable {
    let database: AppDatabase
    let directory: URL
    let configuration: ServerConfiguration
    let clock: FixedClock
    let admin: String
    let responder: String
    let viewer: String

    static func make(maxBodyBytes: Int = 1 << 20, configure: (inout ServerConfiguration) -> Void = { _ in }) async throws -> Harness {
        let (database, directory) = try Fixtures.fileDatabase()
        let clock = FixedClock(Date(timeIntervalSince1970: 1_790_000_000))
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        var configuration = ServerConfiguration()
        configuration.http.publicURL = "https://status.example.com"
        configuration.http.maxBodyBytes = maxBodyBytes
        configuration.statusPage.refreshInterval = .seconds(3600)
        configuration.sessions.passwordCost = 4  // bcrypt's minimum: the tests check behaviour, not hashing strength
        configure(&configuration)
        let admin = try await TokenSecrets.issue(name: "admin", role: .admin, store: database, now: clock.now).1
        let responder = try await TokenSecrets.issue(name: "responder", role: .responder, store: database, now: clock.now).1
        let viewer = try await TokenSecrets.issue(name: "viewer", role: .viewer, store: database, now: clock.now).1
        return Harness(database: database, directory: directory, configuration: configuration, clock: clock, admin: admin, responder: responder, viewer: viewer)
    }

    var logger: Logger {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return logger
    }

    /// Builds the app exactly as `belay serve` does and runs `body` against its router, then removes the
    /// database folder. `body` gets the status page publisher to force a rebuild when it needs one now.
    /// `live` runs a real server on a loopback port instead of the router alone, for what needs a
    /// connection (peer addresses, connection handlers).
    func run(live: Bool = false, _ body: @escaping @Sendable (any TestClientProtocol, StatusPagePublisher) async throws -> Void) async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = configuration
        if live { configuration.http.port = 0 }
        let app = try await BelayApp.build(store: database, configuration: configuration, clock: clock, logger: logger)
        let publisher = app.statusPage
        try await app.application(logger: logger).test(live ? .live : .router) { client in try await body(client, publisher) }
    }
}

extension TestClientProtocol {
    /// Sends JSON (an Encodable value, or a raw string sent as is) with a bearer token.
    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ uri: String, token: String?, json: Any? = nil, headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            if let raw = json as? String {
                body = ByteBuffer(string: raw)
            } else {
                body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
            }
        }
        return try await execute(uri: uri, method: method, headers: headers, body: body)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    func object() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            throw HarnessError.notAnObject(text)
        }
        return object
    }

    /// The `error.code` of a JSON error body, or nil when the body is not one.
    var errorCode: String? {
        ((try? object())?["error"] as? [String: Any])?["code"] as? String
    }
}

enum HarnessError: Error { case notAnObject(String) }
