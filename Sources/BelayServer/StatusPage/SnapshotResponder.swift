import HTTPTypes
import NIOCore
import NIOHTTPTypes

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

    init(box: SnapshotBox, answered: @escaping @Sendable (Int) -> Void) {
        self.box = box
        self.answered = answered
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            if owedByApp == 0, context.channel.isWritable, let page = page(for: request) {
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
        let path = target.firstIndex(where: { $0 == "?" || $0 == "#" }).map { target[..<$0] } ?? target[...]
        return box.snapshot.pages[String(path)]
    }

    private func answer(_ page: CachedPage, _ request: HTTPRequest, context: ChannelHandlerContext) {
        let (status, headers, body) = PublicController.representation(
            page, acceptEncoding: request.headerFields[.acceptEncoding], ifNoneMatch: request.headerFields[.ifNoneMatch])
        var fields = headers
        fields[.date] = HTTPDate.now
        fields[.server] = "Belay"
        let close = request.headerFields[.connection].map { $0.lowercased().contains("close") } ?? false
        if close { fields[.connection] = "close" }
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        if request.method != .head, let body { context.write(wrapOutboundOut(.body(body)), promise: nil) }
        answered(status.code)
        if close {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
            unflushed = true
        }
    }
}
