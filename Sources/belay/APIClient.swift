import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Where the CLI finds its server, and whether it prints JSON. Every command with `--json` prints exactly one
/// JSON document on stdout with it, so `belay ... --json | jq` works.
struct ClientOptions: ParsableArguments {
    @OptionGroup var server: ServerOptions

    @Flag(name: .long, help: "Print one JSON document (the server's answer) instead of a human summary.")
    var json = false

    func client() throws -> APIClient { try server.client() }
}

/// Where the CLI finds its server: flags, else BELAY_URL and BELAY_TOKEN, as gh and kubectl do. Commands whose
/// output is not JSON (a CSV export) take these alone.
struct ServerOptions: ParsableArguments {
    @Option(name: .long, help: "Belay server URL (env BELAY_URL; default http://127.0.0.1:8080).")
    var url: String?

    @Option(name: .long, help: "API token (env BELAY_TOKEN).")
    var token: String?

    func client() throws -> APIClient {
        let base = url ?? Environment.value("BELAY_URL") ?? "http://127.0.0.1:8080"
        guard let parsed = URL(string: base), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
            throw CLIError(description: "the server URL must look like http://host:port (got '\(base)')")
        }
        guard let token = token ?? Environment.value("BELAY_TOKEN") else {
            throw CLIError(description: "no API token: pass --token or set BELAY_TOKEN (create one with 'belay admin create-token')")
        }
        return APIClient(baseURL: base.hasSuffix("/") ? String(base.dropLast()) : base, token: token)
    }
}

/// A failure the CLI reports as one line on stderr before exiting non-zero.
struct CLIError: Error, CustomStringConvertible {
    var description: String
}

/// A thin JSON client for /api/v1.
struct APIClient {
    let baseURL: String
    let token: String

    /// One client for the life of the process. It fails at once when nothing listens, rather than
    /// retrying until the request deadline as the shared client does.
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(30))
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    func get(_ path: String) async throws -> Data { try await send(.GET, path, body: Optional<[String: String]>.none) }
    func post(_ path: String, _ body: some Encodable) async throws -> Data { try await send(.POST, path, body: body) }

    /// A GET that also accepts the given non-2xx statuses as answers (e.g. 409 from the change guard).
    func getAllowing(status: Int, _ path: String) async throws -> Data {
        try await send(.GET, path, body: Optional<[String: String]>.none, allowing: [status])
    }

    func send(_ method: HTTPMethod, _ path: String, body: (some Encodable)?, allowing: Set<Int> = []) async throws -> Data {
        var raw: (Data, String)?
        if let body {
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            raw = (try encoder.encode(body), "application/json")
        }
        return try await send(method, path, raw: raw, allowing: allowing)
    }

    /// Sends `raw` (bytes and their content type) as the body, e.g. a CSV file.
    func send(_ method: HTTPMethod, _ path: String, raw: (Data, String)?, allowing: Set<Int> = []) async throws -> Data {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        if let (bytes, type) = raw {
            request.headers.add(name: "Content-Type", value: type)
            request.body = .bytes(ByteBuffer(data: bytes))
        }
        let response: HTTPClientResponse
        do {
            response = try await Self.http.execute(request, timeout: .seconds(30))
        } catch {
            throw CLIError(description: FailureMessage.unreachable(error, baseURL: baseURL))
        }
        let data: Data
        do {
            data = Data(buffer: try await response.body.collect(upTo: 64 << 20))
        } catch {
            throw CLIError(description: FailureMessage.unreachable(error, baseURL: baseURL))
        }
        let status = Int(response.status.code)
        guard (200..<300).contains(status) || allowing.contains(status) else {
            if let problem = try? JSONDecoder().decode(ErrorEnvelope.self, from: data) {
                let hint = status == 401 ? "; check --token or BELAY_TOKEN (a token from 'belay admin create-token' works only with the data directory that server uses)" : ""
                throw CLIError(description: "\(problem.error.message) (HTTP \(status) \(problem.error.code))" + hint)
            }
            throw CLIError(description: "\(baseURL) answered HTTP \(status) without Belay's error body; is --url (or BELAY_URL) Belay's address?")
        }
        return data
    }

    struct ErrorEnvelope: Decodable {
        struct Inner: Decodable {
            var code: String
            var message: String
        }
        var error: Inner
    }

    static func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            return (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)) ?? Date(timeIntervalSince1970: 0)
        }
        return try decoder.decode(T.self, from: data)
    }
}

/// Prints the raw JSON, or the human rendering.
func emit(_ data: Data, json: Bool, human: () throws -> String) throws {
    if json {
        print(String(decoding: data, as: UTF8.self))
    } else {
        print(try human())
    }
}

/// Prints `value` as the one JSON document of a command whose server answer has no body (a delete's 204).
func emitJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Runs a client command, turning failures into a one-line message and exit code 1.
func runClient(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode.failure
    }
}

/// Splits "a,b,c" into trimmed, non-empty parts.
func commaList(_ text: String?) -> [String] {
    (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

/// Lays rows out in columns for a terminal.
func table(_ header: [String], _ rows: [[String]]) -> String {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    return all.map { row in
        row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .trimmingCharacters(in: .whitespaces)
    }.joined(separator: "\n")
}

/// What `--json` prints for a delete, whose answer has no body.
struct Deleted: Encodable {
    var id: String
    var deleted = true
}
