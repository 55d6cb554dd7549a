import BelayCore
import Foundation
import Hummingbird

/// Finds the signed-in user from the session cookie on every /app request. The user is read afresh each
/// time, so a role change or a disabled account takes effect on the next request.
struct WebAuthenticator: RouterMiddleware {
    let store: any AccountStore
    let clock: any WallClock
    let configuration: ServerConfiguration

    func handle(_ request: Request, context: AppRequestContext, next: (Request, AppRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        if let value = request.cookies[WebSecrets.sessionCookie]?.value, !value.isEmpty,
            let (session, user) = try await store.session(tokenHash: TokenSecrets.hash(value))
        {
            let now = clock.now
            if user.isDisabled || !session.isValid(at: now, idleTimeout: configuration.sessions.idleTimeout, absoluteTimeout: configuration.sessions.absoluteTimeout) {
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
