import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Answers GET and HEAD for the snapshot's pages inside the connection's pipeline, on its event loop,
/// without a task, a `Request` or the router: the status page is what a stampede of refreshing users
/// hits, and per-request work above NIO was most of its cost. Everything else goes on to the app.
///
/// Responses on a connection leave in the order their requests came (HTTP/1.1 pipelining): while the app
/// owes an answer, later requests go to the app too, which answers in order. A connection whose socket
/// is full also goes to the app, whose writer waits for the reader, so a client that sends requests but
/// never reads cannot make this handler buffer responses without bound.
final class SnapshotResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let box: SnapshotBox
    private let answered: @Sendable (Int) -> Void
    /// Requests handed to the app whose response has not ended yet.
    private var owedByApp = 0
    /// The parts of the current request go to the app.
    private var forwarding = false
    /// The current request is answered here once its end arrives.
    private var answering: (page: CachedPage, request: HTTPRequest)?
    private var unflushed = false
    /// The HTTP/1 codec's context: a response head written there goes to the encoder as it is (see `answer`).
    /// Without one (a pipeline this handler was not made for) every request goes on to the app.
    private var codec: ChannelHandlerContext?
    /// Response heads built for this connection, by ETag (which covers a page's headers as well as its bytes, so one
    /// tag is one head whatever the path) and whether it is a 304, with the second their `Date` names.
    private var heads: [HeadKey: (second: Int, head: HTTPResponseHead)] = [:]
    private struct HeadKey: Hashable {
        let etag: String
        let notModified: Bool
    }
    static let headsPerConnection = 32

    init(box: SnapshotBox, answered: @escaping @Sendable (Int) -> Void) {
        self.box = box
        self.answered = answered
    }

    func handlerAdded(context: ChannelHandlerContext) {
        codec = try? context.pipeline.syncOperations.context(handlerType: HTTP1ToHTTPServerCodec.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        codec = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            if owedByApp == 0, codec != nil, context.channel.isWritable, let page = page(for: request) {
                answering = (page, request)
                forwarding = false
            } else {
                answering = nil
                forwarding = true
                owedByApp += 1
                context.fireChannelRead(data)
            }
        case .body:
            // A body sent with a GET has no meaning here; it is read and dropped.
            if forwarding { context.fireChannelRead(data) }
        case .end:
            if forwarding {
                context.fireChannelRead(data)
            } else if let pending = answering {
                answering = nil
                answer(pending.page, pending.request, context: context)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // One flush for every response a read produced (pipelined requests arrive in one read).
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), owedByApp > 0 { owedByApp -= 1 }
        context.write(data, promise: promise)
    }

    private func page(for request: HTTPRequest) -> CachedPage? {
        guard request.method == .get || request.method == .head, let target = request.path else { return nil }
        // The target itself when it has no query: no new string for each request.
        guard let end = target.utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) else {
            return box.snapshot.pages[target]
        }
        return box.snapshot.pages[String(target[..<end])]
    }

    private func answer(_ page: CachedPage, _ request: HTTPRequest, context: ChannelHandlerContext) {
        let asked = Asked(request.headerFields)
        // The head and body go straight to the HTTP/1 encoder from the codec's context, skipping the
        // conversion from HTTP types (the codec keeps no state, so nothing misses them); the head is built
        // once a second per representation for this connection. The end still passes the handlers between
        // here and the codec, so the connection-state handler sees the response finish.
        let chosen = page.variant(acceptEncoding: asked.acceptEncoding)
        let notModified = CachedPage.matches(chosen.etag, ifNoneMatch: asked.ifNoneMatch)
        let head = responseHead(page, asked, key: HeadKey(etag: chosen.etag, notModified: notModified))
        codec?.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        if request.method != .head, !notModified {
            codec?.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(chosen.body))), promise: nil)
        }
        answered(notModified ? 304 : 200)
        if asked.close {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
            unflushed = true
        }
    }

    private func responseHead(_ page: CachedPage, _ asked: Asked, key: HeadKey) -> HTTPResponseHead {
        let second = time(nil)
        if !asked.close, let cached = heads[key], cached.second == second { return cached.head }
        // Built as `PublicController` answers the page, with the headers only this path adds.
        let (status, headers, _) = PublicController.representation(page, acceptEncoding: asked.acceptEncoding, ifNoneMatch: asked.ifNoneMatch)
        var fields = headers
        fields[.date] = HTTPDate.now
        fields[.server] = "Belay"
        if asked.close { fields[.connection] = "close" }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status.code, reasonPhrase: status.reasonPhrase), headers: HTTPHeaders(fields))
        if !asked.close {
            if heads.count >= Self.headsPerConnection { heads.removeAll(keepingCapacity: true) }
            heads[key] = (second, head)
        }
        return head
    }

    /// The request headers an answer depends on, read in one pass: looking each up by name joins its
    /// values into a new string, three times per request.
    private struct Asked {
        var acceptEncoding: String?
        var ifNoneMatch: String?
        var close = false

        init(_ fields: HTTPFields) {
            var connection: String?
            for field in fields {
                switch field.name {
                case .acceptEncoding: acceptEncoding = acceptEncoding.map { $0 + ", " + field.value } ?? field.value
                case .ifNoneMatch: ifNoneMatch = ifNoneMatch.map { $0 + ", " + field.value } ?? field.value
                case .connection: connection = connection.map { $0 + ", " + field.value } ?? field.value
                default: break
                }
            }
            close = connection.map { $0.lowercased().contains("close") } ?? false
        }
    }
}
