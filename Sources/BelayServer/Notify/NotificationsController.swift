import BelayCore
import BelayEgress
import BelayFormats
import BelayNotify
import Foundation
import Hummingbird

/// /api/v1/channels, /api/v1/deliveries and /api/v1/notifications/health (admin).
struct NotificationsController {
    let store: any BelayStore
    let clock: any WallClock
    let dispatcher: Dispatcher
    let configuration: ServerConfiguration

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("channels", use: list)
        group.post("channels", use: create)
        group.get("channels/:id", use: show)
        group.patch("channels/:id", use: update)
        group.delete("channels/:id", use: delete)
        group.post("channels/:id/test", use: test)
        group.post("channels/:id/rotate-secret", use: rotateSecret)
        group.get("deliveries", use: deliveries)
        group.get("deliveries/:id", use: delivery)
        group.post("deliveries/:id/resend", use: resend)
        group.get("notifications/health", use: health)
    }

    var hasPublicURL: Bool { configuration.http.publicURL != nil }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> ChannelListDTO {
        _ = try context.require(.admin)
        let now = clock.now
        return ChannelListDTO(channels: try await store.channels().map { ChannelDTO($0, now: now) })
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> ChannelDTO {
        _ = try context.require(.admin)
        return ChannelDTO(try await channel(context), now: clock.now)
    }

    func channel(_ context: AppRequestContext) async throws -> NotificationChannel {
        let id = try context.resourceID("channel")
        guard let channel = try await store.channel(id: id) else { throw DomainError.notFound(what: "channel", id: String(id)) }
        return channel
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<ChannelSecretDTO> {
        _ = try context.require(.admin)
        let input = try await request.decode(as: ChannelInput.self, context: context)
        let now = clock.now
        var channel = NotificationChannel(
            name: input.name, kind: input.kind, url: input.url ?? "", recipients: input.recipients ?? [],
            rule: NotificationRule(
                topics: input.topics.map(Set.init) ?? NotificationTopic.channelDefaults, severities: Set(input.severities ?? []),
                components: Set(input.components ?? [])),
            allowedNetworks: input.allowedNetworks ?? [], isEnabled: input.enabled ?? true, createdBy: context.author, createdAt: now)
        if channel.kind == .webhook { channel.secret = WebhookSignature.newSecret() }
        try check(channel)
        let saved = try await store.createChannel(channel)
        return EditedResponse(status: .created, response: ChannelSecretDTO(channel: ChannelDTO(saved, now: now), secret: saved.secret))
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> ChannelDTO {
        _ = try context.require(.admin)
        let id = try context.resourceID("channel")
        let patch = try await request.decode(as: ChannelPatch.self, context: context)
        let now = clock.now
        let checker = self
        let author = context.author
        let saved = try await store.updateChannel(id: id) { channel in
            if let name = patch.name { channel.name = name }
            if let url = patch.url { channel.url = url }
            if let recipients = patch.recipients { channel.recipients = recipients }
            if let topics = patch.topics { channel.rule.topics = Set(topics) }
            if let severities = patch.severities { channel.rule.severities = Set(severities) }
            if let components = patch.components { channel.rule.components = Set(components) }
            if let networks = patch.allowedNetworks, networks != channel.allowedNetworks {
                channel.allowedNetworks = networks
                channel.allowedBy = networks.isEmpty ? nil : author
            }
            if let enabled = patch.enabled {
                channel.isEnabled = enabled
                // Turning a channel back on clears why Belay turned it off.
                if enabled { channel.disabledReason = nil }
            }
            channel.updatedAt = now
            try checker.check(channel)
        }
        return ChannelDTO(saved, now: now)
    }

    /// The channel's own rules, plus what only the server knows: a public URL, an SMTP relay, and that
    /// allowed networks are real CIDRs.
    func check(_ channel: NotificationChannel) throws {
        try channel.validate(hasPublicURL: hasPublicURL)
        if channel.kind == .email && channel.isEnabled && !configuration.notify.hasSMTP {
            throw DomainError.conflict(code: "smtp_required", message: "email channels need an SMTP relay: start Belay with --smtp-url and --smtp-from")
        }
        guard channel.allowedNetworks.count <= 20 else { throw DomainError.invalid(field: "allowedNetworks", message: "at most 20") }
        for network in channel.allowedNetworks {
            guard (try? CIDR.parseList(network))?.count == 1 else {
                throw DomainError.invalid(field: "allowedNetworks", message: "each entry must be one CIDR such as 10.1.2.3/32")
            }
        }
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        try await store.deleteChannel(id: try context.resourceID("channel"))
        return Response(status: .noContent)
    }

    @Sendable func test(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<DeliveryDTO> {
        _ = try context.require(.admin)
        let channel = try await channel(context)
        guard hasPublicURL else {
            throw DomainError.conflict(code: "public_url_required", message: "messages link back to Belay: start it with --public-url")
        }
        if channel.kind == .email && !configuration.notify.hasSMTP {
            throw DomainError.conflict(code: "smtp_required", message: "email channels need an SMTP relay: start Belay with --smtp-url and --smtp-from")
        }
        return EditedResponse(status: .accepted, response: DeliveryDTO(try await dispatcher.test(channel: channel)))
    }

    @Sendable func rotateSecret(_ request: Request, context: AppRequestContext) async throws -> ChannelSecretDTO {
        _ = try context.require(.admin)
        let id = try context.resourceID("channel")
        let secret = WebhookSignature.newSecret()
        let now = clock.now
        let saved = try await store.updateChannel(id: id) { channel in
            guard channel.kind == .webhook else {
                throw DomainError.conflict(code: "no_secret", message: "only webhook channels sign their messages")
            }
            channel.rotate(to: secret, now: now)
        }
        return ChannelSecretDTO(channel: ChannelDTO(saved, now: now), secret: secret)
    }

    @Sendable func deliveries(_ request: Request, context: AppRequestContext) async throws -> DeliveryListDTO {
        _ = try context.require(.admin)
        let parameters = request.uri.queryParameters
        var query = DeliveryQuery()
        if let raw = parameters["state"] {
            var states = Set<DeliveryState>()
            for part in raw.split(separator: ",", omittingEmptySubsequences: false) {
                guard let state = DeliveryState(rawValue: String(part)) else {
                    throw APIError.badRequest("state: expected pending, sending, delivered, failed or dead")
                }
                states.insert(state)
            }
            query.states = states
        }
        func id(_ name: String) throws -> Int64? {
            guard let raw = parameters[Substring(name)] else { return nil }
            guard let id = Validate.id(String(raw)) else { throw APIError.badRequest("\(name): expected an id") }
            return id
        }
        if let channel = try id("channel") { query.destination = .channel(channel) }
        if let subscriber = try id("subscriber") { query.destination = .subscriber(subscriber) }
        query.incidentID = try id("incident")
        query.beforeID = try id("before")
        if let raw = parameters["limit"] {
            guard let limit = Int(raw), (1...1000).contains(limit) else { throw APIError.badRequest("limit: expected a number from 1 to 1000") }
            query.limit = limit
        }
        return DeliveryListDTO(deliveries: try await store.deliveries(query).map { DeliveryDTO($0) })
    }

    @Sendable func delivery(_ request: Request, context: AppRequestContext) async throws -> DeliveryDTO {
        _ = try context.require(.admin)
        let id = try context.resourceID("delivery")
        guard let (delivery, attempts) = try await store.deliveryWithAttempts(id: id) else {
            throw DomainError.notFound(what: "delivery", id: String(id))
        }
        return DeliveryDTO(delivery, attempts: attempts)
    }

    @Sendable func resend(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<DeliveryDTO> {
        _ = try context.require(.admin)
        let delivery = try await store.resend(deliveryID: try context.resourceID("delivery"), now: clock.now)
        dispatcher.wake()
        return EditedResponse(status: .accepted, response: DeliveryDTO(delivery))
    }

    @Sendable func health(_ request: Request, context: AppRequestContext) async throws -> NotificationHealthDTO {
        _ = try context.require(.viewer)
        return try await NotificationHealth.read(store: store, configuration: configuration)
    }
}

/// Whether notifications work: failing channels, dead letters and what is waiting. Read by the health
/// endpoint and the app's home page.
enum NotificationHealth {
    static func read(store: any NotificationStore, configuration: ServerConfiguration) async throws -> NotificationHealthDTO {
        let counts = try await store.deliveryCounts()
        var failing: [NotificationHealthDTO.FailingChannel] = []
        for channel in try await store.channels() {
            if let reason = channel.disabledReason, !channel.isEnabled {
                failing.append(.init(id: String(channel.id), name: channel.name, reason: reason))
                continue
            }
            guard channel.isEnabled else { continue }
            // The newest delivery tells whether the channel works now.
            if let last = try await store.deliveries(DeliveryQuery(destination: .channel(channel.id), limit: 1)).first,
               last.state == .failed || last.state == .dead {
                failing.append(.init(id: String(channel.id), name: channel.name, reason: last.lastError ?? "the last delivery \(last.state.rawValue)"))
            }
        }
        let dead = counts[.dead] ?? 0
        let subscribers = try await store.subscriberCounts()
        return NotificationHealthDTO(
            // Dead letters stay counted until re-sent, but only a channel failing now makes the status fail:
            // one bounced subscriber address is not an outage of notifications.
            status: failing.isEmpty ? "ok" : "failing", publicURLConfigured: configuration.http.publicURL != nil,
            emailConfigured: configuration.notify.hasSMTP, failingChannels: failing, deadLetters: dead, failed: counts[.failed] ?? 0,
            pending: (counts[.pending] ?? 0) + (counts[.sending] ?? 0), delivered: counts[.delivered] ?? 0,
            subscribers: Dictionary(uniqueKeysWithValues: subscribers.map { ($0.key.rawValue, $0.value) }))
    }
}
