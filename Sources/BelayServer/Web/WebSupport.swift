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

/// Counts failed sign-ins per account and per client and refuses more than the limit in the window.
actor SignInThrottle {
    private var failures: [String: [Date]] = [:]
    let limit: Int
    let window: TimeInterval

    init(limit: Int, window: TimeInterval) {
        self.limit = limit
        self.window = window
    }

    func isBlocked(_ keys: [String], now: Date) -> Bool {
        keys.contains { key in (failures[key] ?? []).filter { now.timeIntervalSince($0) < window }.count >= limit }
    }

    func recordFailure(_ keys: [String], now: Date) {
        for key in keys {
            var recent = (failures[key] ?? []).filter { now.timeIntervalSince($0) < window }
            recent.append(now)
            failures[key] = recent
        }
        if failures.count > 100_000 { failures = failures.filter { !$0.value.isEmpty && now.timeIntervalSince($0.value.last!) < window } }
    }

    func reset(_ key: String) { failures[key] = nil }
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
                context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
                return try renderer.page("app-error", WebPages.base(context, title: "Something went wrong").merging(["message": "An internal error occurred; it has been logged."]) { $1 }, status: .internalServerError)
            }
            var page = WebPages.base(context, title: apiError.status.reasonPhrase)
            page["message"] = apiError.message
            page["status"] = apiError.status.code
            return try renderer.page("app-error", page, status: apiError.status)
        }
    }
}
