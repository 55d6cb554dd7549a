import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

public enum SMTPSecurity: String, Sendable { case startTLS = "starttls", implicitTLS = "tls", none }

public struct SMTPServer: Sendable {
    public var host: String
    public var port: Int
    public var security: SMTPSecurity
    public var username: String?
    public var password: String?
    /// The name we say in EHLO.
    public var heloName: String
    /// Extra CA certificates in PEM, trusted in addition to the system roots.
    public var trustRootsPEM: String?
    /// Bounds each wait: connecting, and each command until its reply.
    public var timeout: Duration

    public init(host: String, port: Int, security: SMTPSecurity, username: String? = nil, password: String? = nil,
                heloName: String, trustRootsPEM: String? = nil, timeout: Duration = .seconds(30)) {
        (self.host, self.port, self.security, self.username, self.password) = (host, port, security, username, password)
        (self.heloName, self.trustRootsPEM, self.timeout) = (heloName, trustRootsPEM, timeout)
    }
}

/// How one message went.
public enum SMTPOutcome: Sendable, Equatable {
    case accepted
    /// The server refused this message (4xx temporary, 5xx permanent); the connection stays usable.
    case rejected(code: Int, reply: String)

    public var isPermanent: Bool {
        if case .rejected(let code, _) = self { return code >= 500 }
        return false
    }
}

/// A connection-level failure. The description is one line and never carries credentials.
public struct SMTPError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        case configuration, connect, tls, greeting, auth, timeout, protocolError = "protocol", connectionClosed = "closed"
        case unexpectedReply = "unexpected reply"
    }
    public var kind: Kind
    /// The server's reply code, when a reply caused the failure.
    public var code: Int?
    public var message: String

    public init(_ kind: Kind, code: Int? = nil, _ message: String) { (self.kind, self.code, self.message) = (kind, code, message) }

    public var description: String { "SMTP \(kind.rawValue) error: \(message)" }
}

public typealias SMTPConnect = @Sendable (_ host: String, _ port: Int,
                                          _ initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>) async throws -> any Channel

/// What we send, and the name errors use for it (never the payload: AUTH lines carry secrets).
struct SMTPCommand: Sendable {
    var bytes: ByteBuffer?
    var label: String

    static func line(_ text: String, label: String? = nil) -> SMTPCommand {
        SMTPCommand(bytes: ByteBuffer(string: text + "\r\n"), label: label ?? String(text.prefix { $0 != " " && $0 != ":" }))
    }
}

/// Turns bytes into replies and hands each to the one command waiting for it. Lives on the event loop.
final class SMTPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var buffer = ByteBuffer()
    private var parser = SMTPReplyParser()
    private var replies: [SMTPReply] = []
    private var waiter: (promise: EventLoopPromise<SMTPReply>, timer: Scheduled<Void>)?
    private var failure: SMTPError?
    private var context: ChannelHandlerContext?
    /// NIO drops handlers when the channel closes; the session reads the reason from here afterwards.
    private let sharedFailure: NIOLockedValueBox<SMTPError?>

    init(sharedFailure: NIOLockedValueBox<SMTPError?>) { self.sharedFailure = sharedFailure }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard failure == nil else { return }
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        do {
            while let reply = try parser.parse(&buffer) {
                if let waiter {
                    self.waiter = nil
                    waiter.timer.cancel()
                    waiter.promise.succeed(reply)
                } else {
                    replies.append(reply)
                }
            }
        } catch {
            fail(error)
        }
        buffer.discardReadBytes()
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(SMTPError(.connectionClosed, "connection closed by the server"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { fail(error) }

    /// The first failure wins and sticks: after it the dialogue state is unknown, so nothing more is sent.
    private func fail(_ error: any Error) {
        let smtpError: SMTPError
        switch error {
        case let e as SMTPError: smtpError = e
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError: smtpError = SMTPError(.tls, "TLS failed: \(error)")
        default: smtpError = SMTPError(.connectionClosed, "connection failed: \(error)")
        }
        if failure == nil {
            failure = smtpError
            sharedFailure.withLockedValue { $0 = smtpError }
        }
        if let waiter {
            self.waiter = nil
            waiter.timer.cancel()
            waiter.promise.fail(failure ?? smtpError)
        }
        context?.close(promise: nil)
    }

    /// Sends `command` (if any) and waits at most `timeout` for the next reply.
    func exchange(_ command: SMTPCommand, timeout: TimeAmount, on loop: any EventLoop) -> EventLoopFuture<SMTPReply> {
        if let failure { return loop.makeFailedFuture(failure) }
        guard let context, waiter == nil else {
            return loop.makeFailedFuture(SMTPError(.protocolError, "a command is already waiting for its reply"))
        }
        if command.bytes == nil, !replies.isEmpty { return loop.makeSucceededFuture(replies.removeFirst()) }
        guard replies.isEmpty else {
            // A reply nobody asked for means we and the server disagree about the dialogue.
            fail(SMTPError(.protocolError, "server sent an unexpected reply: \(replies[0].summary)"))
            return loop.makeFailedFuture(failure ?? SMTPError(.protocolError, "unexpected reply"))
        }
        let promise = loop.makePromise(of: SMTPReply.self)
        let timer = loop.assumeIsolated().scheduleTask(in: timeout) { [self] in
            fail(SMTPError(.timeout, "no reply to \(command.label) within \(timeout.nanoseconds / 1_000_000) ms"))
        }
        waiter = (promise, timer)
        if let bytes = command.bytes { context.writeAndFlush(wrapOutboundOut(bytes), promise: nil) }
        return promise.futureResult
    }

    /// Puts TLS in front of us once the server said 220 to STARTTLS.
    func startTLS(_ tls: NIOSSLContext, host: String) throws {
        // Bytes received before the handshake were not protected by it; accepting them would allow
        // command injection (CVE-2011-0411 style), so they are a protocol error.
        guard buffer.readableBytes == 0, parser.isIdle, replies.isEmpty, let context else {
            throw SMTPError(.protocolError, "server sent data after its reply to STARTTLS")
        }
        try context.pipeline.syncOperations.addHandler(SMTPSession.tlsHandler(tls, host: host), position: .first)
    }
}

/// One SMTP connection, reused for many messages. Calls are serialized: concurrent `send`s queue up.
public actor SMTPSession {
    private let channel: any Channel
    private let server: SMTPServer
    private let tls: NIOSSLContext?
    private let connectionFailure: NIOLockedValueBox<SMTPError?>
    private var capabilities = SMTPCapabilities()
    private var encrypted: Bool
    private var broken: SMTPError?
    private var busy = false
    private var queue: [CheckedContinuation<Void, Never>] = []

    private init(channel: any Channel, server: SMTPServer, tls: NIOSSLContext?, connectionFailure: NIOLockedValueBox<SMTPError?>) {
        (self.channel, self.server, self.tls, self.connectionFailure) = (channel, server, tls, connectionFailure)
        encrypted = server.security == .implicitTLS
    }

    deinit { channel.close(promise: nil) }

    public static func open(_ server: SMTPServer, connect: @escaping SMTPConnect) async throws -> SMTPSession {
        guard !server.heloName.isEmpty, server.heloName.unicodeScalars.allSatisfy({ isAtext($0) || ".[]:".unicodeScalars.contains($0) }) else {
            throw SMTPError(.configuration, "heloName must be a domain name or address literal")
        }
        let tls: NIOSSLContext?
        do {
            tls = server.security == .none ? nil : try makeTLSContext(server)
        } catch {
            throw SMTPError(.configuration, "cannot set up TLS: \(error)")
        }
        let implicitTLS = server.security == .implicitTLS ? tls : nil
        let host = server.host
        let connectionFailure = NIOLockedValueBox<SMTPError?>(nil)
        let channel = try await withDeadline(server.timeout) {
            do {
                return try await connect(server.host, server.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let implicitTLS { try channel.pipeline.syncOperations.addHandler(tlsHandler(implicitTLS, host: host)) }
                        try channel.pipeline.syncOperations.addHandler(SMTPReplyHandler(sharedFailure: connectionFailure))
                    }
                }
            } catch {
                throw SMTPError(.connect, "cannot connect to \(server.host):\(server.port): \(error)")
            }
        }
        let session = SMTPSession(channel: channel, server: server, tls: tls, connectionFailure: connectionFailure)
        do {
            try await session.handshake()
        } catch {
            await session.close()
            throw error
        }
        return session
    }

    /// Sends one message. Problems with this message come back as `.rejected`; a thrown
    /// `SMTPError` means the connection is unusable (if thrown after the final ".", delivery is unknown).
    public func send(_ message: MailMessage) async throws -> SMTPOutcome {
        let data = try message.rendered()
        await lock()
        defer { unlock() }
        var mail = "MAIL FROM:<\(message.from.address)>"
        if capabilities.size != nil { mail += " SIZE=\(data.utf8.count)" }
        for (command, expected) in [(mail, 2), ("RCPT TO:<\(message.to.address)>", 2), ("DATA", 3)] {
            if let refusal = try await step(.line(command), expect: expected) {
                _ = try? await expect(2, from: .line("RSET"))
                return refusal
            }
        }
        let body = SMTPCommand(bytes: ByteBuffer(string: Self.dotStuffed(data) + ".\r\n"), label: "end of DATA")
        return try await step(body, expect: 2) ?? .accepted
    }

    /// Says QUIT and closes; failures are ignored because the caller is done with us anyway.
    public func close() async {
        if broken == nil {
            await lock()
            _ = try? await exchange(.line("QUIT"))
            broken = SMTPError(.connectionClosed, "session is closed")
            unlock()
        }
        try? await channel.close().get()
    }

    /// RFC 5321 4.5.2: a line starting with "." gets a second one. Works on bytes, as Character
    /// comparison would treat "." followed by a combining mark as a different character.
    static func dotStuffed(_ data: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(data.utf8.count + 64)
        var lineStart = true
        for byte in data.utf8 {
            if lineStart && byte == UInt8(ascii: ".") { out.append(byte) }
            out.append(byte)
            lineStart = byte == UInt8(ascii: "\n")
        }
        if out.suffix(2) != [13, 10] { out += [13, 10] }
        return String(decoding: out, as: UTF8.self)
    }

    static func tlsHandler(_ context: NIOSSLContext, host: String) throws -> NIOSSLClientHandler {
        // SNI cannot carry an IP address; without a name NIOSSL checks the certificate against the peer IP.
        let isIP = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        return try NIOSSLClientHandler(context: context, serverHostname: isIP ? nil : host)
    }

    private static func makeTLSContext(_ server: SMTPServer) throws -> NIOSSLContext {
        var config = TLSConfiguration.makeClientConfiguration()
        if let pem = server.trustRootsPEM {
            config.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)))]
        }
        return try NIOSSLContext(configuration: config)
    }

    private func handshake() async throws {
        let greeting = try await exchange(SMTPCommand(bytes: nil, label: "greeting"))
        guard greeting.code == 220 else {
            throw markBroken(SMTPError(.greeting, code: greeting.code, "server refused the session: \(greeting.summary)"))
        }
        capabilities = try await hello()
        if server.security == .startTLS {
            guard capabilities.startTLS else { throw SMTPError(.tls, "server does not offer STARTTLS, which is required") }
            let reply = try await exchange(.line("STARTTLS"))
            guard reply.code == 220 else { throw SMTPError(.tls, code: reply.code, "server refused STARTTLS: \(reply.summary)") }
            guard let tls else { throw SMTPError(.configuration, "no TLS context") }
            let (channel, host) = (self.channel, server.host)
            do {
                try await channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.handler(type: SMTPReplyHandler.self).startTLS(tls, host: host)
                }.get()
            } catch {
                throw markBroken(error as? SMTPError ?? SMTPError(.tls, "cannot start TLS: \(error)"))
            }
            encrypted = true
            capabilities = try await hello()
        }
        if let username = server.username { try await authenticate(username, server.password ?? "") }
    }

    private func hello() async throws -> SMTPCapabilities {
        let ehlo = try await exchange(.line("EHLO \(server.heloName)"))
        if ehlo.isPositive { return SMTPCapabilities(ehlo: ehlo) }
        guard ehlo.code >= 500 else { throw markBroken(SMTPError(.unexpectedReply, code: ehlo.code, "EHLO: \(ehlo.summary)")) }
        _ = try await expect(2, from: .line("HELO \(server.heloName)"))
        return SMTPCapabilities()
    }

    private func authenticate(_ username: String, _ password: String) async throws {
        guard encrypted || server.security == .none else {
            throw SMTPError(.auth, "refusing to send credentials over an unencrypted connection")
        }
        let b64 = { (s: String) in Data(s.utf8).base64EncodedString() }
        let plainToken = b64("\0\(username)\0\(password)")
        let secrets = [password, plainToken, b64(password)].filter { !$0.isEmpty }
        let refused = { (reply: SMTPReply) -> SMTPError in
            var text = reply.summary
            for secret in secrets { text = text.replacingOccurrences(of: secret, with: "[redacted]") }
            return SMTPError(.auth, code: reply.code, "authentication refused: \(text)")
        }
        let reply: SMTPReply
        if capabilities.authMechanisms.contains("PLAIN") {
            reply = try await exchange(.line("AUTH PLAIN \(plainToken)", label: "AUTH PLAIN"))
        } else if capabilities.authMechanisms.contains("LOGIN") {
            for step in ["AUTH LOGIN", b64(username)] {
                let challenge = try await exchange(.line(step, label: "AUTH LOGIN"))
                guard challenge.code == 334 else { throw refused(challenge) }
            }
            reply = try await exchange(.line(b64(password), label: "AUTH LOGIN"))
        } else {
            let offered = capabilities.authMechanisms.sorted().joined(separator: " ")
            throw SMTPError(.auth, "server offers no supported AUTH mechanism (PLAIN, LOGIN); offered: \(offered.isEmpty ? "none" : offered)")
        }
        guard reply.code == 235 else {
            // A 334 here means the server still wants input we will not give; the dialogue is out of step.
            throw reply.code == 334 ? markBroken(refused(reply)) : refused(reply)
        }
    }

    /// nil when the step succeeded; the outcome when the server refused the message.
    private func step(_ command: SMTPCommand, expect digit: Int) async throws -> SMTPOutcome? {
        let reply = try await exchange(command)
        if reply.code / 100 == digit { return nil }
        guard reply.code >= 400, reply.code != 421 else {
            throw markBroken(SMTPError(reply.code == 421 ? .connectionClosed : .unexpectedReply, code: reply.code, reply.summary))
        }
        return .rejected(code: reply.code, reply: SMTPReply.printable(reply.lines.joined(separator: " ")))
    }

    private func expect(_ digit: Int, from command: SMTPCommand) async throws -> SMTPReply {
        let reply = try await exchange(command)
        guard reply.code / 100 == digit else { throw markBroken(SMTPError(.unexpectedReply, code: reply.code, reply.summary)) }
        return reply
    }

    private func exchange(_ command: SMTPCommand) async throws -> SMTPReply {
        if let broken { throw broken }
        let (channel, timeout, failure) = (self.channel, TimeAmount(server.timeout), connectionFailure)
        do {
            return try await channel.eventLoop.flatSubmit {
                do {
                    let handler = try channel.pipeline.syncOperations.handler(type: SMTPReplyHandler.self)
                    return handler.exchange(command, timeout: timeout, on: channel.eventLoop)
                } catch {
                    let reason = failure.withLockedValue { $0 } ?? SMTPError(.connectionClosed, "connection is closed")
                    return channel.eventLoop.makeFailedFuture(reason)
                }
            }.get()
        } catch {
            throw markBroken(error as? SMTPError ?? SMTPError(.connectionClosed, "\(error)"))
        }
    }

    private func markBroken(_ error: SMTPError) -> SMTPError {
        if broken == nil { broken = error }
        channel.close(promise: nil)
        return error
    }

    private func lock() async {
        if busy { await withCheckedContinuation { queue.append($0) } } else { busy = true }
    }

    private func unlock() {
        if queue.isEmpty { busy = false } else { queue.removeFirst().resume() }
    }
}

/// Runs `body`, giving up after `timeout` without waiting for it; a channel it yields late is closed.
private func withDeadline(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> any Channel) async throws -> any Channel {
    let pending = NIOLockedValueBox<CheckedContinuation<any Channel, any Error>?>(nil)
    let take: @Sendable () -> CheckedContinuation<any Channel, any Error>? = { pending.withLockedValue { value in defer { value = nil }; return value } }
    return try await withCheckedThrowingContinuation { continuation in
        pending.withLockedValue { $0 = continuation }
        let timer = Task {
            try await Task.sleep(for: timeout)
            take()?.resume(throwing: SMTPError(.timeout, "no connection within \(timeout)"))
        }
        Task {
            do {
                let channel = try await body()
                if let waiting = take() { waiting.resume(returning: channel) } else { try? await channel.close().get() }
            } catch {
                take()?.resume(throwing: error)
            }
            timer.cancel()
        }
    }
}
