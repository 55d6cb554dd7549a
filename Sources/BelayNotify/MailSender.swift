import BelayCore
import BelayEgress
import BelayFormats
import Foundation
import NIOCore

/// The SMTP relay every email goes through (`--smtp-url`), configured by the operator.
public struct SMTPRelay: Sendable {
    public var server: SMTPServer
    public var from: MailAddress
    /// The status page's name, in subjects and the opt-in email.
    public var pageName: String
    /// Networks the relay may be on although the egress policy refuses them (an internal relay).
    public var allowedNetworks: [CIDR]

    public init(server: SMTPServer, from: MailAddress, pageName: String, allowedNetworks: [CIDR] = []) {
        self.server = server
        self.from = from
        self.pageName = pageName
        self.allowedNetworks = allowedNetworks
    }
}

/// Sends email deliveries over a few SMTP connections, each carrying many messages in turn.
struct MailSender: Sendable {
    let connector: Connector
    let relay: SMTPRelay?
    let connections: Int

    init(group: any EventLoopGroup, settings: NotifySettings) {
        var policy = settings.egress
        policy.allow += settings.smtp?.allowedNetworks ?? []
        connector = Connector(group: group, egress: policy)
        relay = settings.smtp
        connections = max(1, settings.smtpConnections)
        budget = .milliseconds(Int64(settings.lease * 500))
    }

    /// A session stops taking messages after this long, so a slow relay never holds a batch past its lease;
    /// the rest go back to wait (no attempt spent).
    let budget: Duration

    func send(_ batch: [Outgoing]) async -> [SendOutcome?] {
        guard let relay else { return batch.map { _ in .retry(statusCode: nil, reason: "no SMTP relay is configured (--smtp-url)", retryAfter: nil) } }
        let deadline = ContinuousClock.now + budget
        // Split into up to `connections` runs of roughly equal size, each its own session.
        let share = max(1, (batch.count + connections - 1) / connections)
        let runs = stride(from: 0, to: batch.count, by: share).map { Array(batch[$0..<min($0 + share, batch.count)]) }
        var outcomes: [SendOutcome?] = []
        await withTaskGroup(of: (Int, [SendOutcome?]).self) { group in
            for (index, run) in runs.enumerated() {
                group.addTask { (index, await self.session(run, relay: relay, deadline: deadline)) }
            }
            var byRun = [[SendOutcome?]](repeating: [], count: runs.count)
            for await (index, result) in group { byRun[index] = result }
            outcomes = byRun.flatMap { $0 }
        }
        return outcomes
    }

    /// One connection for `run`; a connection failure fails the rest of the run as retryable.
    private func session(_ run: [Outgoing], relay: SMTPRelay, deadline: ContinuousClock.Instant) async -> [SendOutcome?] {
        let connector = self.connector
        let timeout = relay.server.timeout
        let connect: SMTPConnect = { host, port, initializer in
            try await connector.connect(host: host, port: port, deadline: .now() + TimeAmount(timeout), initializer: initializer)
        }
        let session: SMTPSession
        do {
            session = try await SMTPSession.open(relay.server, connect: connect)
        } catch {
            let reason = Self.describe(error)
            return run.map { _ in .retry(statusCode: (error as? SMTPError)?.code, reason: reason, retryAfter: nil) }
        }
        var outcomes: [SendOutcome?] = []
        var broken: String?
        for item in run {
            if ContinuousClock.now > deadline {
                outcomes.append(nil)
                continue
            }
            if let broken {
                outcomes.append(.retry(statusCode: nil, reason: broken, retryAfter: nil))
                continue
            }
            guard let mail = item.mail else {
                outcomes.append(.rejected(statusCode: nil, reason: "not an email delivery"))
                continue
            }
            var worst: SendOutcome = .delivered(statusCode: 250)
            for recipient in mail.recipients {
                let message: MailMessage
                do {
                    message = MailMessage(
                        from: relay.from, to: try MailAddress(parsing: recipient), subject: mail.subject, text: mail.text, html: mail.html,
                        messageID: mail.messageID, date: Date(), extraHeaders: mail.headers)
                } catch {
                    worst = .undeliverable(reason: "the address cannot be used: \(error)")
                    continue
                }
                do {
                    switch try await session.send(message) {
                    case .accepted: break
                    case .rejected(let code, let reply):
                        let outcome = SendOutcome.smtp(code: code, reply: reply)
                        if case .delivered = worst { worst = outcome } else if case .rejected = outcome { worst = outcome }
                    }
                } catch let error as MailFormatError {
                    // This message cannot be written (nothing was sent for it); the connection is fine.
                    worst = .undeliverable(reason: "the message cannot be sent: \(error.description)")
                } catch {
                    broken = Self.describe(error)
                    worst = .retry(statusCode: (error as? SMTPError)?.code, reason: broken ?? "", retryAfter: nil)
                    break
                }
            }
            outcomes.append(worst)
        }
        await session.close()
        return outcomes
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as SMTPError: error.description
        case let error as ConnectionFailure: "could not reach the SMTP relay: \(error.description)"
        default: "SMTP error: \(ConnectionFailure.from(error).description)"
        }
    }
}
