import ArgumentParser
import Foundation

struct MaintenanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintenance", abstract: "Schedule and run maintenance windows.",
        subcommands: [Schedule.self, List.self, Start.self, Complete.self, Cancel.self])

    struct View: Decodable {
        var id: String
        var title: String
        var status: String
        var components: [String]
        var scheduledStart: Date
        var scheduledEnd: Date
    }

    static func summary(_ view: View) -> String {
        "#\(view.id) \(view.title)\n  \(view.status), \(view.scheduledStart.formatted(.iso8601)) to \(view.scheduledEnd.formatted(.iso8601))"
            + (view.components.isEmpty ? "" : "\n  affects \(view.components.joined(separator: ", "))")
    }

    static func parseDate(_ text: String, option: String) throws -> Date {
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        if let date = ISO8601DateFormatter().date(from: text) { return date }
        throw ValidationError("\(option) must be an ISO 8601 date-time such as 2026-11-21T22:00:00Z (got '\(text)')")
    }

    struct Schedule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Schedule maintenance; prints its id on the last line.")
        @Option(help: "Title shown on the status page.") var title: String
        @Option(help: "Start, ISO 8601 (e.g. 2026-11-21T22:00:00Z).") var start: String
        @Option(help: "End, ISO 8601.") var end: String
        @Option(help: "Comma-separated slugs of the affected components.") var component: String?
        @Option(help: "What will happen and what users will notice.") var description: String?
        @Flag(name: .customLong("manual"), help: "Do not start and complete on schedule; wait for 'start' and 'complete'.") var manual = false
        @OptionGroup var client: ClientOptions

        struct Body: Encodable {
            var title: String
            var description: String?
            var components: [String]
            var scheduledStart: Date
            var scheduledEnd: Date
            var autoTransitions: Bool
        }

        func run() async throws {
            let body = Body(
                title: title, description: description, components: commaList(component),
                scheduledStart: try MaintenanceCommand.parseDate(start, option: "--start"),
                scheduledEnd: try MaintenanceCommand.parseDate(end, option: "--end"), autoTransitions: !manual)
            try await runClient {
                let data = try await client.client().post("/api/v1/maintenance", body)
                let view = try APIClient.decode(View.self, data)
                try emit(data, json: client.json) { "Scheduled maintenance:\n" + MaintenanceCommand.summary(view) + "\n" + view.id }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List maintenance windows.")
        @OptionGroup var client: ClientOptions

        struct Page: Decodable { var maintenances: [View] }

        func run() async throws {
            try await runClient {
                let data = try await client.client().get("/api/v1/maintenance")
                try emit(data, json: client.json) {
                    let page = try APIClient.decode(Page.self, data)
                    if page.maintenances.isEmpty { return "No maintenance windows." }
                    return table(
                        ["ID", "STATUS", "START", "END", "TITLE"],
                        page.maintenances.map { [$0.id, $0.status, $0.scheduledStart.formatted(.iso8601), $0.scheduledEnd.formatted(.iso8601), $0.title] })
                }
            }
        }
    }

    struct MessageBody: Encodable { var message: String? }

    static func move(_ id: String, _ action: String, message: String?, client: ClientOptions) async throws {
        guard let number = Int64(id), number > 0 else { throw ValidationError("maintenance id must be a positive number (got '\(id)')") }
        try await runClient {
            let data = try await client.client().post("/api/v1/maintenance/\(number)/\(action)", MessageBody(message: message))
            try emit(data, json: client.json) { MaintenanceCommand.summary(try APIClient.decode(View.self, data)) }
        }
    }

    struct Start: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark maintenance as in progress.")
        @Argument var id: String
        @Option(help: "Public message.") var message: String?
        @OptionGroup var client: ClientOptions
        func run() async throws { try await MaintenanceCommand.move(id, "start", message: message, client: client) }
    }

    struct Complete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mark maintenance as completed.")
        @Argument var id: String
        @Option(help: "Public message.") var message: String?
        @OptionGroup var client: ClientOptions
        func run() async throws { try await MaintenanceCommand.move(id, "complete", message: message, client: client) }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel scheduled maintenance.")
        @Argument var id: String
        @Option(help: "Public message (default: 'This maintenance has been cancelled.').") var message: String?
        @OptionGroup var client: ClientOptions
        func run() async throws { try await MaintenanceCommand.move(id, "cancel", message: message, client: client) }
    }
}
