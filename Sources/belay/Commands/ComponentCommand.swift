import ArgumentParser
import Foundation

struct ComponentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "component", abstract: "Manage components and their dependencies.", subcommands: [Add.self, List.self])

    struct View: Decodable {
        var slug: String
        var name: String
        var group: String?
        var status: String
        var dependsOn: [String]
        var isPublic: Bool
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
