import BelayCore
import Foundation
import Hummingbird

/// Finds the signed-in user from the session cookie on every /app request. The user is read afresh each
/// time, so a role change or a disabled account takes effect on the next request.
struct WebAuthenticator: RouterMiddleware {
    let store: any BelayStore
    let clock: any WallClock
    let configuration: ServerConfiguration

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        if let value = request.cookies[WebSecrets.sessionCookie]?.value, !value.isEmpty,
            let (session, user) = try await store.session(tokenHash: TokenSecrets.hash(value))
        {
            let now = clock.now
            if user.isDisabled || !session.isValid(at: now, idleTimeout: configuration.sessionIdleTimeout, absoluteTimeout: configuration.sessionAbsoluteTimeout) {
                try await store.deleteSession(id: session.id)
            } else {
                // Writing on every request would serialise reads behind the writer; a minute's precision will do.
                if now.timeIntervalSince(session.lastSeenAt) > 60 { try await store.touchSession(id: session.id, at: now) }
                context.user = user
                context.session = session
            }
        }
        guard let user = context.user else { return try await next(request, context) }
        // Every event this request writes records the signed-in person as its actor.
        return try await WriteContext.acting(as: .user(id: user.id, name: user.name)) { [context] in try await next(request, context) }
    }
}

extension AppRequestContext {
    /// The signed-in user with at least `role`; otherwise a redirect to sign in (GET) or a 401/403.
    func requireUser(_ role: AccessRole, request: Request) throws -> User {
        guard let user else {
            if request.method == .get {
                let back = request.uri.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "/app"
                throw WebRedirect(location: "/app/sign-in?next=\(back)")
            }
            throw APIError(status: .unauthorized, code: "unauthorized", message: "Your session has ended. Sign in again.")
        }
        guard user.role.allows(role) else {
            throw APIError(status: .forbidden, code: "forbidden", message: "This needs the \(role.rawValue) role; you are \(user.role.rawValue).")
        }
        return user
    }

    /// Checks the form's CSRF token against the session's; a form from another site cannot carry it.
    func requireCSRF(_ form: FormData) throws {
        guard let session, let sent = form["_csrf"], WebSecrets.equal(sent, session.csrfToken) else {
            throw APIError(status: .forbidden, code: "csrf", message: "This form has expired or did not come from Belay. Go back, reload the page and try again.")
        }
    }
}

/// Values every app page shows: who is signed in, what they may do, and the CSRF token for forms.
enum WebPages {
    static func base(_ context: AppRequestContext, title: String) -> [String: Any] {
        var page: [String: Any] = ["title": title, "signedIn": context.user != nil]
        if let user = context.user {
            page["userName"] = user.name
            page["userRole"] = user.role.rawValue
            page["isAdmin"] = user.role == .admin
            page["isResponder"] = user.role.allows(.responder)
        }
        page["csrf"] = context.session?.csrfToken ?? ""
        return page
    }

    /// The base page plus the reason a refused form gave, carried back in `?error=`.
    static func base(_ context: AppRequestContext, _ request: Request, title: String) -> [String: Any] {
        var page = base(context, title: title)
        page["error"] = request.uri.queryParameters["error"].map(String.init)
        return page
    }

    /// "2026-11-21T16:21" for datetime-local inputs, in UTC.
    static func localInput(_ date: Date?) -> String {
        guard let date else { return "" }
        return String(BelayJSON.formatDate(date).prefix(16))
    }

    /// Reads a datetime-local value as UTC.
    static func parseLocalInput(_ text: String, field: String) throws -> Date {
        let full = text.count == 16 ? text + ":00Z" : (text.hasSuffix("Z") ? text : text + "Z")
        guard let date = BelayJSON.parseDate(full) else {
            throw DomainError.invalid(field: field, message: "must be a date and time like 2026-11-21T16:21 (UTC)")
        }
        return date
    }

    static func when(_ date: Date) -> String { StatusPageViews.when(date) }
}
