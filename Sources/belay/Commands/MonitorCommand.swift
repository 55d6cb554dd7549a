import ArgumentParser
import BelayCore
import Foundation

struct MonitorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor", abstract: "Manage synthetic monitors (HTTP, TCP, TLS, certificate file, DNS, heartbeat).",
        subcommands: [Add.self, List.self, Pause.self, Resume.self, Delete.self])

    struct View: Decodable {
        struct State: Decodable {
            var status: String
            var lastMessage: String?
        }
        var id: Int64
        var name: String
        var kind: String
        var intervalSeconds: Int
        var component: String?
        var paused: Bool
        var state: State
        var heartbeatURL: String?
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a monitor; prints its id on the last line.",
            discussion: """
                http: --check-url URL [--method] [--expect-status 200,204] [--keyword TEXT | --regex RE] [--latency-warn-ms N] [--no-follow-redirects]
                tcp: --host --port        tls: --host [--port 443] [--server-name] [--warn-days 14] [--ca-file PEM]
                certificate_file: --pem-file FILE (uploaded) or --path FILE (read by the server on every check) [--warn-days]
                dns: --dns-name NAME [--record-type A|AAAA] [--expect 1.2.3.4,...]        heartbeat: [--grace SECONDS]
                """)
        @Option(help: "Display name.") var name: String
        @Option(help: "http, tcp, tls, certificate_file, dns or heartbeat.") var kind: MonitorKind
        @Option(help: "Seconds between checks (default 60).") var interval: Int?
        @Option(help: "Seconds before a check gives up (default 10, at most the interval).") var timeout: Int?
        @Option(name: .customLong("failure-threshold"), help: "Failed checks in a row before down (default 2).") var failureThreshold: Int?
        @Option(name: .customLong("success-threshold"), help: "Good checks in a row before up again (default 1).") var successThreshold: Int?
        @Option(help: "Component slug its outage affects.") var component: String?
        @Option(help: "Severity of the incident it opens (default sev2).") var severity: Severity?
        @Option(name: .customLong("check-url"), help: "URL to check (http).") var url: String?
        @Option(help: "HTTP method (http).") var method: String?
        @Option(name: .customLong("expect-status"), help: "Accepted status codes, comma-separated (http).") var expectStatus: String?
        @Option(help: "Text the body must contain (http).") var keyword: String?
        @Option(help: "Regular expression the body must match (http).") var regex: String?
        @Option(name: .customLong("latency-warn-ms"), help: "Slower is degraded (http).") var latencyWarnMs: Int?
        @Flag(name: .customLong("no-follow-redirects"), help: "Do not follow redirects (http).") var noFollowRedirects = false
        @Option(help: "Host (tcp, tls).") var host: String?
        @Option(help: "Port (tcp, tls).") var port: Int?
        @Option(name: .customLong("server-name"), help: "Name the certificate must match (tls).") var serverName: String?
        @Option(name: .customLong("warn-days"), help: "Fewer days to expiry is degraded (tls, certificate_file).") var warnDays: Int?
        @Option(name: .customLong("ca-file"), help: "PEM file of extra trusted roots (tls).") var caFile: String?
        @Option(name: .customLong("pem-file"), help: "Certificate to upload (certificate_file).") var pemFile: String?
        @Option(help: "Certificate path the server reads (certificate_file).") var path: String?
        @Option(name: .customLong("dns-name"), help: "Name to resolve (dns).") var dnsName: String?
        @Option(name: .customLong("record-type"), help: "A or AAAA (dns).") var recordType: String?
        @Option(help: "Addresses the name must resolve to, comma-separated (dns).") var expect: String?
        @Option(help: "Grace seconds after the interval (heartbeat).") var grace: Int?
        @Flag(help: "Create it paused.") var paused = false
        @OptionGroup var client: ClientOptions

        struct Body: Encodable {
            var name: String
            var kind: MonitorKind
            var settings: MonitorSettings
            var intervalSeconds: Int?
            var timeoutSeconds: Int?
            var failureThreshold: Int?
            var successThreshold: Int?
            var component: String?
            var severity: Severity?
            var paused: Bool
        }

        func readFile(_ path: String?, option: String) throws -> String? {
            guard let path else { return nil }
            guard let text = String(data: try FailureMessage.readFile(path, option: option), encoding: .utf8) else {
                throw ValidationError("\(option): \(path) is not UTF-8 text (a PEM file is)")
            }
            return text
        }

        func run() async throws {
            var codes: [Int]?
            if let expectStatus {
                codes = try commaList(expectStatus).map { raw in
                    guard let code = Int(raw) else { throw ValidationError("--expect-status must list numbers (got '\(raw)')") }
                    return code
                }
            }
            let settings = MonitorSettings(
                url: url, method: method, expectedStatus: codes, keyword: keyword, regex: regex, latencyWarnMs: latencyWarnMs,
                followRedirects: noFollowRedirects ? false : nil, host: host, port: port, serverName: serverName, warnDays: warnDays,
                caPEM: try readFile(caFile, option: "--ca-file"), pem: try readFile(pemFile, option: "--pem-file"), path: path, name: dnsName,
                recordType: recordType, expected: expect.map(commaList), graceSeconds: grace)
            let body = Body(
                name: name, kind: kind, settings: settings, intervalSeconds: interval, timeoutSeconds: timeout, failureThreshold: failureThreshold,
                successThreshold: successThreshold, component: component, severity: severity, paused: paused)
            try await runClient {
                let data = try await client.client().post("/api/v1/monitors", body)
                let view = try APIClient.decode(View.self, data)
                try emit(data, json: client.json) {
                    var text = "Added \(view.kind) monitor \(view.id) '\(view.name)', every \(view.intervalSeconds) s"
                    if let url = view.heartbeatURL { text += "\nHeartbeat URL (POST or GET): \(url)" }
                    return text + "\n\(view.id)"
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List monitors and their state.")
        @Option(help: "Only this state: pending, up, degraded, down, paused.") var status: String?
        @OptionGroup var client: ClientOptions

        struct Page: Decodable {
            var monitors: [View]
            var nextAfter: Int64?
        }

        func run() async throws {
            try await runClient {
                var all: [View] = []
                var after: Int64?
                var pages: [Data] = []
                repeat {
                    var path = "/api/v1/monitors?limit=500"
                    if let after { path += "&after=\(after)" }
                    if let status { path += "&status=\(status.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? status)" }
                    let data = try await client.client().get(path)
                    let page = try APIClient.decode(Page.self, data)
                    pages.append(data)
                    all += page.monitors
                    after = page.nextAfter
                } while after != nil
                if client.json {
                    let monitors = try pages.flatMap { data -> [Any] in
                        ((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["monitors"] as? [Any]) ?? []
                    }
                    FileHandle.standardOutput.write(try JSONSerialization.data(withJSONObject: ["monitors": monitors], options: [.sortedKeys]))
                    print()
                    return
                }
                if all.isEmpty { print("No monitors yet. Add one with 'belay monitor add'."); return }
                print(table(
                    ["ID", "NAME", "KIND", "EVERY", "COMPONENT", "STATE", "LAST RESULT"],
                    all.map { ["\($0.id)", $0.name, $0.kind, "\($0.intervalSeconds)s", $0.component ?? "-", $0.state.status, $0.state.lastMessage ?? "-"] }))
            }
        }
    }

    static func act(_ id: String, _ action: String, client: ClientOptions) async throws {
        guard Validate.id(id) != nil else { throw ValidationError("'\(id)' is not a monitor id") }
        try await runClient {
            let data = try await client.client().post("/api/v1/monitors/\(id)/\(action)", [String: String]())
            let view = try APIClient.decode(View.self, data)
            try emit(data, json: client.json) { "Monitor \(view.id) '\(view.name)' is \(view.state.status)" }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop checking a monitor.")
        @Argument var id: String
        @OptionGroup var client: ClientOptions
        func run() async throws { try await MonitorCommand.act(id, "pause", client: client) }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start checking a paused monitor again.")
        @Argument var id: String
        @OptionGroup var client: ClientOptions
        func run() async throws { try await MonitorCommand.act(id, "resume", client: client) }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a monitor and its results (its incidents stay).")
        @Argument var id: String
        @OptionGroup var client: ClientOptions
        func run() async throws {
            guard Validate.id(id) != nil else { throw ValidationError("'\(id)' is not a monitor id") }
            try await runClient {
                _ = try await client.client().send(.DELETE, "/api/v1/monitors/\(id)", body: Optional<[String: String]>.none)
                if client.json { return try emitJSON(Deleted(id: id)) }
                print("Deleted monitor \(id)")
            }
        }
    }
}

extension MonitorKind: ExpressibleByArgument {}
