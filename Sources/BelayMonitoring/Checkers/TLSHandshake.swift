import BelayEgress
import BelayFormats
import Foundation
import NIOCore
import NIOSSL
// TLSUserEvent; NIOSSL's own dependency, in the swift-nio package already declared.
import NIOTLS

/// TLS handshakes for the TLS and HTTPS checks, and the explanation of a failed one.
struct TLSHandshake: Sendable {
    let connector: Connector

    /// Connects, completes a handshake with `context`, and returns the peer's leaf certificate.
    func certificate(host: String, port: Int, serverName: String, context: NIOSSLContext, deadline: NIODeadline) async throws -> NIOSSLCertificate? {
        let eventLoop = connector.group.next()
        let handshake = eventLoop.makePromise(of: NIOSSLCertificate?.self)
        let sniName = ServerName.sni(serverName)
        let channel: any Channel
        do {
            channel = try await connector.connect(host: host, port: port, deadline: deadline, on: eventLoop) { channel in
                do {
                    let tls = try NIOSSLClientHandler(context: context, serverHostname: sniName)
                    try channel.pipeline.syncOperations.addHandlers(tls, HandshakeObserver(handshake))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }.get()
        } catch {
            handshake.fail(error)
            throw error
        }
        defer { channel.close(promise: nil) }
        return try await handshake.futureResult.bounded(by: deadline).get()
    }

    /// Why a verified handshake failed, in words: for a certificate problem this fetches the certificate
    /// again without verification to say which ("certificate expired on 2026-11-20",
    /// "certificate does not match example.com", "certificate chain not trusted: self-signed certificate").
    func explain(_ error: any Error, host: String, port: Int, serverName: String, now: Date, deadline: NIODeadline) async -> ConnectionFailure {
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return .failed("certificate does not match \(serverName)")
        }
        guard let error = error as? NIOSSLError, case .handshakeFailed(let reason) = error else {
            return ConnectionFailure.from(error)
        }
        let handshakeFailure = ConnectionFailure.failed("TLS handshake failed: \(Self.shortReason(reason))")
        guard let unverified = try? connector.tlsContexts.context(.none),
              let leaf = try? await certificate(host: host, port: port, serverName: serverName, context: unverified, deadline: deadline)
        else { return handshakeFailure }
        let nowSeconds = time_t(now.timeIntervalSince1970)
        if leaf.notValidAfter < nowSeconds { return .failed("certificate expired on \(Wording.day(leaf.notValidAfter))") }
        if leaf.notValidBefore > nowSeconds { return .failed("certificate is not valid before \(Wording.day(leaf.notValidBefore))") }
        // A certificate that verifies against itself alone signed itself.
        if let selfTrust = try? connector.tlsContexts.trustingOnly(leaf),
           (try? await certificate(host: host, port: port, serverName: serverName, context: selfTrust, deadline: deadline)) != nil {
            return .failed("certificate chain not trusted: self-signed certificate")
        }
        return .failed("certificate chain not trusted: unknown issuer or incomplete chain")
    }

    /// "CERTIFICATE_VERIFY_FAILED" out of BoringSSL's "error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at file:line".
    static func shortReason(_ error: BoringSSLError) -> String {
        switch error {
        case .sslError(let stack), .unknownError(let stack):
            guard let first = stack.first else { return "unknown error" }
            let text = first.description
            let withoutPlace = text.range(of: " at ").map { String(text[..<$0.lowerBound]) } ?? text
            let code = withoutPlace.split(separator: ":").last.map(String.init) ?? withoutPlace
            return code.replacingOccurrences(of: "_", with: " ").lowercased()
        default:
            return "\(error)"
        }
    }
}

/// Completes a promise with the peer's leaf certificate once the handshake is done, or with the error
/// that ended it.
final class HandshakeObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let promise: EventLoopPromise<NIOSSLCertificate?>

    init(_ promise: EventLoopPromise<NIOSSLCertificate?>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self)
            promise.succeed(tls?.peerCertificate)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ConnectionFailure.failed("connection closed during the TLS handshake"))
        context.fireChannelInactive()
    }
}
