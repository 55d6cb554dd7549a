import BelayCore
import BelayNotify
import Foundation
import HTTPTypes
import Hummingbird

/// The public subscription pages: subscribe from the status page, and confirm, manage or unsubscribe from
/// the links in emails, all without an account. A GET only shows a page; every change is a POST (mail
/// scanners follow links), and unsubscribe also takes RFC 8058's one-click POST.
struct SubscriptionController {
    let store: any BelayStore
    let clock: any WallClock
    let builder: StatusPageBuilder
    let subscriptions: Subscriptions
    let throttle: SubscribeThrottle
    let configuration: ServerConfiguration

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("subscribe", use: subscribe)
        router.get("subscriptions/confirm", use: confirmPage)
        router.post("subscriptions/confirm", use: confirm)
        router.get("subscriptions/manage", use: managePage)
        router.post("subscriptions/manage", use: manage)
        router.get("subscriptions/unsubscribe", use: unsubscribePage)
        router.post("subscriptions/unsubscribe", use: unsubscribe)
    }

    // The token names the subscription: no Referer carries it off the page, and no cache keeps the page.
    static let headers: HTTPFields = {
        var headers = WebRenderer.headers
        headers[.referrerPolicy] = "no-referrer"
        return headers
    }()

    func page(_ heading: String, _ paragraphs: [String], secret: String? = nil, form: SubscriptionPage.Form? = nil, status: HTTPResponse.Status = .ok) throws -> Response {
        let now = clock.now
        let chrome = StatusChrome(
            pageName: configuration.statusPage.pageName, title: "\(heading) - \(configuration.statusPage.pageName)", cssHref: builder.stylesheetHref,
            generatedAt: UTCTime.when(now), generatedISO: BelayJSON.formatDate(now))
        let view = SubscriptionPage(chrome: chrome, heading: heading, paragraphs: paragraphs, secret: secret, form: form)
        return Response(status: status, headers: Self.headers, body: .init(byteBuffer: ByteBuffer(string: try builder.pageTemplates.render(view))))
    }

    func unavailable() throws -> Response {
        try page("Subscriptions are not available", ["This status page does not offer subscriptions yet."], status: .notFound)
    }

    @Sendable func subscribe(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard configuration.http.publicURL != nil else { return try unavailable() }
        let form = try await FormData.read(request, context: context)
        let components = Array(Set(form.all("components").filter { !$0.isEmpty })).sorted()
        let kind: Subscriber.Kind
        let address: String
        if let email = form.text("email") {
            guard configuration.notify.hasSMTP else { return try page("Email is not available", ["This status page does not send email."], status: .unprocessableContent) }
            kind = .email
            address = email
        } else if let url = form.text("url") {
            guard let chosen = Subscriber.Kind(rawValue: form["kind"] ?? "webhook"), chosen != .email else {
                return try page("Could not subscribe", ["Choose a webhook format."], status: .unprocessableContent)
            }
            kind = chosen
            address = url
        } else {
            return try page("Could not subscribe", ["Give an email address or a webhook URL."], status: .unprocessableContent)
        }
        let client = SignInThrottle.clientKey(context.clientAddress)
        // The key is the address as it will be stored, so no spelling of it (padding, case) gets its own count.
        let key = kind == .email ? EmailAddress.normalized(address) : address.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        guard await throttle.admit(client: client, address: key, now: clock.now) else {
            var response = try page("Too many requests", ["Please wait a while before subscribing again."], status: .tooManyRequests)
            response.headers[.retryAfter] = "600"
            return response
        }
        do {
            switch try await subscriptions.subscribe(kind: kind, address: address, components: components) {
            case .confirmationSent:
                return try page("Check your email", [
                    "If the address can receive mail, a confirmation link is on its way. Follow it within 48 hours to start getting updates.",
                ])
            case .alreadyActive:
                return try page("Already subscribed", ["That webhook already receives updates; use the manage link in any message to change it."])
            case .webhookActive(let secret, let token):
                let links = Links(publicURL: configuration.baseURL)
                return try page("Subscribed", [
                    "Updates will be posted to your webhook. Keep this page's manage link to change or end the subscription: \(links.manage(token: token))",
                ], secret: secret)
            }
        } catch let error as DomainError {
            return try page("Could not subscribe", [error.message], status: .unprocessableContent)
        }
    }

    /// The subscriber a link or form names, or nil for an unknown or malformed token.
    func subscriber(_ token: String?) async throws -> Subscriber? {
        guard let token, (20...100).contains(token.count), token.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else { return nil }
        return try await store.subscriber(token: token)
    }

    func unknownLink() throws -> Response {
        try page("Link not recognised", ["This link is not valid, or the subscription was removed."], status: .notFound)
    }

    @Sendable func confirmPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let subscriber = try await subscriber(request.uri.queryParameters["token"].map(String.init)) else { return try unknownLink() }
        if subscriber.state == .confirmed { return try page("Subscribed", ["Your subscription is already confirmed."]) }
        guard subscriber.canConfirm(now: clock.now) else {
            return try page("Link expired", ["This confirmation link has expired. Subscribe again on the status page for a new one."], status: .gone)
        }
        return try page(
            "Confirm your subscription", ["Press the button to start getting updates from \(configuration.statusPage.pageName)."],
            form: .init(action: "/subscriptions/confirm", token: subscriber.token, button: "Confirm subscription", components: [], hasComponents: false))
    }

    @Sendable func confirm(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await FormData.read(request, context: context)
        guard let subscriber = try await subscriber(form["token"] ?? request.uri.queryParameters["token"].map(String.init)) else { return try unknownLink() }
        do {
            let confirmed = try SubscriptionRules.confirm(subscriber, now: clock.now)
            _ = try await store.saveSubscribers([confirmed])
            return try page(
                "Subscribed", ["You will get updates from \(configuration.statusPage.pageName). Every email has a link to change or end this."],
                form: try await manageForm(confirmed))
        } catch let error as DomainError {
            return try page("Link expired", [error.message], status: .gone)
        }
    }

    func manageForm(_ subscriber: Subscriber) async throws -> SubscriptionPage.Form {
        let components = try await store.components().filter(\.isPublic)
        let chosen = Set(subscriber.components)
        return .init(
            action: "/subscriptions/manage", token: subscriber.token, button: "Save components",
            components: components.map { ComponentChoice(slug: $0.slug, name: $0.name, checked: chosen.contains($0.slug)) },
            hasComponents: !components.isEmpty, unsubscribeAction: "/subscriptions/unsubscribe")
    }

    @Sendable func managePage(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let subscriber = try await subscriber(request.uri.queryParameters["token"].map(String.init)) else { return try unknownLink() }
        guard subscriber.state == .confirmed else {
            return try page("Not subscribed", ["This subscription is \(subscriber.state.rawValue). Subscribe again on the status page."])
        }
        return try page("Your subscription", ["Choose what you hear about, or unsubscribe."], form: try await manageForm(subscriber))
    }

    @Sendable func manage(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await FormData.read(request, context: context)
        guard var subscriber = try await subscriber(form["token"]), subscriber.state == .confirmed else { return try unknownLink() }
        let components = Array(Set(form.all("components").filter { !$0.isEmpty })).sorted()
        let known = Set(try await store.components().filter(\.isPublic).map(\.slug))
        do {
            try Subscriber.validate(kind: subscriber.kind, address: subscriber.address, components: components, known: known)
        } catch let error as DomainError {
            return try page("Could not save", [error.message], status: .unprocessableContent)
        }
        subscriber.components = components
        subscriber.updatedAt = clock.now
        let saved = try await store.saveSubscribers([subscriber])
        return try page("Saved", [components.isEmpty ? "You will hear about everything." : "You will hear about the components you chose."],
                        form: try await manageForm(saved.first ?? subscriber))
    }

    @Sendable func unsubscribePage(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let subscriber = try await subscriber(request.uri.queryParameters["token"].map(String.init)) else { return try unknownLink() }
        if subscriber.state == .unsubscribed { return try page("Unsubscribed", ["You will get no more updates."]) }
        return try page(
            "Unsubscribe", ["Press the button to stop getting updates from \(configuration.statusPage.pageName)."],
            form: .init(action: "/subscriptions/unsubscribe", token: subscriber.token, button: "Unsubscribe", components: [], hasComponents: false))
    }

    /// The button on the page, and RFC 8058's one-click POST (`List-Unsubscribe=One-Click`, token in the URL).
    @Sendable func unsubscribe(_ request: Request, context: AppRequestContext) async throws -> Response {
        let form = try await FormData.read(request, context: context)
        let token = form["token"] ?? request.uri.queryParameters["token"].map(String.init)
        guard let subscriber = try await subscriber(token) else { return try unknownLink() }
        if subscriber.state != .unsubscribed {
            _ = try await store.saveSubscribers([SubscriptionRules.unsubscribe(subscriber, now: clock.now)])
        }
        return try page("Unsubscribed", ["You will get no more updates. Subscribe again on the status page at any time."])
    }
}
