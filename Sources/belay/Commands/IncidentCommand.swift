import ArgumentParser
import BelayCore
import Foundation

struct IncidentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident", abstract: "Declare and run incidents.",
        subcommands: [
            Declare.self, Update.self, List.self, Show.self, Assign.self, Unassign.self, Milestone.self, Note.self, Timeline.self, Edit.self,
            Resolve.self, Reopen.self,
        ])

    struct View: Decodable {
        struct Impact: Decodable {
            var slug: String
            var impact: String
        }
        struct Update: Decodable {
            var status: String
            var message: String
            var displayAt: Date
        }
        var id: String
        var title: String
        var severity: String
        var urgency: String
        var status: String
        var isPublic: Bool?
        var roles: [String: String]?
        var components: [Impact]
        var updates: [Update]
        var url: String
        var createdAt: Date
    }

    static func summary(_ view: View) -> String {
        let affected = view.components.map { "\($0.slug) (\($0.impact))" }.joined(separator: ", ")
        var lines = [
            "#\(view.id) \(view.title)",
            "  \(view.severity) (\(view.urgency) urgency), \(view.status)" + (affected.isEmpty ? "" : ", affects \(affected)"),
            view.isPublic == false ? "  internal (not on the status page)" : "  \(view.url)",
        ]
        let roles = RoleName.allCases.compactMap { role in view.roles?[role.rawValue].map { "\(role.rawValue) \($0)" } }
        if !roles.isEmpty { lines.append("  " + roles.joined(separator: ", ")) }
        for update in view.updates.reversed() {
            lines.append("  \(update.displayAt.formatted(.iso8601))  \(update.status): \(update.message)")
        }
        return lines.joined(separator: "\n")
    }

    struct Declare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Declare an incident; prints its id on the last line.")
        @Option(help: "What is wrong, as the public will read it.") var title: String
        @Option(help: "sev1 (worst) to sev4.") var severity: Severity
        @Option(help: "Comma-separated slugs of the affected components.") var component: String?
        @Option(help: "major_outage, partial_outage or degraded_performance (default major_outage).") var impact: Impact = .majorOutage
        @Option(help: "First public message.") var message: String?
        @Flag(help: "Keep the incident off the public status page.") var `internal` = false
        @OptionGroup var client: ClientOptions

        struct Body: Encodable {
            struct Item: Encodable {
                var slug: String
                var impact: Impact
            }
            var title: String
            var severity: Severity
            var components: [Item]
            var message: String?
            var isPublic: Bool
        }

        func run() async throws {
            try await runClient {
                let body = Body(
                    title: title, severity: severity, components: commaList(component).map { Body.Item(slug: $0, impact: impact) },
                    message: message, isPublic: !`internal`)
                let data = try await client.client().post("/api/v1/incidents", body)
                let view = try APIClient.decode(View.self, data)
                try emit(data, json: client.json) { "Declared incident:\n" + IncidentCommand.summary(view) + "\n" + view.id }
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Post a public update, optionally changing the status.")
        @Argument(help: "Incident id.") var id: String
        @Option(help: "investigating, identified, monitoring or resolved.") var status: IncidentStatus?
        @Option(help: "The public message.") var message: String
        @Flag(help: "Post without telling status page subscribers.") var noNotify = false
        @OptionGroup var client: ClientOptions

        struct Body: Encodable {
            var status: IncidentStatus?
            var message: String
            var notifySubscribers: Bool
        }

        func run() async throws {
            try await runClient {
                let body = Body(status: status, message: message, notifySubscribers: !noNotify)
                let data = try await client.client().post("/api/v1/incidents/\(IncidentCommand.pathID(id))/updates", body)
                try emit(data, json: client.json) { IncidentCommand.summary(try APIClient.decode(View.self, data)) }
            }
        }
    }

    struct Reopen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reopen a resolved incident.")
        @Argument(help: "Incident id.") var id: String
        @Option(help: "Why it is being reopened.") var reason: String?
        @OptionGroup var client: ClientOptions

        struct Body: Encodable { var reason: String? }

        func run() async throws {
            try await runClient {
                let data = try await client.client().post("/api/v1/incidents/\(IncidentCommand.pathID(id))/reopen", Body(reason: reason))
                try emit(data, json: client.json) { IncidentCommand.summary(try APIClient.decode(View.self, data)) }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one incident.")
        @Argument(help: "Incident id.") var id: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            try await runClient {
                let data = try await client.client().get("/api/v1/incidents/\(IncidentCommand.pathID(id))")
                try emit(data, json: client.json) { IncidentCommand.summary(try APIClient.decode(View.self, data)) }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List incidents, newest first.")
        @Flag(help: "Only incidents that are not resolved.") var open = false
        @OptionGroup var client: ClientOptions

        struct Page: Decodable { var incidents: [View] }

        func run() async throws {
            try await runClient {
                let data = try await client.client().get("/api/v1/incidents" + (open ? "?status=open" : ""))
                try emit(data, json: client.json) {
                    let page = try APIClient.decode(Page.self, data)
                    if page.incidents.isEmpty { return open ? "No open incidents." : "No incidents." }
                    return table(
                        ["ID", "SEVERITY", "STATUS", "DECLARED", "TITLE"],
                        page.incidents.map { [$0.id, $0.severity, $0.status, $0.createdAt.formatted(.iso8601), $0.title] })
                }
            }
        }
    }

    /// Incident ids are numbers; anything else is refused before it reaches the URL.
    static func pathID(_ id: String) throws -> String {
        guard let number = Int64(id), number > 0 else { throw ValidationError("incident id must be a positive number (got '\(id)')") }
        return String(number)
    }
}
