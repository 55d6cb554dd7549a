import BelayCore
import BelayFormats
import BelayNotify
import Foundation
import Hummingbird

/// The app's notifications page: channels (add, send test, turn on or off, delete) and deliveries
/// that failed or died (re-send). Admins only: channels hold credentials (webhook URLs, secrets).
struct NotificationsWebController {
    let store: any BelayStore
    let clock: any WallClock
    let dispatcher: Dispatcher
    let configuration: ServerConfiguration
    let renderer: WebRenderer

    func addRoutes(to app: RouterGroup<AppRequestContext>) {
        app.get("notifications", use: page)
        app.post("notifications/channels", use: addChannel)
        app.post("notifications/channels/:id/:action", use: channelAction)
        app.post("notifications/deliveries/:id/resend", use: resend)
    }

    /// What stops notifications from going out, in words for the admin.
    static func blockers(_ configuration: ServerConfiguration) -> [String] {
        var blockers: [String] = []
        if configuration.http.publicURL == nil {
            blockers.append("Belay does not know its public address, so messages could not link back to it: start it with --public-url https://status.example.com. Until then no channel can be turned on and the status page offers no subscriptions.")
        }
        if !configuration.notify.hasSMTP {
            blockers.append("No SMTP relay is configured (--smtp-url, --smtp-from), so email channels and email subscribers are not available.")
        }
        return blockers
    }

    func view(_ context: AppRequestContext, _ request: Request) async throws -> NotificationsPage {
        let channels = try await store.channels()
        let byID = Dictionary(channels.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var rows: [NotificationsPage.ChannelRow] = []
        for channel in channels {
            let last = try await store.deliveries(DeliveryQuery(destination: .channel(channel.id), limit: 1)).first
            let state: String
            if !channel.isEnabled {
                state = channel.disabledReason.map { "off: \($0)" } ?? "off"
            } else if let last, last.state == .failed || last.state == .dead {
                state = "failing: \(last.lastError ?? last.state.rawValue)"
            } else if let last {
                state = "\(last.state.rawValue) \(UTCTime.when(last.deliveredAt ?? last.createdAt))"
            } else {
                state = "nothing sent yet"
            }
            rows.append(.init(
                id: String(channel.id), name: channel.name, kind: channel.kind.rawValue,
                target: channel.kind == .email ? channel.recipients.joined(separator: ", ") : ChannelDTO.redactedURL(channel.url),
                enabled: channel.isEnabled, state: state, stateClass: state.hasPrefix("failing") || state.hasPrefix("off:") ? "delivery-dead" : "",
                allowed: channel.allowedNetworks.isEmpty ? nil : channel.allowedNetworks.joined(separator: ", ") + " (allowed by \(channel.allowedBy ?? "unknown"))"))
        }
        let problems = try await store.deliveries(DeliveryQuery(states: [.failed, .dead], limit: 50))
        let recent = try await store.deliveries(DeliveryQuery(limit: 20))
        let counts = try await store.subscriberCounts()
        let blockers = Self.blockers(configuration)
        return NotificationsPage(
            chrome: AppChrome(context, request, title: "Notifications"), blockers: blockers, hasBlockers: !blockers.isEmpty,
            channels: rows, hasChannels: !rows.isEmpty,
            kinds: NotificationChannel.Kind.allCases.map { Choice($0.rawValue) },
            topics: NotificationTopic.allCases.filter { $0 != .test && $0 != .subscriptionConfirmation }.map {
                Choice(value: $0.rawValue, label: $0.label, selected: NotificationTopic.channelDefaults.contains($0))
            },
            problems: problems.map { .init($0, channels: byID) }, hasProblems: !problems.isEmpty,
            recent: recent.map { .init($0, channels: byID) },
            subscribers: Subscriber.State.allCases.map { .init(state: $0.rawValue, count: counts[$0] ?? 0) })
    }

    @Sendable func page(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.admin, request: request)
        return try renderer.page(try await view(context, request))
    }

    @Sendable func addChannel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser(.admin, request: request)
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        let now = clock.now
        do {
            guard let kind = NotificationChannel.Kind(rawValue: form["kind"] ?? "") else {
                throw DomainError.invalid(field: "kind", message: "choose webhook, slack, teams, discord or email")
            }
            let topics = form.all("topics").compactMap(NotificationTopic.init(rawValue:))
            let recipients = (form["recipients"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            var channel = NotificationChannel(
                name: form["name"] ?? "", kind: kind, url: kind.isHTTP ? (form["url"] ?? "") : "", recipients: kind == .email ? recipients : [],
                rule: NotificationRule(topics: Set(topics)), allowedNetworks: form.text("allowedNetworks").map { [$0.trimmingCharacters(in: .whitespaces)] } ?? [],
                createdBy: user.name, createdAt: now)
            if kind == .webhook { channel.secret = WebhookSignature.newSecret() }
            try NotificationsController(store: store, clock: clock, dispatcher: dispatcher, configuration: configuration).check(channel)
            let saved = try await store.createChannel(channel)
            var page = try await view(context, request)
            page.newSecret = saved.secret
            page.newSecretChannel = saved.secret == nil ? nil : saved.name
            return try renderer.page(page, status: .created)
        } catch let error as DomainError {
            throw AppController.failure("/app/notifications", error)
        }
    }

    @Sendable func channelAction(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.admin, request: request)
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        let id = try context.resourceID("channel")
        let action = try context.parameters.require("action")
        let now = clock.now
        let hasPublicURL = configuration.http.publicURL != nil
        do {
            switch action {
            case "test":
                guard let channel = try await store.channel(id: id) else { throw DomainError.notFound(what: "channel", id: String(id)) }
                guard hasPublicURL else { throw DomainError.conflict(code: "public_url_required", message: "start Belay with --public-url first") }
                _ = try await dispatcher.test(channel: channel)
            case "enable", "disable":
                _ = try await store.updateChannel(id: id) { channel in
                    channel.isEnabled = action == "enable"
                    if channel.isEnabled { channel.disabledReason = nil }
                    channel.updatedAt = now
                    try channel.validate(hasPublicURL: hasPublicURL)
                }
            case "delete":
                try await store.deleteChannel(id: id)
            default:
                throw DomainError.notFound(what: "action", id: action)
            }
            throw WebRedirect(location: "/app/notifications")
        } catch let error as DomainError {
            throw AppController.failure("/app/notifications", error)
        }
    }

    @Sendable func resend(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireUser(.admin, request: request)
        let form = try await FormData.read(request, context: context)
        try context.requireCSRF(form)
        do {
            _ = try await store.resend(deliveryID: try context.resourceID("delivery"), now: clock.now)
            dispatcher.wake()
            throw WebRedirect(location: "/app/notifications")
        } catch let error as DomainError {
            throw AppController.failure("/app/notifications", error)
        }
    }
}
