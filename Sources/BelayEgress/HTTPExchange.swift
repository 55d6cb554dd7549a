import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Where one HTTP request goes, taken apart from its URL.
package struct HTTPTarget: Sendable {
    package var url: URL
    package var isHTTPS: Bool
    /// The host as the resolver takes it: a name, or an address without brackets.
    package var host: String
    package var port: Int
    /// Path and query, as sent on the request line.
    package var requestTarget: String
    package var hostHeader: String
    /// From user:password in the URL.
    package var basicAuthorization: String?

    package init(_ url: URL) throws {
        guard let components = URLComponents(url: url, resolvingAgainstBaseURL: true),
              let scheme = components.scheme?.lowercased()
        else { throw ConnectionFailure.failed("\(url.absoluteString) is not a valid URL") }
        guard scheme == "http" || scheme == "https" else {
            throw ConnectionFailure.failed("only http and https URLs are checked, not \(scheme)")
        }
        var host = components.percentEncodedHost ?? ""
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw ConnectionFailure.failed("\(url.absoluteString) has no host") }
        self.url = url
        self.isHTTPS = scheme == "https"
        self.host = host
        let defaultPort = isHTTPS ? 443 : 80
        self.port = components.port ?? defaultPort
        guard (1...65_535).contains(port) else { throw ConnectionFailure.failed("\(url.absoluteString) has an invalid port") }
        let path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        self.requestTarget = components.percentEncodedQuery.map { "\(path)?\($0)" } ?? path
        let hostText = host.contains(":") ? "[\(host)]" : host
        self.hostHeader = port == defaultPort ? hostText : "\(hostText):\(port)"
        if let user = components.user {
            let credentials = "\(user):\(components.password ?? "")"
            self.basicAuthorization = "Basic " + Data(credentials.utf8).base64EncodedString()
        }
    }

    /// Scheme, host and port: credentials do not follow a redirect to another origin.
    package var origin: String { "\(isHTTPS ? "https" : "http")://\(hostHeader)" }
}

/// One response, with at most the first `HTTPExchange.readLimit` bytes of its body.
package struct HTTPResponse: Sendable {
    package var head: HTTPResponseHead
    package var body: ByteBuffer
    /// The body went past the read limit; the rest was not read.
    package var isTruncated: Bool
}

/// One request and its response on a fresh connection (`Connection: close`), hand-wired on NIO:
/// [TLS] -> request encoder -> response decoder -> `HTTPExchangeHandler`.
package struct HTTPExchange: Sendable {
    /// How much of a body is read; the rest is never read, so a huge or endless body costs nothing more.
    package static let readLimit = 1 << 20

    package let connector: Connector

    package init(connector: Connector) { self.connector = connector }

    package func perform(
        _ target: HTTPTarget, method: HTTPMethod, headers: HTTPHeaders, body: String?, keepBody: Bool, deadline: NIODeadline
    ) async throws -> HTTPResponse {
        let tlsContext = target.isHTTPS ? try connector.tlsContexts.context(.full) : nil
        let serverName = ServerName.sni(target.host)
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: target.requestTarget, headers: headers)
        let bodyBuffer = body.map { ByteBuffer(string: $0) }
        if let bodyBuffer {
            head.headers.replaceOrAdd(name: "Content-Length", value: String(bodyBuffer.readableBytes))
        } else if [.POST, .PUT, .PATCH].contains(method) {
            head.headers.replaceOrAdd(name: "Content-Length", value: "0")
        }
        let request = head
        let eventLoop = connector.group.next()
        let response = eventLoop.makePromise(of: HTTPResponse.self)
        let channel: any Channel
        do {
            channel = try await connector.connect(host: target.host, port: target.port, deadline: deadline, on: eventLoop) { channel in
                do {
                    let pipeline = channel.pipeline.syncOperations
                    if let tlsContext {
                        try pipeline.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: serverName))
                    }
                    try pipeline.addHandler(HTTPRequestEncoder())
                    try pipeline.addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)))
                    try pipeline.addHandler(
                        HTTPExchangeHandler(request: request, body: bodyBuffer, keepBody: keepBody, readLimit: Self.readLimit, response: response)
                    )
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }.get()
        } catch {
            response.fail(error)
            throw error
        }
        let timer = eventLoop.scheduleTask(deadline: deadline) {
            response.fail(ConnectionFailure.timedOut)
            channel.close(promise: nil)
        }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        return try await response.futureResult.get()
    }
}

/// Sends the request once the connection is up and collects the response, stopping at the read limit.
final class HTTPExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let request: HTTPRequestHead
    private let body: ByteBuffer?
    private let keepBody: Bool
    private let readLimit: Int
    private let response: EventLoopPromise<HTTPResponse>
    private var isSent = false
    private var isDone = false
    private var head: HTTPResponseHead?
    private var collected = ByteBuffer()
    private var bytesRead = 0

    init(request: HTTPRequestHead, body: ByteBuffer?, keepBody: Bool, readLimit: Int, response: EventLoopPromise<HTTPResponse>) {
        self.request = request
        self.body = body
        self.keepBody = keepBody
        self.readLimit = readLimit
        self.response = response
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { send(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context: context)
        context.fireChannelActive()
    }

    private func send(context: ChannelHandlerContext) {
        guard !isSent else { return }
        isSent = true
        context.write(wrapOutboundOut(.head(request)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isDone else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body(var part):
            let room = readLimit - bytesRead
            let take = min(room, part.readableBytes)
            bytesRead += take
            if keepBody, let slice = part.readSlice(length: take) { collected.writeImmutableBuffer(slice) }
            if bytesRead >= readLimit { finish(context: context, isTruncated: true) }
        case .end:
            finish(context: context, isTruncated: false)
        }
    }

    private func finish(context: ChannelHandlerContext, isTruncated: Bool) {
        isDone = true
        if let head {
            response.succeed(HTTPResponse(head: head, body: collected, isTruncated: isTruncated))
        } else {
            response.fail(ConnectionFailure.failed("the server sent no response head"))
        }
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Many servers end a close-delimited HTTPS body by just closing; the decoder ends the response on
        // the close that follows, and a body cut short still fails there.
        if let error = error as? NIOSSLError, error == .uncleanShutdown, head != nil { return }
        isDone = true
        response.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        response.fail(ConnectionFailure.failed(head == nil ? "connection closed before a response" : "connection closed in the middle of the response"))
        context.fireChannelInactive()
    }
}
