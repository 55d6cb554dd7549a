import BelayCore
import Foundation
import HTTPTypes
import Hummingbird

/// First-run setup, sign-in and sign-out, invitations, and changing one's own password.
struct AccountController {
    let store: any AccountStore
    let clock: any WallClock
    let configuration: ServerConfiguration
    let renderer: WebRenderer
    let throttle: SignInThrottle
    let hasher: PasswordHasher

    func addRoutes(to app: RouterGroup<AppRequestContext>) {
        app.get("setup", use: setupPage)
        app.post("setup", use: setup)
        app.get("sign-in", use: signInPage)
        app.post("sign-in", use: signIn)
        app.post("sign-out", use: signOut)
        app.get("invite/:token", use: invitePage)
        app.post("invite/:token", use: acceptInvite)
        app.get("account", use: accountPage)
        app.post("account/password", use: changePassword)
    }

    /// Forms shown before anyone is signed in carry a random value that must match a cookie set with
    /// the form (double submit), so another site cannot post them.
    func formToken(_ request: Request) -> (String, Cookie?) {
        if let existing = request.cookies[WebSecrets.formCookie]?.value, !existing.isEmpty { return (existing, nil) }
        let token = WebSecrets.random()
        return (token, WebSecrets.cookie(WebSecrets.formCookie, token, maxAge: 3600, secure: configuration.isBehindTLS))
    }

    func checkFormToken(_ request: Request, _ form: FormData) throws {
        guard let cookie = request.cookies[WebSecrets.formCookie]?.value, let sent = form["_csrf"], WebSecrets.equal(cookie, sent) else {
            throw APIError(status: .forbidden, code: "csrf", message: "This form has expired. Reload the page and try again.")
        }
    }

    func render(_ page: some AppPage, _ request: Request, status: HTTPResponse.Status = .ok) throws -> Response {
        let (token, cookie) = formToken(request)
        var page = page
        page.chrome.csrf = token
        var response = try renderer.page(page, status: status)
        if let cookie { response.setCookie(cookie) }
        return response
    }

    /// Starts a session for `user` and sends the browser on.
    func signedIn(_ user: User, next: String) async throws -> WebRedirect {
        let secret = WebSecrets.random()
        let now = clock.now
        _ = try await store.createSession(
            WebSession(tokenHash: TokenSecrets.hash(secret), userID: user.id, csrfToken: WebSecrets.random(), createdAt: now, lastSeenAt: now))
        let target = next.hasPrefix("/app") && !next.hasPrefix("//") ? next : "/app"
        return WebRedirect(
            location: target,
            cookies: [WebSecrets.cookie(WebSecrets.sessionCookie, secret, maxAge: Int(configuration.sessions.absoluteTimeout), secure: configuration.isBehindTLS)])
    }

    // MARK: Setup

    @Sendable func setupPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        if try await store.userCount() > 0 { throw WebRedirect(location: "/app/sign-in") }
        var response = try render(SetupPage(chrome: AppChrome(context, title: "Set up Belay")), request)
        // The code travels from the link into a cookie, never into the page, so no page (not even one
        // showing an error) carries the secret.
        if let code = request.uri.queryParameters["code"].map(String.init), !code.isEmpty {
            response.setCookie(Cookie(
                name: WebSecrets.setupCookie, value: code, maxAge: 86400, path: "/app/setup", secure: configuration.isBehindTLS, httpOnly: true,
                sameSite: .strict))
        }
        return response
    }

    @Sendable func setup(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await FormData.read(request, context: context)
        try checkFormToken(request, form)
        let password = form["password"] ?? ""
        do {
            try User.validatePassword(password)
            let now = clock.now
            let admin = User(
                name: try form.required("name", label: "name"), email: try form.required("email", label: "email"), role: .admin,
                passwordHash: try await hasher.hash(password), createdAt: now, updatedAt: now)
            let code = form["code"] ?? request.cookies[WebSecrets.setupCookie]?.value ?? ""
            let user = try await store.claimSetup(tokenHash: TokenSecrets.hash(code), admin: admin, now: now)
            throw try await signedIn(user, next: "/app")
        } catch let error as DomainError {
            let page = SetupPage(chrome: AppChrome(context, title: "Set up Belay", error: error.message), name: form["name"] ?? "", email: form["email"] ?? "")
            return try render(page, request, status: .unprocessableContent)
        }
    }

    // MARK: Sign in and out

    @Sendable func signInPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        if context.user != nil { throw WebRedirect(location: "/app") }
        if try await store.userCount() == 0 {
            let error = "Belay has no users yet. Open the setup link printed when the server first started."
            return try render(SignInPage(chrome: AppChrome(context, title: "Sign in", error: error)), request)
        }
        let next = request.uri.queryParameters["next"].map(String.init) ?? "/app"
        return try render(SignInPage(chrome: AppChrome(context, title: "Sign in"), next: next), request)
    }

    @Sendable func signIn(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await FormData.read(request, context: context)
        try checkFormToken(request, form)
        let email = User.normalizedEmail(form["email"] ?? "")
        let now = clock.now
        var page = SignInPage(chrome: AppChrome(context, title: "Sign in"), email: email, next: form["next"] ?? "/app")
        // No account has an address this long (User.validate), so nothing is counted or stored for it: an
        // anonymous request must not write a megabyte key into the throttle's table.
        guard email.utf8.count <= User.maxEmailBytes else {
            page.email = ""
            page.chrome.error = "That email and password do not match an active account."
            return try render(page, request, status: .unauthorized)
        }
        guard let attempt = try await throttle.admit(account: email, client: SignInThrottle.clientKey(context.clientAddress), now: now) else {
            page.chrome.error = "Too many failed sign-ins. Wait 15 minutes and try again."
            return try render(page, request, status: .tooManyRequests)
        }
        let user = try await store.user(email: email)
        let usable = user.flatMap { !$0.isDisabled && $0.hasPassword ? $0 : nil }
        if try await hasher.verify(form["password"] ?? "", hash: usable?.passwordHash), let usable {
            try await throttle.succeeded(attempt)
            throw try await signedIn(usable, next: form["next"] ?? "/app")
        }
        page.chrome.error = "That email and password do not match an active account."
        return try render(page, request, status: .unauthorized)
    }

    /// Signs out everywhere: every session of this user ends, not only this browser's.
    @Sendable func signOut(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await FormData.read(request, context: context)
        if let user = context.user {
            try context.requireCSRF(form)
            try await store.deleteSessions(userID: user.id)
        }
        throw WebRedirect(location: "/app/sign-in", cookies: [WebSecrets.expired(WebSecrets.sessionCookie, secure: configuration.isBehindTLS)])
    }

    // MARK: Invitations

    func invitedUser(_ token: String) async throws -> User {
        guard let invitation = try await store.invitation(tokenHash: TokenSecrets.hash(token)), let userID = invitation.userID,
            invitation.expiresAt > clock.now, let user = try await store.user(id: userID)
        else {
            throw APIError(status: .notFound, code: "not_found", message: "This invitation is not valid or has expired. Ask an admin for a new one.")
        }
        return user
    }

    @Sendable func invitePage(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try await invitedUser(try context.parameters.require("token"))
        return try render(InvitePage(chrome: AppChrome(context, title: "Welcome to Belay"), user: user), request)
    }

    @Sendable func acceptInvite(_ request: Request, context: AppRequestContext) async throws -> Response {
        let token = try context.parameters.require("token")
        let user = try await invitedUser(token)
        let form = try await FormData.read(request, context: context)
        try checkFormToken(request, form)
        let password = form["password"] ?? ""
        do {
            try User.validatePassword(password)
            let hash = try await hasher.hash(password)
            let now = clock.now
            // Nobody is signed in yet: the invited person sets their own password.
            let updated = try await WriteContext.acting(as: .user(id: user.id, name: user.name)) {
                try await store.updateUser(id: user.id, keepingSession: nil) { user in
                    user.passwordHash = hash
                    user.updatedAt = now
                }
            }
            try await store.deleteInvitations(userID: user.id)
            throw try await signedIn(updated, next: "/app")
        } catch let error as DomainError {
            let page = InvitePage(chrome: AppChrome(context, title: "Welcome to Belay", error: error.message), user: user)
            return try render(page, request, status: .unprocessableContent)
        }
    }

    // MARK: Own account

    @Sendable func accountPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser(.viewer, request: request)
        let notice = request.uri.queryParameters["done"] != nil ? "Password changed. Other sessions have been signed out." : nil
        return try renderer.page(AccountPage(chrome: AppChrome(context, title: "Your account", notice: notice), email: user.email))
    }

    @Sendable func changePassword(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser(.viewer, request: request)
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        do {
            // A stolen session must not become a way to guess the password: the same throttle as signing in.
            guard let attempt = try await throttle.admit(account: user.email, client: SignInThrottle.clientKey(context.clientAddress), now: clock.now) else {
                throw APIError(status: .tooManyRequests, code: "throttled", message: "Too many wrong passwords. Wait 15 minutes and try again.")
            }
            guard try await hasher.verify(form["current"] ?? "", hash: user.passwordHash) else {
                throw DomainError.invalid(field: "current password", message: "is not right")
            }
            try await throttle.succeeded(attempt)
            let password = form["password"] ?? ""
            try User.validatePassword(password)
            let hash = try await hasher.hash(password)
            let now = clock.now
            _ = try await store.updateUser(id: user.id, keepingSession: context.session?.id) { user in
                user.passwordHash = hash
                user.updatedAt = now
            }
            throw WebRedirect(location: "/app/account?done=1")
        } catch let error as DomainError {
            let page = AccountPage(chrome: AppChrome(context, title: "Your account", error: error.message), email: user.email)
            return try renderer.page(page, status: .unprocessableContent)
        }
    }
}
