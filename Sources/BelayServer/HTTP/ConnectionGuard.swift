import BelayFormats
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTPTypes

/// Open connections per client address, shared by every connection's `ConnectionGuard`. Hummingbird has
/// no per-address limit, so without this one client could hold every file descriptor the process has.
/// Trusted proxies are exempt: all their clients arrive on their connections.
public final class ConnectionCounter: Sendable {
    public let maxPerClient: Int
    let exempt: [CIDR]
    private let open = NIOLockedValueBox<[String: Int]>([:])

    public init(maxPerClient: Int, exempt: [CIDR]) {
        self.maxPerClient = maxPerClient
        self.exempt = exempt
    }

    /// Counts a new connection from `address`; false when that address already has `maxPerClient`.
    func acquire(_ address: String) -> Bool {
        if let ip = IPAddress(parsing: address), exempt.contains(where: { $0.contains(ip) }) { return true }
        return open.withLockedValue { counts in
            let current = counts[address, default: 0]
            guard current < maxPerClient else { return false }
            counts[address] = current + 1
            return true
        }
    }

    func release(_ address: String) {
        open.withLockedValue { counts in
            guard let current = counts[address] else { return }
            if current <= 1 { counts[address] = nil } else { counts[address] = current - 1 }
        }
    }

    /// Connections open now from `address` (tests).
    public func count(_ address: String) -> Int { open.withLockedValue { $0[address, default: 0] } }
}

/// Sits in every HTTP/1 connection's pipeline: refuses a connection over its address's limit, and closes
/// one whose request body has not fully arrived `bodyTimeout` after its head. Hummingbird's idle timeout
/// already closes a connection that sends nothing or trickles its head, but any body byte counts as
/// activity there, so a body sent a byte a second would hold the connection for ever without this.
/// After a 413 the connection is closed too: the server would otherwise read the rest of a body it has
/// refused, however long the sender keeps sending.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let counter: ConnectionCounter
    private let bodyTimeout: TimeAmount
    private var address: String?
    private var deadline: Scheduled<Void>?
    /// When the head of a request whose end has not arrived yet came in.
    private var headArrived: NIODeadline?
    private var closeAfterResponse = false
    static let lingerAfterRefusal: TimeAmount = .seconds(2)

    init(counter: ConnectionCounter, bodyTimeout: TimeAmount) {
        self.counter = counter
        self.bodyTimeout = bodyTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if address == nil { admit(context) }
        context.fireChannelActive()
    }

    private func admit(_ context: ChannelHandlerContext) {
        let peer = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard counter.acquire(peer) else {
            context.close(promise: nil)
            return
        }
        address = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            deadline?.cancel()
            deadline = nil
            headArrived = .now()
        case .end:
            deadline?.cancel()
            deadline = nil
            headArrived = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // The timer starts only for a request still incomplete when a read is done: most requests arrive
        // whole in one read, and a timer scheduled and cancelled for each of them was a measurable part
        // of a status page request's cost. The deadline still counts from the head's arrival.
        if let headArrived, deadline == nil {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            deadline = context.eventLoop.scheduleTask(deadline: headArrived + bodyTimeout) { loopBound.value.close(promise: nil) }
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if head.status == .contentTooLarge { closeAfterResponse = true }
            context.write(data, promise: promise)
        case .end where closeAfterResponse:
            // A lingering close: closing at once with the refused body still arriving would make the kernel
            // answer with a reset, which can destroy the 413 before the sender reads it. So the answer is
            // sent, the sending side shut, and the connection closed a moment later whatever still comes.
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            written.futureResult.whenComplete { _ in
                let context = loopBound.value
                context.close(mode: .output, promise: nil)
                context.eventLoop.scheduleTask(in: Self.lingerAfterRefusal) { loopBound.value.close(promise: nil) }
            }
            context.writeAndFlush(data, promise: written)
        default:
            context.write(data, promise: promise)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    private func release() {
        deadline?.cancel()
        deadline = nil
        headArrived = nil
        if let address {
            counter.release(address)
            self.address = nil
        }
    }
}
