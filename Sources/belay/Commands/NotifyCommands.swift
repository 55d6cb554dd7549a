import ArgumentParser
import BelayCore
import Foundation

/// `belay channel add|list|test`: where the team's notifications go.
struct ChannelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channel", abstract: "Notification channels: webhooks, chat rooms and email.", subcommands: [Add.self, List.self, Test.self])

    struct View: Decodable {
        var id: String
        var name: String
        var kind: String
        var url: String?
        var recipients: [String]?
        var topics: [String]
        var enabled: Bool
        var disabledReason: String?
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a channel; a webhook channel's signing secret is printed once.")
        @Option(help: "A name people recognise, e.g. '#incidents'.") var name: String
        @Option(help: "webhook, slack, teams, discord or email.") var kind: NotificationChannel.Kind
        @Option(name: .customLong("webhook-url"), help: "The receiver's URL (all kinds but email).") var webhookURL: String?
        @Option(help: "Comma-separated email addresses (email).") var recipients: String?
        @Option(help: "Comma-separated topics (default: all), e.g. incident.declared,incident.resolved.") var topics: String?
        @Option(help: "Comma-separated severities (default: all), e.g. sev1,sev2.") var severities: String?
        @Option(help: "Comma-separated component slugs (default: all).") var components: String?
        @Option(help: "A private network this channel may reach, e.g. 10.1.2.3/32 for an on-premises Mattermost.") var allow: String?
        @OptionGroup var client: ClientOptions

        struct Body: Encodable {
            var name: String
            var kind: NotificationChannel.Kind
            var url: String?
            var recipients: [String]?
            var topics: [String]?
            var severities: [String]?
            var components: [String]?
            var allowedNetworks: [String]?
        }

        struct Answer: Decodable {
            var channel: View
            var secret: String?
        }

        func run() async throws {
            try await runClient {
                let body = Body(
                    name: name, kind: kind, url: webhookURL, recipients: recipients.map(commaList), topics: topics.map(commaList),
                    severities: severities.map(commaList), components: components.map(commaList), allowedNetworks: allow.map(commaList))
                let data = try await client.client().post("/api/v1/channels", body)
                try emit(data, json: client.json) {
                    let answer = try APIClient.decode(Answer.self, data)
                    var text = "Added channel \(answer.channel.id): \(answer.channel.name) (\(answer.channel.kind))"
                    if let secret = answer.secret { text += "\nSigning secret (shown once; receivers verify webhook-signature with it):\n\(secret)" }
                    return text
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List channels.")
        @OptionGroup var client: ClientOptions

        struct Page: Decodable { var channels: [View] }

        func run() async throws {
            try await runClient {
                let data = try await client.client().get("/api/v1/channels")
                try emit(data, json: client.json) {
                    let page = try APIClient.decode(Page.self, data)
                    if page.channels.isEmpty { return "No channels." }
                    return table(
                        ["ID", "KIND", "NAME", "TO", "STATE"],
                        page.channels.map {
                            [$0.id, $0.kind, $0.name, $0.url ?? ($0.recipients ?? []).joined(separator: ","),
                             $0.enabled ? "on" : "off" + ($0.disabledReason.map { ": \($0)" } ?? "")]
                        })
                }
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send a test message to a channel and wait for the outcome.")
        @Argument(help: "Channel id.") var id: String
        @Option(help: "Seconds to wait for the delivery (default 30).") var wait: Int = 30
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await runClient {
                let api = try client.client()
                var data = try await api.post("/api/v1/channels/\(try pathID(id))/test", [String: String]())
                var view = try APIClient.decode(DeliveryCommand.View.self, data)
                let deadline = Date().addingTimeInterval(TimeInterval(max(0, wait)))
                while view.state == "pending" || view.state == "sending" || (view.state == "failed" && view.attemptCount == 0), Date() < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                    data = try await api.get("/api/v1/deliveries/\(view.id)")
                    view = try APIClient.decode(DeliveryCommand.View.self, data)
                }
                try emit(data, json: client.json) { "Delivery \(view.id): \(view.state)" + (view.lastError.map { " (\($0))" } ?? "") }
                if view.state != "delivered" { throw ExitCode(1) }
            }
        }
    }
}

/// `belay delivery list [--failed]`.
struct DeliveryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delivery", abstract: "What Belay sent, and what it could not.", subcommands: [List.self])

    struct View: Decodable {
        var id: String
        var state: String
        var topic: String
        var transport: String
        var channel: String?
        var subscriber: String?
        var attemptCount: Int
        var lastError: String?
        var createdAt: Date
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deliveries, newest first.")
        @Flag(help: "Only failed and dead deliveries.") var failed = false
        @Option(help: "How many (1-1000, default 50).") var limit: Int = 50
        @OptionGroup var client: ClientOptions

        struct Page: Decodable { var deliveries: [View] }

        func run() async throws {
            try await runClient {
                guard (1...1000).contains(limit) else { throw ValidationError("--limit must be 1-1000") }
                let data = try await client.client().get("/api/v1/deliveries?limit=\(limit)" + (failed ? "&state=failed,dead" : ""))
                try emit(data, json: client.json) {
                    let page = try APIClient.decode(Page.self, data)
                    if page.deliveries.isEmpty { return failed ? "No failed deliveries." : "No deliveries." }
                    return table(
                        ["ID", "STATE", "TOPIC", "TO", "ATTEMPTS", "ERROR"],
                        page.deliveries.map {
                            [$0.id, $0.state, $0.topic, $0.channel.map { "channel \($0)" } ?? "subscriber \($0.subscriber ?? "?")", String($0.attemptCount),
                             $0.lastError ?? ""]
                        })
                }
            }
        }
    }
}

/// `belay subscriber list|import|export`.
struct SubscriberCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscriber", abstract: "Status page subscribers.", subcommands: [List.self, Import.self, Export.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List subscribers.")
        @Option(help: "pending, confirmed, unsubscribed or stopped.") var state: String?
        @OptionGroup var client: ClientOptions

        struct View: Decodable {
            var id: String
            var kind: String
            var address: String
            var components: [String]
            var state: String
        }
        struct Page: Decodable { var subscribers: [View] }

        func run() async throws {
            try await runClient {
                let query = state.map { "?state=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" } ?? ""
                let data = try await client.client().get("/api/v1/subscribers" + query)
                try emit(data, json: client.json) {
                    let page = try APIClient.decode(Page.self, data)
                    if page.subscribers.isEmpty { return "No subscribers." }
                    return table(
                        ["ID", "KIND", "ADDRESS", "STATE", "COMPONENTS"],
                        page.subscribers.map { [$0.id, $0.kind, $0.address, $0.state, $0.components.isEmpty ? "all" : $0.components.joined(separator: ",")] })
                }
            }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import subscribers from a CSV file (Belay's export or Atlassian Statuspage's); unconfirmed rows get an opt-in email.")
        @Argument(help: "The CSV file.") var file: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await runClient {
                let bytes = try FailureMessage.readFile(file, option: "subscriber import")
                let data = try await client.client().send(.POST, "/api/v1/subscribers/import", raw: (bytes, "text/csv"))
                try emit(data, json: client.json) {
                    struct Result: Decodable {
                        var imported: Int
                        var confirmed: Int
                        var pendingConfirmation: Int
                        var skipped: Int
                        var errors: [String]
                    }
                    let result = try APIClient.decode(Result.self, data)
                    return (["Imported \(result.imported) (\(result.confirmed) confirmed, \(result.pendingConfirmation) sent an opt-in), skipped \(result.skipped)."]
                        + result.errors).joined(separator: "\n")
                }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write every subscriber as CSV to standard output.")
        @OptionGroup var client: ServerOptions

        func run() async throws {
            try await runClient {
                let data = try await client.client().get("/api/v1/subscribers/export")
                FileHandle.standardOutput.write(data)
            }
        }
    }
}

private func pathID(_ id: String) throws -> String {
    guard let number = Int64(id), number > 0 else { throw ValidationError("the id must be a positive number (got '\(id)')") }
    return String(number)
}
extension NotificationChannel.Kind: ExpressibleByArgument {}
