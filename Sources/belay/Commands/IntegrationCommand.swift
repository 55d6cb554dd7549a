import ArgumentParser
import BelayCore
import Foundation

/// `belay integration add|list|show|edit|rotate-key|delete`: senders of alerts (Alertmanager, PagerDuty
/// clients, generic JSON), each with its own key (needs an admin token).
struct IntegrationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "integration", abstract: "Alert integrations: Alertmanager, PagerDuty Events v2 and generic events (needs an admin token).",
        subcommands: [Add.self, List.self, Show.self, Edit.self, RotateKey.self, Delete.self])

    struct View: Decodable {
        struct Routing: Decodable {
            var defaultComponents: [String]?
            var defaultSeverity: String?
            var rules: [Rule]?
        }
        struct Rule: Decodable {}
        var id: Int64
        var name: String
        var kind: String
        var keyHint: String
        var routing: Routing
        var publicIncidents: Bool
        var enabled: Bool
        var eventCount: Int
    }

    /// An integration with its key, shown once.
    struct Secret: Decodable {
        struct URLs: Decodable {
            var alertmanager: String
            var events: String
            var pagerduty: String
        }
        var integration: View
        var key: String
        var urls: URLs
    }

    static func summary(_ view: View) -> String {
        let components = view.routing.defaultComponents ?? []
        return "\(view.id) \(view.name) (\(view.kind)), key \(view.keyHint)..., " + (view.enabled ? "enabled" : "disabled")
            + "\n  default components: " + (components.isEmpty ? "none" : components.joined(separator: ", "))
            + ", severity \(view.routing.defaultSeverity ?? "sev2"), \(view.routing.rules?.count ?? 0) rules"
            + "\n  its incidents are " + (view.publicIncidents ? "public at once" : "internal until someone makes them public")
    }

    static func secretSummary(_ data: Data, verb: String) throws -> String {
        let secret = try APIClient.decode(Secret.self, data)
        return """
            \(verb) integration \(summary(secret.integration))
            Send alerts to (the key is shown only once):
              Alertmanager: \(secret.urls.alertmanager)
              generic JSON: \(secret.urls.events)
              PagerDuty Events v2: \(secret.urls.pagerduty) with routing_key \(secret.key)
            \(secret.key)
            """
    }

    static func pathID(_ id: String) throws -> String {
        guard let number = Int64(id), number > 0 else { throw ValidationError("an integration id is a positive number (got '\(id)')") }
        return String(number)
    }

    /// Routing rules from a JSON file: an array of {"match": {...}, "components": [...], "severity": "sev1"}.
    static func readRules(_ path: String) throws -> Any {
        let bytes = try FailureMessage.readFile(path, option: "--rules-file")
        guard let rules = try? JSONSerialization.jsonObject(with: bytes), rules is [Any] else {
            throw ValidationError("--rules-file: \(path) must hold a JSON array of rules ({\"match\": {...}, \"components\": [...]})")
        }
        return rules
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an integration; prints its addresses and, alone on the last line, its key (shown only once).")
        @Option(help: "A name to recognise it by, e.g. prometheus.") var name: String
        @Option(help: "alertmanager, pagerduty or generic (default generic; any key works at every address).") var kind: IntegrationKind?
        @Option(help: "Comma-separated slugs of the components its alerts affect when no rule matches.") var component: String?
        @Option(help: "Severity of its incidents when no rule says (default sev2).") var severity: Severity?
        @Option(name: .customLong("rules-file"), help: "JSON file with an array of routing rules.") var rulesFile: String?
        @Flag(name: .customLong("public-incidents"), help: "Its incidents appear on the status page at once.") var publicIncidents = false
        @OptionGroup var client: ClientOptions

        func run() async throws {
            var routing: [String: Any] = ["defaultComponents": commaList(component)]
            if let severity { routing["defaultSeverity"] = severity.rawValue }
            if let rulesFile { routing["rules"] = try IntegrationCommand.readRules(rulesFile) }
            var body: [String: Any] = ["name": name, "routing": routing, "publicIncidents": publicIncidents]
            if let kind { body["kind"] = kind.rawValue }
            let bytes = try JSONSerialization.data(withJSONObject: body)
            try await runClient {
                let data = try await client.client().send(.POST, "/api/v1/integrations", raw: (bytes, "application/json"))
                try emit(data, json: client.json) { try IntegrationCommand.secretSummary(data, verb: "Added") }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List integrations.")
        @OptionGroup var client: ClientOptions

        struct Page: Decodable { var integrations: [View] }

        func run() async throws {
            try await runClient {
                let data = try await client.client().get("/api/v1/integrations")
                try emit(data, json: client.json) {
                    let page = try APIClient.decode(Page.self, data)
                    if page.integrations.isEmpty { return "No integrations. Add one with 'belay integration add'." }
                    return table(
                        ["ID", "NAME", "KIND", "KEY", "STATE", "INCIDENTS", "EVENTS"],
                        page.integrations.map {
                            ["\($0.id)", $0.name, $0.kind, $0.keyHint + "...", $0.enabled ? "enabled" : "disabled", $0.publicIncidents ? "public" : "internal",
                             "\($0.eventCount)"]
                        })
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one integration (its key is never shown again).")
        @Argument(help: "Integration id.") var id: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let path = "/api/v1/integrations/\(try IntegrationCommand.pathID(id))"
            try await runClient {
                let data = try await client.client().get(path)
                try emit(data, json: client.json) { IntegrationCommand.summary(try APIClient.decode(View.self, data)) }
            }
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change an integration; options left out stay as they are.")
        @Argument(help: "Integration id.") var id: String
        @Option(help: "New name.") var name: String?
        @Option(help: "alertmanager, pagerduty or generic.") var kind: IntegrationKind?
        @Option(help: "Comma-separated default component slugs; replaces the list ('' for none).") var component: String?
        @Option(help: "Default severity.") var severity: Severity?
        @Option(name: .customLong("rules-file"), help: "JSON file with an array of routing rules; replaces the rules.") var rulesFile: String?
        @Flag(name: .customLong("public-incidents"), help: "Its incidents appear on the status page at once.") var publicIncidents = false
        @Flag(name: .customLong("internal-incidents"), help: "Its incidents stay internal until someone makes them public.") var internalIncidents = false
        @Flag(help: "Accept its key again.") var enable = false
        @Flag(help: "Refuse its key (404) until enabled again.") var disable = false
        @OptionGroup var client: ClientOptions

        func validate() throws {
            if publicIncidents && internalIncidents { throw ValidationError("--public-incidents and --internal-incidents contradict each other") }
            if enable && disable { throw ValidationError("--enable and --disable contradict each other") }
            if name == nil && kind == nil && component == nil && severity == nil && rulesFile == nil && !publicIncidents && !internalIncidents
                && !enable && !disable
            {
                throw ValidationError("nothing to change: give at least one option (see --help)")
            }
        }

        func run() async throws {
            let path = "/api/v1/integrations/\(try IntegrationCommand.pathID(id))"
            let rules = try rulesFile.map(IntegrationCommand.readRules)
            try await runClient {
                let api = try client.client()
                var body: [String: Any] = [:]
                if let name { body["name"] = name }
                if let kind { body["kind"] = kind.rawValue }
                if publicIncidents || internalIncidents { body["publicIncidents"] = publicIncidents }
                if enable || disable { body["enabled"] = enable }
                if component != nil || severity != nil || rules != nil {
                    // The API replaces the whole routing, so the parts not given are read back first.
                    let current = try JSONSerialization.jsonObject(with: try await api.get(path)) as? [String: Any]
                    var routing = current?["routing"] as? [String: Any] ?? [:]
                    if let component { routing["defaultComponents"] = commaList(component) }
                    if let severity { routing["defaultSeverity"] = severity.rawValue }
                    if let rules { routing["rules"] = rules }
                    body["routing"] = routing
                }
                let data = try await api.send(.PATCH, path, raw: (try JSONSerialization.data(withJSONObject: body), "application/json"))
                try emit(data, json: client.json) { "Changed integration " + IntegrationCommand.summary(try APIClient.decode(View.self, data)) }
            }
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key", abstract: "Give an integration a new key (the old one stops working at once); prints it on the last line.")
        @Argument(help: "Integration id.") var id: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let path = "/api/v1/integrations/\(try IntegrationCommand.pathID(id))/rotate-key"
            try await runClient {
                let data = try await client.client().post(path, [String: String]())
                try emit(data, json: client.json) { try IntegrationCommand.secretSummary(data, verb: "New key for") }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an integration (the incidents it opened stay).")
        @Argument(help: "Integration id.") var id: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let number = try IntegrationCommand.pathID(id)
            try await runClient {
                _ = try await client.client().send(.DELETE, "/api/v1/integrations/\(number)", body: Optional<[String: String]>.none)
                if client.json { return try emitJSON(Deleted(id: number)) }
                print("Deleted integration \(number)")
            }
        }
    }
}

extension IntegrationKind: ExpressibleByArgument {}
