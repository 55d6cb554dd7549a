import ArgumentParser
import BelayCore
import Foundation

struct ChangeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "change", abstract: "Record changes and check whether one may go ahead.", subcommands: [Record.self, Check.self, List.self])

    struct View: Decodable {
        var id: Int64
        var kind: String
        var summary: String
        var targets: [String]
        var environment: String
        var startedAt: Date
        var reviewedBy: String?
        var tested: Bool?
        var commit: String?
        var sourceURL: String?
    }

    /// Commit and pipeline URL from the CI system running this command, when it says.
    static func fromCI(_ env: [String: String]) -> (commit: String?, url: String?) {
        func value(_ name: String) -> String? { env[name].flatMap { $0.isEmpty ? nil : $0 } }
        if let sha = value("GITHUB_SHA") {
            var url: String?
            if let server = value("GITHUB_SERVER_URL"), let repo = value("GITHUB_REPOSITORY"), let run = value("GITHUB_RUN_ID") {
                url = "\(server)/\(repo)/actions/runs/\(run)"
            }
            return (sha, url)
        }
        if let sha = value("CI_COMMIT_SHA") { return (sha, value("CI_PIPELINE_URL") ?? value("CI_JOB_URL")) }  // GitLab
        if let sha = value("CIRCLE_SHA1") { return (sha, value("CIRCLE_BUILD_URL")) }
        if let sha = value("BUILDKITE_COMMIT") { return (sha, value("BUILDKITE_BUILD_URL")) }
        if let sha = value("GIT_COMMIT") { return (sha, value("BUILD_URL")) }  // Jenkins
        if let sha = value("BITBUCKET_COMMIT") { return (sha, nil) }
        return (nil, value("BUILD_URL"))
    }

    struct Record: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a change (one line in a deploy pipeline); prints its id on the last line.",
            discussion: "Commit and pipeline URL are taken from GitHub Actions, GitLab CI, CircleCI, Buildkite or Jenkins variables when present.")
        @Option(help: "deploy, config, infrastructure, security_policy, feature_flag, certificate, database, rollback, maintenance.") var kind: ChangeKind
        @Option(help: "Components or map nodes it touches, comma-separated.") var target: String
        @Option(help: "What changed.") var summary: String
        @Option(help: "Environment (default production).") var environment: String?
        @Option(name: .customLong("reviewed-by"), help: "Who reviewed it; leave out if nobody did.") var reviewedBy: String?
        @Flag(help: "It did not run in a lower environment first.") var untested = false
        @Flag(help: "It ran in a lower environment first.") var tested = false
        @Option(help: "Who made it (default: the token's name).") var author: String?
        @Option(help: "Commit id (default: from CI variables).") var commit: String?
        @Option(name: .customLong("source-url"), help: "Link to the pipeline run or ticket (default: from CI variables).") var sourceURL: String?
        @OptionGroup var client: ClientOptions

        struct Body: Encodable {
            var kind: ChangeKind
            var summary: String
            var targets: [String]
            var environment: String?
            var author: String?
            var reviewedBy: String?
            var tested: Bool?
            var commit: String?
            var sourceURL: String?
        }

        func run() async throws {
            if tested && untested { throw ValidationError("--tested and --untested contradict each other") }
            let ci = ChangeCommand.fromCI(ProcessInfo.processInfo.environment)
            let body = Body(
                kind: kind, summary: summary, targets: commaList(target), environment: environment, author: author, reviewedBy: reviewedBy,
                tested: untested ? false : (tested ? true : nil), commit: commit ?? ci.commit, sourceURL: sourceURL ?? ci.url)
            try await runClient {
                let data = try await client.client().post("/api/v1/changes", body)
                let view = try APIClient.decode(View.self, data)
                try emit(data, json: client.json) { "Recorded \(view.kind) change \(view.id) on \(view.targets.joined(separator: ", ")): \(view.summary)\n\(view.id)" }
            }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Exit non-zero, with the reason, when a change to TARGET should wait: it or something downstream is in an open incident or maintenance, or a freeze is on.")
        @Option(help: "Components or map nodes the change would touch, comma-separated.") var target: String
        @OptionGroup var client: ClientOptions

        struct Answer: Decodable {
            var ok: Bool
            var reasons: [String]
        }

        func run() async throws {
            let encoded = target.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? target
            try await runClient {
                let data = try await client.client().getAllowing(status: 409, "/api/v1/changes/check?target=\(encoded)")
                let answer = try APIClient.decode(Answer.self, data)
                if client.json {
                    FileHandle.standardOutput.write(data)
                    print()
                } else if answer.ok {
                    print("OK: nothing stands in the way of a change to \(target)")
                }
                if !answer.ok {
                    if !client.json { for reason in answer.reasons { FileHandle.standardError.write(Data("belay: hold the change: \(reason)\n".utf8)) } }
                    throw ExitCode(3)
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List recent changes (last 7 days).")
        @OptionGroup var client: ClientOptions

        struct Page: Decodable { var changes: [View] }

        func run() async throws {
            try await runClient {
                let data = try await client.client().get("/api/v1/changes")
                try emit(data, json: client.json) {
                    let page = try APIClient.decode(Page.self, data)
                    if page.changes.isEmpty { return "No changes recorded in the last 7 days." }
                    return table(
                        ["ID", "WHEN", "KIND", "TARGETS", "ENV", "REVIEWED", "SUMMARY"],
                        page.changes.map {
                            ["\($0.id)", $0.startedAt.formatted(.iso8601), $0.kind, $0.targets.joined(separator: ","), $0.environment, $0.reviewedBy ?? "no", $0.summary]
                        })
                }
            }
        }
    }
}

extension ChangeKind: ExpressibleByArgument {}
