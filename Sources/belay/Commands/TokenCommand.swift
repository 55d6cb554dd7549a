import ArgumentParser
import BelayCore
import Foundation

/// `belay token create|list|revoke`: API tokens through the server (admin token). `belay admin create-token`
/// makes one offline, for the first.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Create, list and revoke API tokens (needs an admin token).", subcommands: [Create.self, List.self, Revoke.self])

    struct View: Decodable {
        var id: String
        var name: String
        var role: String
        var createdAt: Date
        var revokedAt: Date?
        var token: String?
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API token; prints the secret alone on the last line (shown only once).")
        @Option(help: "A name to recognise it by; changes made with it are recorded as token:<name>.") var name: String
        @Option(help: "admin, responder or viewer.") var role: AccessRole
        @OptionGroup var client: ClientOptions

        struct Body: Encodable {
            var name: String
            var role: AccessRole
        }

        func run() async throws {
            try await runClient {
                let data = try await client.client().post("/api/v1/tokens", Body(name: name, role: role))
                try emit(data, json: client.json) {
                    let view = try APIClient.decode(View.self, data)
                    return "Created \(view.role) token '\(view.name)' (id \(view.id)). It is shown only once:\n" + (view.token ?? "")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List API tokens, revoked ones included.")
        @OptionGroup var client: ClientOptions

        struct Page: Decodable { var tokens: [View] }

        func run() async throws {
            try await runClient {
                let data = try await client.client().get("/api/v1/tokens")
                try emit(data, json: client.json) {
                    let page = try APIClient.decode(Page.self, data)
                    if page.tokens.isEmpty { return "No tokens." }
                    return table(
                        ["ID", "NAME", "ROLE", "CREATED", "REVOKED"],
                        page.tokens.map { [$0.id, $0.name, $0.role, $0.createdAt.formatted(.iso8601), $0.revokedAt?.formatted(.iso8601) ?? "-"] })
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an API token at once (the last admin token cannot be revoked).")
        @Argument(help: "Token id (from 'belay token list').") var id: String
        @OptionGroup var client: ClientOptions

        func run() async throws {
            guard let number = Int64(id), number > 0 else { throw ValidationError("a token id is a positive number (got '\(id)')") }
            try await runClient {
                let data = try await client.client().send(.DELETE, "/api/v1/tokens/\(number)", body: Optional<[String: String]>.none)
                try emit(data, json: client.json) {
                    let view = try APIClient.decode(View.self, data)
                    return "Revoked \(view.role) token '\(view.name)' (id \(view.id))"
                }
            }
        }
    }
}
