import BelayCore
import BelayFormats
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// Renders the web app's pages. Every page is served with the same strict policy as the status page and
/// is never cached, since it shows one person's view.
struct WebRenderer: Sendable {
    let templates: MustacheLibrary
    let cssHref: String
    let jsHref: String

    static let headers: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .contentSecurityPolicy: StatusPageBuilder.contentSecurityPolicy,
        .cacheControl: "no-store",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "same-origin",
        HTTPField.Name("X-Frame-Options")!: "DENY",
    ]

    func page(_ template: String, _ context: [String: Any], status: HTTPResponse.Status = .ok) throws -> Response {
        var context = context
        context["cssHref"] = cssHref
        context["jsHref"] = jsHref
        guard let html = templates.render(context, withTemplate: template) else {
            throw StatusPageBuilder.BuilderError.missingTemplate(template)
        }
        return Response(status: status, headers: Self.headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

/// A urlencoded form body (`FormBody`, which never traps on what a browser or an attacker sends).
/// A body that is not a form is a 400. Repeated names (checkboxes) keep every value.
struct FormData: Sendable {
    let body: FormBody

    static func read(_ request: Request, context: AppRequestContext) async throws -> FormData {
        let bytes = try await request.body.collect(upTo: context.maxUploadSize)
        do {
            return FormData(body: try FormBody(parsing: bytes.readableBytesView))
        } catch {
            throw APIError.badRequest("the form could not be read: \(error.description)")
        }
    }

    subscript(name: String) -> String? { body[name] }

    func all(_ name: String) -> [String] { body.all(name) }

    /// The value, or nil when the field is missing or blank.
    func text(_ name: String) -> String? {
        guard let value = self[name], !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        return value
    }

    func required(_ name: String, label: String) throws -> String {
        guard let value = text(name) else { throw DomainError.invalid(field: label, message: "must not be empty") }
        return value
    }
}

/// Sends the browser elsewhere with 303 See Other (after a POST, or to sign in).
struct WebRedirect: Error {
    var location: String
    var cookies: [Cookie] = []
}

/// Shared secrets and cookies for the web app.
enum WebSecrets {
    static let sessionCookie = "belay_session"
    static let formCookie = "belay_form"
    static let setupCookie = "belay_setup"

    static func random() -> String { String(TokenSecrets.generate().dropFirst(TokenSecrets.prefix.count)) }

    /// Constant-time comparison, so response timing does not reveal how much of a token matched.
    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    static func cookie(_ name: String, _ value: String, maxAge: Int?, secure: Bool) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }

    static func expired(_ name: String, secure: Bool) -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .lax)
    }
}

/// Failed sign-ins, counted per account-and-client pair and per client. An attempt takes its slot before
/// the password is checked (`admit`), so forty attempts at once get the same ten checks as forty in a row,
/// and a success gives the slot back. Because the account is counted only together with the client, a
/// guesser elsewhere can spend their own attempts but never lock the owner out of the owner's address.
/// A client is also limited across accounts (`clientLimit`), against spraying one password at many.
actor SignInThrottle {
    private var failures: [String: [Date]] = [:]
    let limit: Int
    let clientLimit: Int
    let window: TimeInterval

    init(limit: Int, window: TimeInterval, clientLimit: Int? = nil) {
        self.limit = limit
        self.clientLimit = clientLimit ?? limit * 5
        self.window = window
    }

    struct Attempt: Sendable {
        fileprivate let keys: [String]
        let now: Date
    }

    /// Reserves an attempt for `account` from `client`, or nil when either limit is reached.
    func admit(account: String, client: String, now: Date) -> Attempt? {
        let keyed = [("pair:\(client)|\(account)", limit), ("client:\(client)", clientLimit)]
        for (key, cap) in keyed where recent(key, now: now) >= cap { return nil }
        for (key, _) in keyed { failures[key, default: []].append(now) }
        prune(now: now)
        return Attempt(keys: keyed.map(\.0), now: now)
    }

    /// The password was right: the attempt does not count, and earlier failures of the pair are forgotten.
    func succeeded(_ attempt: Attempt) {
        for key in attempt.keys {
            guard var dates = failures[key], let index = dates.lastIndex(of: attempt.now) else { continue }
            dates.remove(at: index)
            failures[key] = dates
        }
        failures[attempt.keys[0]] = nil
    }

    /// The client part of a key: an IPv4 address, or an IPv6 address's /64, since one host usually holds
    /// a whole /64 and could otherwise take a fresh address for every guess.
    static func clientKey(_ address: String?) -> String {
        guard let address, let ip = IPAddress(parsing: address) else { return address ?? "unknown" }
        if let v4 = ip.equivalentIPv4 { return IPAddress.v4(v4).description }
        if case .v6(let high, _) = ip { return IPAddress.v6(high: high, low: 0).description + "/64" }
        return ip.description
    }

    private func recent(_ key: String, now: Date) -> Int {
        guard let dates = failures[key] else { return 0 }
        let fresh = dates.filter { now.timeIntervalSince($0) < window }
        failures[key] = fresh.isEmpty ? nil : fresh
        return fresh.count
    }

    /// Keeps memory bounded under a flood of distinct keys: stale entries go once there are many.
    private func prune(now: Date) {
        guard failures.count > 100_000 else { return }
        failures = failures.filter { entry in entry.value.contains { now.timeIntervalSince($0) < window } }
    }
}

/// Renders web errors as pages and turns redirects into 303s, for everything under /app.
struct WebErrorMiddleware: RouterMiddleware {
    let renderer: WebRenderer

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let redirect as WebRedirect {
            var response = Response(status: .seeOther, headers: [.location: redirect.location, .cacheControl: "no-store"])
            for cookie in redirect.cookies { response.setCookie(cookie) }
            return response
        } catch {
            guard let apiError = APIError.from(error) else {
                context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))", "path": "\(LogRedaction.path(request.uri.path))"])
                return try renderer.page("app-error", WebPages.base(context, title: "Something went wrong").merging(["message": "An internal error occurred; it has been logged."]) { $1 }, status: .internalServerError)
            }
            var page = WebPages.base(context, title: apiError.status.reasonPhrase)
            page["message"] = apiError.message
            page["status"] = apiError.status.code
            return try renderer.page("app-error", page, status: apiError.status)
        }
    }
}
