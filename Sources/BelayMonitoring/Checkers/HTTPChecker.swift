import BelayEgress
import BelayCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// Checks that an HTTP(S) URL answers with an expected status, optionally containing a keyword or matching a
/// regular expression, within the latency threshold. Redirects are followed hop by hop, each hop through
/// the egress policy and, for https, full certificate verification.
public struct HTTPChecker: Checker {
    public static let userAgent = "Belay-Monitor/1"
    public static let defaultMaxRedirects = 5
    /// The longest a regular expression may run over a body. NSRegularExpression has no timeout of its own:
    /// it runs on the thread pool and asks to be called back during long matches, and stops there.
    public static let regexTimeLimit: TimeAmount = .seconds(1)

    static let redirectStatuses: Set<UInt> = [301, 302, 303, 307, 308]
    /// Headers that carry credentials, dropped on a redirect to another origin.
    static let credentialHeaders: Set<String> = ["authorization", "cookie", "proxy-authorization"]
    /// Headers the check controls: one request per connection, with a length it computes.
    static let reservedHeaders: Set<String> = ["connection", "content-length", "transfer-encoding", "upgrade", "te"]

    let connector: Connector

    public init(connector: Connector) {
        self.connector = connector
    }

    public func check(_ monitor: Monitor, now: Date) async -> CheckReport {
        let settings = monitor.settings
        guard let text = settings.url, let firstURL = URL(string: text) else {
            return CheckReport(outcome: .down, message: "\(Wording.quoted(settings.url ?? "")) is not a valid URL")
        }
        let deadline = monitor.checkDeadline
        let started = NIODeadline.now()
        let followsRedirects = settings.followRedirects ?? true
        let maxRedirects = settings.maxRedirects ?? Self.defaultMaxRedirects
        let keepBody = settings.keyword != nil || settings.regex != nil
        var url = firstURL
        var method = HTTPMethod(rawValue: (settings.method ?? "GET").uppercased())
        var body = settings.body
        var userHeaders = settings.headers ?? [:]
        var redirects = 0
        var previousOrigin: String?
        while true {
            let target: HTTPTarget
            let response: HTTPResponse
            do {
                target = try HTTPTarget(url)
                if let previousOrigin, previousOrigin != target.origin {
                    userHeaders = userHeaders.filter { !Self.credentialHeaders.contains($0.key.lowercased()) }
                }
                let headers = Self.headers(for: target, user: userHeaders)
                response = try await HTTPExchange(connector: connector).perform(
                    target, method: method, headers: headers, body: body, keepBody: keepBody, deadline: deadline
                )
            } catch {
                let failure = await explain(error, url: url, deadline: deadline, now: now)
                let report = CheckReport.down(failure, timeoutSeconds: monitor.timeoutSeconds)
                return redirects == 0 ? report : CheckReport(outcome: .down, message: "redirect to \(url.absoluteString): \(report.message)")
            }
            let code = response.head.status.code
            if followsRedirects, Self.redirectStatuses.contains(code), let location = response.head.headers.first(name: "Location") {
                guard redirects < maxRedirects else {
                    return CheckReport(outcome: .down, latencyMs: Wording.milliseconds(since: started), message: "too many redirects (more than \(maxRedirects))")
                }
                guard let next = URL(string: location, relativeTo: url)?.absoluteURL else {
                    return CheckReport(outcome: .down, message: "status \(code) redirects to an invalid location \(Wording.quoted(location))")
                }
                // 303 asks for a GET; 301 and 302 turn a POST into a GET as browsers do; 307 and 308 keep both.
                if (code == 303 && method != .HEAD) || ((code == 301 || code == 302) && method == .POST) {
                    method = .GET
                    body = nil
                }
                previousOrigin = target.origin
                url = next
                redirects += 1
                continue
            }
            return await evaluate(response, settings: settings, latency: Wording.milliseconds(since: started), redirects: redirects, deadline: deadline)
        }
    }

    static func headers(for target: HTTPTarget, user: [String: String]) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.hostHeader)
        headers.add(name: "User-Agent", value: userAgent)
        headers.add(name: "Accept", value: "*/*")
        if let authorization = target.basicAuthorization { headers.add(name: "Authorization", value: authorization) }
        for (name, value) in user.sorted(by: { $0.key < $1.key }) where !reservedHeaders.contains(name.lowercased()) {
            headers.replaceOrAdd(name: name, value: value)
        }
        headers.add(name: "Connection", value: "close")
        return headers
    }

    /// A TLS failure is explained by looking at the certificate; anything else is said as it is.
    private func explain(_ error: any Error, url: URL, deadline: NIODeadline, now: Date) async -> ConnectionFailure {
        guard error is NIOSSLError || error is NIOSSLExtraError, let target = try? HTTPTarget(url) else { return ConnectionFailure.from(error) }
        return await TLSHandshake(connector: connector).explain(
            error, host: target.host, port: target.port, serverName: target.host, now: now, deadline: deadline
        )
    }

    private func evaluate(_ response: HTTPResponse, settings: MonitorSettings, latency: Double, redirects: Int, deadline: NIODeadline) async -> CheckReport {
        let status = response.head.status
        let code = Int(status.code)
        let accepted = settings.expectedStatus.map { $0.contains(code) } ?? (200...399).contains(code)
        guard accepted else {
            let expected = settings.expectedStatus.map { $0.map(String.init).joined(separator: ", ") } ?? "200-399"
            return CheckReport(outcome: .down, latencyMs: latency, message: "status \(code) (expected \(expected))")
        }
        let scope = response.isTruncated ? " in the first 1 MiB" : ""
        if let keyword = settings.keyword, !keyword.isEmpty {
            let found = response.body.readableBytesView.firstRange(of: Array(keyword.utf8)) != nil
            guard found else { return CheckReport(outcome: .down, latencyMs: latency, message: "keyword \(Wording.quoted(keyword)) not found\(scope)") }
        }
        if let pattern = settings.regex {
            let limit = max(.milliseconds(10), min(Self.regexTimeLimit, deadline - .now()))
            let body = response.body
            let outcome: BoundedRegex.Outcome
            do {
                outcome = try await connector.runBlocking(deadline: deadline + .milliseconds(100)) {
                    try RegexOutcome.evaluate(pattern, on: body, limit: limit)
                }
            } catch {
                return CheckReport(outcome: .down, latencyMs: latency, message: "regex could not be evaluated (\(ConnectionFailure.from(error)))")
            }
            switch outcome {
            case .matched: break
            case .notMatched:
                return CheckReport(outcome: .down, latencyMs: latency, message: "regex \(Wording.quoted(pattern)) did not match\(scope)")
            case .gaveUp:
                let seconds = Double(limit.nanoseconds) / 1e9
                return CheckReport(outcome: .down, latencyMs: latency, message: "regex gave up after \(String(format: "%.1f", seconds)) s without a match")
            }
        }
        let reason = status.reasonPhrase.isEmpty ? "" : " \(status.reasonPhrase)"
        let after = redirects == 0 ? "" : " after \(Wording.count(redirects, "redirect"))"
        let answer = "\(code)\(reason) in \(Wording.duration(latency))\(after)"
        if let warn = settings.latencyWarnMs, latency > Double(warn) {
            return CheckReport(outcome: .degraded, latencyMs: latency, message: "\(answer), slower than \(warn) ms")
        }
        return CheckReport(outcome: .up, latencyMs: latency, message: answer)
    }
}

/// The result of a regular expression over a body, bounded in time.
enum RegexOutcome {
    /// Blocking. Decodes the body as UTF-8 (invalid bytes replaced) and searches it with `BoundedRegex`,
    /// so a catastrophic pattern costs at most `limit` of one pool thread.
    static func evaluate(_ pattern: String, on body: ByteBuffer, limit: TimeAmount) throws -> BoundedRegex.Outcome {
        let expression: NSRegularExpression
        do { expression = try NSRegularExpression(pattern: pattern) } catch {
            throw ConnectionFailure.failed("the pattern is not valid")
        }
        let text = String(decoding: body.readableBytesView, as: UTF8.self)
        return BoundedRegex.search(expression, in: text, limit: .nanoseconds(limit.nanoseconds))
    }
}
