import AsyncHTTPClient
import Foundation
import NIOCore

/// The real `belay` executable, run as a user would run it.
enum BelayBinary {
    /// BELAY_BIN if set, else the `belay` built next to this test bundle.
    static func url() throws -> URL {
        if let path = ProcessInfo.processInfo.environment["BELAY_BIN"] { return URL(fileURLWithPath: path) }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("belay")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        throw E2EError("the belay executable was not found next to the tests; run 'swift build' first or set BELAY_BIN")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var lastLine: String { stdout.split(separator: "\n").last.map(String.init) ?? "" }
    }

    /// Runs one CLI command to completion.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = try url()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }
}

struct E2EError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// `belay serve` on a free port, with its output captured in files.
final class ServerProcess {
    let process = Process()
    let stdoutURL: URL
    let stderrURL: URL
    private(set) var port = 0

    init(data: URL, extra: [String] = [], executable: URL? = nil) throws {
        stdoutURL = data.appendingPathExtension("stdout")
        stderrURL = data.appendingPathExtension("stderr")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = try executable ?? BelayBinary.url()
        process.arguments = ["serve", "--port", "0", "--data", data.path] + extra
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
    }

    var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Starts the server and waits for its "listening on" log line, which carries the port it got.
    func start(timeout: Duration = .seconds(30)) async throws {
        try process.run()
        let started = ContinuousClock.now
        while ContinuousClock.now - started < timeout {
            if let range = stderr.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                port = Int(stderr[range].split(separator: ":").last!)!
                return
            }
            guard process.isRunning else { throw E2EError("belay serve exited early:\n\(stderr)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw E2EError("belay serve did not start listening in time:\n\(stderr)")
    }

    /// Sends SIGTERM and waits for the exit status.
    func terminate(timeout: Duration = .seconds(10)) async throws -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let started = ContinuousClock.now
        while process.isRunning {
            if ContinuousClock.now - started > timeout {
                kill(process.processIdentifier, SIGKILL)
                throw E2EError("belay serve did not stop within \(timeout) of SIGTERM")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Plain HTTP GETs against the server.
enum HTTP {
    struct Page {
        var status: Int
        var headers: [(String, String)]
        var body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    static func get(_ url: String, headers: [String: String] = [:]) async throws -> Page {
        var request = HTTPClientRequest(url: url)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 32 << 20)
        return Page(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Data(body.readableBytesView))
    }
}
