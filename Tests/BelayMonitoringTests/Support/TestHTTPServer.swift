import BelayEgress
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A real HTTP(S) server on 127.0.0.1 and a random port, with a few routes the checker tests need:
///
/// - `/ok`: 200 "all systems ok"
/// - `/status/N`: status N
/// - `/slow/MS`: 200 after MS milliseconds
/// - `/hang`: never answers
/// - `/redirect/N`: 302 to `/redirect/N-1`, and `/redirect/0` is 200 "arrived"
/// - `/to?LOCATION`: 302 to the percent-decoded query (`/to-303?...`, `/to-307?...` for other statuses)
/// - `/method`: 200 with the request's method as the body
/// - `/big/N`: 200 with N bytes of "a" followed by "needle"
/// - `/headers`: 200 with the request headers, one "name: value" a line
final class TestHTTPServer: Sendable {
    let channel: any Channel
    let isTLS: Bool

    var port: Int { channel.localAddress!.port! }
    var base: String { "\(isTLS ? "https" : "http")://127.0.0.1:\(port)" }

    init(tls: NIOSSLContext? = nil) async throws {
        isTLS = tls != nil
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                do {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(TestRoutes())
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async {
        try? await channel.close()
    }
}

final class TestRoutes: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var request: HTTPRequestHead?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break
        case .end: if let request { route(request, context: context) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func route(_ request: HTTPRequestHead, context: ChannelHandlerContext) {
        let parts = request.uri.split(separator: "?", maxSplits: 1).map(String.init)
        let path = parts[0]
        let query = parts.count > 1 ? parts[1].removingPercentEncoding ?? parts[1] : ""
        let segments = path.split(separator: "/").map(String.init)
        switch (segments.first ?? "", segments.count > 1 ? segments[1] : "") {
        case ("ok", _):
            respond(.ok, body: "all systems ok", context: context)
        case ("status", let code):
            respond(HTTPResponseStatus(statusCode: Int(code) ?? 500), body: "status \(code)", context: context)
        case ("slow", let milliseconds):
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(milliseconds) ?? 0)) {
                self.respond(.ok, body: "slow ok", context: context)
            }
        case ("hang", _):
            break
        case ("redirect", let count):
            let left = Int(count) ?? 0
            if left == 0 {
                respond(.ok, body: "arrived", context: context)
            } else {
                respond(.found, headers: ["Location": "/redirect/\(left - 1)"], context: context)
            }
        case ("to", _):
            respond(.found, headers: ["Location": query], context: context)
        case ("to-303", _):
            respond(.seeOther, headers: ["Location": query], context: context)
        case ("to-307", _):
            respond(.temporaryRedirect, headers: ["Location": query], context: context)
        case ("method", _):
            respond(.ok, body: "method=\(request.method.rawValue)", context: context)
        case ("big", let size):
            respond(.ok, body: String(repeating: "a", count: Int(size) ?? 0) + "needle", context: context)
        case ("headers", _):
            respond(.ok, body: request.headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n"), context: context)
        default:
            respond(.notFound, body: "no route", context: context)
        }
    }

    private func respond(_ status: HTTPResponseStatus, headers: [String: String] = [:], body: String = "", context: ChannelHandlerContext) {
        var head = HTTPResponseHead(version: .http1_1, status: status)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        head.headers.add(name: "Content-Length", value: String(body.utf8.count))
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

extension TestHTTPServer {
    /// Runs `body` with a fresh server, and stops the server however `body` ends.
    static func with<T>(tls: NIOSSLContext? = nil, _ body: (TestHTTPServer) async throws -> T) async throws -> T {
        let server = try await TestHTTPServer(tls: tls)
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }
}
