import NIOCore
import NIOHTTP1
import NIOSSL
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an outgoing connection or exchange failed, worded for the one-line message people read.
public enum ConnectionFailure: Error, Equatable, CustomStringConvertible {
    /// The egress policy refused every address; the full reason, naming the address.
    case refused(String)
    /// The name did not resolve: "could not resolve example.invalid (Name or service not known)".
    case unresolvable(String)
    /// The check's deadline passed.
    case timedOut
    /// Anything else: "connection refused", "connection closed before the response".
    case failed(String)

    public var description: String {
        switch self {
        case .refused(let reason): return reason
        case .unresolvable(let reason): return reason
        case .timedOut: return "timed out"
        case .failed(let reason): return reason
        }
    }

    /// Turns what NIO and NIOSSL throw into a short reason.
    public static func from(_ error: any Error) -> ConnectionFailure {
        switch error {
        case let failure as ConnectionFailure:
            return failure
        case let error as IOError:
            return .failed(describe(errno: error.errnoCode))
        case ChannelError.connectTimeout:
            return .timedOut
        case ChannelError.ioOnClosedChannel, ChannelError.alreadyClosed, ChannelError.eof:
            return .failed("connection closed")
        case NIOSSLError.uncleanShutdown:
            return .failed("the server closed the TLS connection without a close_notify")
        case let error as NIOSSLError:
            return .failed("TLS error (\(error))")
        case let error as HTTPParserError:
            return .failed("invalid HTTP response (\(error))")
        default:
            return .failed(String(describing: error))
        }
    }

    package static func describe(errno code: CInt) -> String {
        switch code {
        case ECONNREFUSED: return "connection refused"
        case ECONNRESET: return "connection reset"
        case ETIMEDOUT: return "timed out"
        case ENETUNREACH: return "network unreachable"
        case EHOSTUNREACH: return "host unreachable"
        case EPIPE: return "connection closed"
        default: return String(cString: strerror(code)).lowercased()
        }
    }
}

extension EventLoopFuture where Value: Sendable {
    /// This future, or `ConnectionFailure.timedOut` once `deadline` passes, whichever comes first.
    /// The work behind the future is not stopped; callers close what they opened.
    package func bounded(by deadline: NIODeadline) -> EventLoopFuture<Value> {
        let promise = eventLoop.makePromise(of: Value.self)
        let timer = eventLoop.scheduleTask(deadline: deadline) { promise.fail(ConnectionFailure.timedOut) }
        whenComplete { result in
            timer.cancel()
            promise.completeWith(result)
        }
        return promise.futureResult
    }
}
