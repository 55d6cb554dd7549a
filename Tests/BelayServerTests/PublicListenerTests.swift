@testable import BelayServer
import BelayTestSupport
import Foundation
import HummingbirdTesting
import Synchronization
import Testing

/// The snapshot's pages answered inside the connection (`SnapshotResponder`) and `--public-listen`'s
/// listener, over real sockets.
@Suite struct PublicListenerTests {
    static func get(_ path: String, _ headers: String = "", close: Bool = false, method: String = "GET") -> String {
        "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n\(headers)\(close ? "Connection: close\r\n" : "")\r\n"
    }

    @Test func pipelinedRequestsAreAnsweredInOrderWhetherTheSnapshotOrTheAppAnswers() async throws {
        let harness = try await Harness.make()
        try await harness.run(live: true) { client, _ in
            let port = try #require(client.port)
            // The app's answer (health) sits between snapshot pages; every later request must wait for it.
            let responses = try await RawHTTP.exchange(
                port: port,
                [Self.get("/"), Self.get("/api/v1/health"), Self.get("/api/v2/summary.json"), Self.get("/no-such-page"),
                 Self.get("/", method: "HEAD"), Self.get("/api/v2/status.json", close: true)],
                heads: [4])
            #expect(responses.map(\.status) == [200, 200, 200, 404, 200, 200])
            #expect(responses[0].headers["content-type"]?.hasPrefix("text/html") == true)
            #expect(responses[0].text.contains("<html"))
            #expect(responses[1].text.contains("\"status\""))
            #expect(responses[2].text.contains("\"components\""))
            #expect(responses[4].body.isEmpty && responses[4].headers["content-length"] == responses[0].headers["content-length"])
            // The exchange ends only when the server closes the connection after the last request.
            #expect(responses[5].text.contains("\"indicator\""))
        }
    }

    @Test func snapshotAnswersKeepGzipETagsAndTheSecurityHeaders() async throws {
        let harness = try await Harness.make()
        try await harness.run(live: true) { client, _ in
            let port = try #require(client.port)
            let first = try #require(try await RawHTTP.exchange(port: port, [Self.get("/", "Accept-Encoding: gzip\r\n", close: true)]).first)
            #expect(first.status == 200)
            #expect(first.headers["content-encoding"] == "gzip")
            #expect(first.headers["vary"] == "Accept-Encoding")
            #expect(first.headers["x-content-type-options"] == "nosniff")
            #expect(first.headers["content-security-policy"]?.isEmpty == false)
            #expect(first.headers["server"] == "Belay")
            #expect(first.headers["date"]?.hasSuffix(" GMT") == true)
            #expect(first.body.starts(with: [0x1f, 0x8b]))
            let etag = try #require(first.headers["etag"])
            let again = try await RawHTTP.exchange(
                port: port, [Self.get("/", "Accept-Encoding: gzip\r\nIf-None-Match: \(etag)\r\n"), Self.get("/", "If-None-Match: \(etag)\r\n", close: true)])
            #expect(again.map(\.status) == [304, 200], "the gzip ETag does not match the plain page")
            #expect(again[0].body.isEmpty && again[0].headers["content-encoding"] == nil)
            #expect(again[1].headers["content-encoding"] == nil && again[1].body.count == Int(again[1].headers["content-length"] ?? ""))
        }
    }

    @Test func eachRepresentationOnOneConnectionGetsItsOwnHead() async throws {
        // The responder keeps the heads it built for a connection; a cached head must never answer
        // another representation (plain, gzip, 304 of either), and repeated headers are read together.
        let harness = try await Harness.make()
        try await harness.run(live: true) { client, _ in
            let port = try #require(client.port)
            let probe = try await RawHTTP.exchange(port: port, [Self.get("/"), Self.get("/", "Accept-Encoding: gzip\r\n", close: true)])
            let (plainTag, gzipTag) = (try #require(probe[0].headers["etag"]), try #require(probe[1].headers["etag"]))
            #expect(plainTag != gzipTag)
            let gzip = "Accept-Encoding: gzip\r\n"
            let responses = try await RawHTTP.exchange(
                port: port,
                [Self.get("/"), Self.get("/", gzip), Self.get("/", gzip + "If-None-Match: \(gzipTag)\r\n"),
                 Self.get("/", "If-None-Match: \(plainTag)\r\n"), Self.get("/", "If-None-Match: \(gzipTag)\r\n"),
                 Self.get("/", "Accept-Encoding: identity\r\nAccept-Encoding: gzip\r\n"), Self.get("/", gzip, method: "HEAD"),
                 Self.get("/"), Self.get("/", "Connection: keep-alive\r\nConnection: close\r\n")],
                heads: [6])
            #expect(responses.map(\.status) == [200, 200, 304, 304, 200, 200, 200, 200, 200])
            #expect(responses.map { $0.headers["etag"] } == [plainTag, gzipTag, gzipTag, plainTag, plainTag, gzipTag, gzipTag, plainTag, plainTag])
            #expect(responses.map { $0.headers["content-encoding"] } == [nil, "gzip", nil, nil, nil, "gzip", "gzip", nil, nil])
            #expect(responses[0].body == probe[0].body && responses[7].body == probe[0].body && responses[8].body == probe[0].body)
            #expect(responses[1].body == probe[1].body && responses[5].body == probe[1].body)
            #expect(responses[2].body.isEmpty && responses[3].body.isEmpty && responses[6].body.isEmpty)
            #expect(responses[2].headers["content-length"] == nil && responses[6].headers["content-length"] == probe[1].headers["content-length"])
            #expect(responses.allSatisfy { $0.headers["date"]?.hasSuffix(" GMT") == true && $0.headers["server"] == "Belay" })
            // The last request asked to close among its Connection headers; the exchange ends when the server does.
            #expect(responses[8].headers["connection"] == "close")
            #expect(responses[..<8].allSatisfy { $0.headers["connection"] == nil })
        }
    }

    @Test func thePublicListenerServesThePublicPagesAndNothingElse() async throws {
        let harness = try await Harness.make { $0.http.publicListen = ListenAddress(host: "127.0.0.1", port: 0) }
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        var configuration = harness.configuration
        configuration.http.port = 0
        let app = try await BelayApp.build(store: harness.database, configuration: configuration, clock: harness.clock, logger: harness.logger)
        let publicPort = Mutex<Int?>(nil)
        try await app.application(logger: harness.logger, onPublicListening: { port in publicPort.withLock { $0 = port } }).test(.live) { client in
            var waited = 0
            while publicPort.withLock({ $0 }) == nil, waited < 600 {
                try await Task.sleep(for: .milliseconds(50))
                waited += 1
            }
            let port = try #require(publicPort.withLock { $0 })
            #expect(port != client.port)
            let answers = try await RawHTTP.exchange(
                port: port,
                [Self.get("/"), Self.get("/history"), Self.get("/api/v2/summary.json"), Self.get("/history.atom"),
                 Self.get("/subscriptions/manage"), Self.get("/api/v1/health"), Self.get("/app"), Self.get("/metrics", close: true)])
            #expect(answers.count == 8)
            #expect(answers.prefix(4).map(\.status) == [200, 200, 200, 200])
            #expect(answers.suffix(3).map(\.status) == [404, 404, 404], "the API, the app and /metrics are not public")
            // The subscription pages are the app's, through the public router: a page (this link is unknown),
            // where an unrouted path gets the JSON error.
            #expect(answers[4].headers["content-type"]?.hasPrefix("text/html") == true)
            #expect(answers[5].headers["content-type"]?.hasPrefix("application/json") == true)
            // The main listener still serves everything.
            let main = try await client.execute(uri: "/api/v1/health", method: .get)
            #expect(main.status == .ok)
        }
    }

    @Test(arguments: [
        ("127.0.0.1:8081", ListenAddress(host: "127.0.0.1", port: 8081)), ("0.0.0.0:0", ListenAddress(host: "0.0.0.0", port: 0)),
        ("[::1]:9000", ListenAddress(host: "::1", port: 9000)), ("status.internal:80", ListenAddress(host: "status.internal", port: 80)),
    ])
    func listenAddressesParse(_ text: String, _ expected: ListenAddress) {
        #expect(ListenAddress(parsing: text) == expected)
        #expect(ListenAddress(parsing: expected.description) == expected)
    }

    @Test(arguments: ["8081", ":8081", "host:", "host:65536", "host:-1", "::1:80", "[::1]80", "a b:80", "host:123456"])
    func badListenAddressesAreRefused(_ text: String) {
        #expect(ListenAddress(parsing: text) == nil)
        #expect(throws: ConfigurationLoader.Invalid.self) { try ConfigurationLoader.load(flags: ["public-listen": text], environment: [:]) }
    }
}
