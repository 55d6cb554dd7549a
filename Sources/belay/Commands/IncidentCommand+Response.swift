import ArgumentParser
import BelayCore
import Foundation

/// What a responder does to an incident while it runs: roles, milestones, notes, severity and visibility,
/// resolving, and reading the timeline.
extension IncidentCommand {
    /// The incident roles, as the API names them.
    enum RoleName: String, CaseIterable {
        case commander, communications, scribe
    }

    struct Assign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Assign incident roles, e.g. --commander Dana --scribe Lee (roles not named stay as they are).")
        @Argument(help: "Incident id.") var id: String
        @Option(help: "Incident commander.") var commander: String?
        @Option(help: "Communications lead.") var communications: String?
        @Option(help: "Scribe.") var scribe: String?
        @OptionGroup var client: ClientOptions

        func run() async throws {
            var roles: [String: String] = [:]
            for (role, name) in [(RoleName.commander, commander), (.communications, communications), (.scribe, scribe)] {
                guard let name else { continue }
                guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
                    throw ValidationError("--\(role.rawValue) needs a name; use 'belay incident unassign' to clear a role")
                }
                roles[role.rawValue] = name
            }
            guard !roles.isEmpty else { throw ValidationError("name at least one role: --commander, --communications or --scribe") }
            try await IncidentCommand.patchRoles(id, roles, client: client)
        }
    }

    struct Unassign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Clear incident roles, e.g. --scribe.")
        @Argument(help: "Incident id.") var id: String
        @Flag(help: "Clear the incident commander.") var commander = false
        @Flag(help: "Clear the communications lead.") var communications = false
        @Flag(help: "Clear the scribe.") var scribe = false
        @OptionGroup var client: ClientOptions

        func run() async throws {
            // An empty name clears a role (the API's RolesPatch).
            var roles: [String: String] = [:]
            if commander { roles[RoleName.commander.rawValue] = "" }
            if communications { roles[RoleName.communications.rawValue] = "" }
            if scribe { roles[RoleName.scribe.rawValue] = "" }
            guard !roles.isEmpty else { throw ValidationError("name at least one role to clear: --commander, --communications or --scribe") }
            try await IncidentCommand.patchRoles(id, roles, client: client)
        }
    }

    static func patchRoles(_ id: String, _ roles: [String: String], client: ClientOptions) async throws {
        let path = "/api/v1/incidents/\(try pathID(id))/roles"
        try await runClient {
            let data = try await client.client().send(.PATCH, path, body: roles)
            try emit(data, json: client.json) { summary(try APIClient.decode(View.self, data)) }
        }
    }

    /// The moments behind an incident's metrics; the API's names are accepted too.
    enum MilestoneName: String, CaseIterable, ExpressibleByArgument {
        case impactStarted = "impact-started", detected, acknowledged, mitigated, resolved

        var apiName: String {
            switch self {
            case .impactStarted: "impactStartedAt"
            case .detected: "detectedAt"
            case .acknowledged: "acknowledgedAt"
            case .mitigated: "mitigatedAt"
            case .resolved: "resolvedAt"
            }
        }

        init?(argument: String) {
            guard let found = Self.allCases.first(where: { $0.rawValue == argument || $0.apiName == argument }) else { return nil }
            self = found
        }
    }

    struct Milestone: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record when a milestone really happened (impact-started, detected, acknowledged, mitigated, resolved).",
            discussion: "A time more than a minute in the past is recorded as backdated on the timeline.")
        @Argument(help: "Incident id.") var id: String
        @Argument(help: "impact-started, detected, acknowledged, mitigated or resolved.") var milestone: MilestoneName
        @Option(help: "When, ISO 8601 (e.g. 2026-11-21T16:21:00Z; default now).") var at: String?
        @OptionGroup var client: ClientOptions

        struct Body: Encodable { var at: Date }

        func run() async throws {
            let moment = try at.map { try MaintenanceCommand.parseDate($0, option: "--at") } ?? Date()
            let path = "/api/v1/incidents/\(try IncidentCommand.pathID(id))/milestones/\(milestone.apiName)"
            try await runClient {
                let data = try await client.client().send(.PUT, path, body: Body(at: moment))
                try emit(data, json: client.json) {
                    "\(milestone.rawValue) at \(moment.formatted(.iso8601))\n" + IncidentCommand.summary(try APIClient.decode(View.self, data))
                }
            }
        }
    }

    struct Note: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a note to the incident's internal timeline.")
        @Argument(help: "Incident id.") var id: String
        @Option(help: "The note.") var text: String
        @Option(help: "When it happened, ISO 8601 (default now).") var at: String?
        @OptionGroup var client: ClientOptions

        struct Body: Encodable {
            var text: String
            var occurredAt: Date?
        }

        func run() async throws {
            let moment = try at.map { try MaintenanceCommand.parseDate($0, option: "--at") }
            let path = "/api/v1/incidents/\(try IncidentCommand.pathID(id))/timeline"
            try await runClient {
                let data = try await client.client().post(path, Body(text: text, occurredAt: moment))
                try emit(data, json: client.json) {
                    let entry = try APIClient.decode(Entry.self, data)
                    return "Noted on incident \(id) (entry \(entry.id)): \(entry.text)"
                }
            }
        }
    }

    /// One line of the internal timeline.
    struct Entry: Decodable {
        var id: String
        var kind: String
        var author: String
        var occurredAt: Date
        var isBackdated: Bool
        var text: String
    }

    struct Timeline: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the incident's internal timeline, oldest first.")
        @Argument(help: "Incident id.") var id: String
        @OptionGroup var client: ClientOptions

        struct Page: Decodable { var entries: [Entry] }

        func run() async throws {
            let path = "/api/v1/incidents/\(try IncidentCommand.pathID(id))/timeline"
            try await runClient {
                let data = try await client.client().get(path)
                try emit(data, json: client.json) {
                    let page = try APIClient.decode(Page.self, data)
                    return table(
                        ["WHEN", "KIND", "AUTHOR", "TEXT"],
                        page.entries.map {
                            [$0.occurredAt.formatted(.iso8601) + ($0.isBackdated ? " (backdated)" : ""), $0.kind, $0.author, $0.text]
                        })
                }
            }
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change an incident's title, severity or visibility (each change is recorded on the timeline).")
        @Argument(help: "Incident id.") var id: String
        @Option(help: "New title, as the public will read it.") var title: String?
        @Option(help: "New severity, sev1 (worst) to sev4.") var severity: Severity?
        @Flag(help: "Show it on the public status page.") var `public` = false
        @Flag(help: "Take it off the public status page.") var `internal` = false
        @OptionGroup var client: ClientOptions

        struct Body: Encodable {
            var title: String?
            var severity: Severity?
            var isPublic: Bool?
        }

        func validate() throws {
            if `public` && `internal` { throw ValidationError("--public and --internal contradict each other") }
            if title == nil && severity == nil && !`public` && !`internal` {
                throw ValidationError("nothing to change: give --title, --severity, --public or --internal")
            }
        }

        func run() async throws {
            let body = Body(title: title, severity: severity, isPublic: `public` ? true : (`internal` ? false : nil))
            let path = "/api/v1/incidents/\(try IncidentCommand.pathID(id))"
            try await runClient {
                let data = try await client.client().send(.PATCH, path, body: body)
                try emit(data, json: client.json) { IncidentCommand.summary(try APIClient.decode(View.self, data)) }
            }
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resolve an incident, with a public message if given.")
        @Argument(help: "Incident id.") var id: String
        @Option(help: "Public message (leave out to resolve without an update).") var message: String?
        @Option(help: "When it was really resolved, ISO 8601 (default now).") var at: String?
        @OptionGroup var client: ClientOptions

        struct Body: Encodable {
            var message: String?
            var at: Date?
        }

        func run() async throws {
            let moment = try at.map { try MaintenanceCommand.parseDate($0, option: "--at") }
            let path = "/api/v1/incidents/\(try IncidentCommand.pathID(id))/resolve"
            try await runClient {
                let data = try await client.client().post(path, Body(message: message, at: moment))
                try emit(data, json: client.json) { IncidentCommand.summary(try APIClient.decode(View.self, data)) }
            }
        }
    }
}
