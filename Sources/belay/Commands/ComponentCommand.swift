import ArgumentParser
import Foundation

struct ComponentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "component", abstract: "Manage components and their dependencies.",
        subcommands: [Add.self, List.self, Show.self, Edit.self, Delete.self])

    struct View: Decodable {
        var slug: String
        var name: String
        var group: String?
        var status: String
        var dependsOn: [String]
        var isPublic: Bool
    }

    static func summary(_ view: View) -> String {
        "\(view.slug) (\(view.name))" + (view.group.map { " in \($0)" } ?? "") + ", \(view.status)" + (view.isPublic ? "" : ", internal")
            + (view.dependsOn.isEmpty ? "" : ", depends on \(view.dependsOn.joined(separator: ", "))")
    }

    /// Slugs are a-z, 0-9 and '-'; anything else is refused before it reaches the URL.
    static func pathSlug(_ slug: String) throws -> String {
        guard !slug.isEmpty, slug.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }) else {
            throw ValidationError("a component slug is a-z, 0-9 and '-' (got '\(slug)')")
        }
        return slug
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one component.")
        @Argument(help: "Component slug.") var slug: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let path = "/api/v1/components/\(try ComponentCommand.pathSlug(slug))"
            try await runClient {
                let data = try await client.client().get(path)
                try emit(data, json: client.json) { ComponentCommand.summary(try APIClient.decode(View.self, data)) }
            }
        }
    }

    struct Edit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a component; options left out stay as they are (the slug cannot change).")
        @Argument(help: "Component slug.") var slug: String
        @Option(help: "Display name.") var name: String?
        @Option(help: "Group shown on the status page ('' for none).") var group: String?
        @Option(help: "Description shown on the status page.") var description: String?
        @Option(name: .customLong("depends-on"), help: "Comma-separated slugs this component needs; replaces the list ('' for none).") var dependsOn: String?
        @Option(help: "Sort order on the status page (ascending).") var position: Int?
        @Flag(help: "Show it on the public status page.") var `public` = false
        @Flag(help: "Take it off the public status page.") var `internal` = false
        @Option(
            name: .customLong("automatic-incidents"),
            help: "public or internal: whether incidents monitors and alerts open on it appear on the status page at once.")
        var automaticIncidents: Visibility?
        @OptionGroup var client: ClientOptions

        enum Visibility: String, ExpressibleByArgument { case `public`, `internal` }

        struct Body: Encodable {
            var name: String?
            var description: String?
            var group: String?
            var isPublic: Bool?
            var automaticIncidentsPublic: Bool?
            var position: Int?
            var dependsOn: [String]?
        }

        func validate() throws {
            if `public` && `internal` { throw ValidationError("--public and --internal contradict each other") }
            if name == nil && group == nil && description == nil && dependsOn == nil && position == nil && !`public` && !`internal`
                && automaticIncidents == nil
            {
                throw ValidationError("nothing to change: give at least one option (see --help)")
            }
        }

        func run() async throws {
            let body = Body(
                name: name, description: description, group: group, isPublic: `public` ? true : (`internal` ? false : nil),
                automaticIncidentsPublic: automaticIncidents.map { $0 == .public }, position: position, dependsOn: dependsOn.map(commaList))
            let path = "/api/v1/components/\(try ComponentCommand.pathSlug(slug))"
            try await runClient {
                let data = try await client.client().send(.PATCH, path, body: body)
                try emit(data, json: client.json) { "Changed component " + ComponentCommand.summary(try APIClient.decode(View.self, data)) }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a component (refused while another component depends on it or an incident or maintenance names it).")
        @Argument(help: "Component slug.") var slug: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let path = "/api/v1/components/\(try ComponentCommand.pathSlug(slug))"
            try await runClient {
                _ = try await client.client().send(.DELETE, path, body: Optional<[String: String]>.none)
                if client.json { return try emitJSON(Deleted(id: slug)) }
                print("Deleted component \(slug)")
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a component.")
        @Option(help: "Short identifier: a-z, 0-9 and '-'.") var slug: String
        @Option(help: "Display name.") var name: String
        @Option(help: "Group shown on the status page.") var group: String?
        @Option(help: "Description shown on the status page.") var description: String?
        @Option(name: .customLong("depends-on"), help: "Comma-separated slugs this component needs.") var dependsOn: String?
        @Flag(help: "Keep the component off the public status page.") var `internal` = false
        @OptionGroup var client: ClientOptions

        struct Body: Encodable {
            var slug: String
            var name: String
            var group: String?
            var description: String?
            var dependsOn: [String]
            var isPublic: Bool
        }

        func run() async throws {
            try await runClient {
                let data = try await client.client().post(
                    "/api/v1/components",
                    Body(slug: slug, name: name, group: group, description: description, dependsOn: commaList(dependsOn), isPublic: !`internal`))
                try emit(data, json: client.json) {
                    let view = try APIClient.decode(View.self, data)
                    return "Added component \(view.slug) (\(view.name))"
                        + (view.dependsOn.isEmpty ? "" : ", depends on \(view.dependsOn.joined(separator: ", "))")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List components with their current status.")
        @OptionGroup var client: ClientOptions

        struct Page: Decodable { var components: [View] }

        func run() async throws {
            try await runClient {
                let data = try await client.client().get("/api/v1/components")
                try emit(data, json: client.json) {
                    let page = try APIClient.decode(Page.self, data)
                    if page.components.isEmpty { return "No components yet. Add one with 'belay component add'." }
                    return table(
                        ["SLUG", "NAME", "GROUP", "STATUS", "DEPENDS ON"],
                        page.components.map { [$0.slug, $0.name, $0.group ?? "-", $0.status, $0.dependsOn.joined(separator: ",")] })
                }
            }
        }
    }
}
