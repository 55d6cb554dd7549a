import BelayCore
import BelayFormats
import BelayNotify
import Foundation

/// Subscribing, confirming and importing: reads what is stored, asks `SubscriptionRules`, saves the
/// answer, and queues the opt-in email through the outbox (so it is retried and visible like any other).
struct Subscriptions: Sendable {
    let store: any BelayStore
    let clock: any WallClock
    let dispatcher: Dispatcher

    /// What the subscribe form led to, for the page that answers it.
    enum Result {
        case confirmationSent
        case webhookActive(secret: String?, manageToken: String)
        case alreadyActive
    }

    func subscribe(kind: Subscriber.Kind, address rawAddress: String, components: [String]) async throws -> Result {
        let address = kind == .email ? EmailAddress.normalized(rawAddress) : rawAddress.trimmingCharacters(in: .whitespacesAndNewlines)
        let known = Set(try await store.components().filter(\.isPublic).map(\.slug))
        try Subscriber.validate(kind: kind, address: address, components: components, known: known)
        let now = clock.now
        let secret = kind == .webhook ? WebhookSignature.newSecret() : nil
        let existing = try await store.subscriber(kind: kind, address: address)
        switch SubscriptionRules.subscribe(
            existing: existing, kind: kind, address: address, components: components, token: WebSecrets.random(), secret: secret, now: now)
        {
        case .unchanged:
            return kind == .email ? .confirmationSent : .alreadyActive
        case .save(let subscriber, let sendConfirmation):
            guard let saved = try await store.saveSubscribers([subscriber]).first else { throw DomainError.notFound(what: "subscriber", id: "new") }
            if sendConfirmation { try await queueConfirmation(saved) }
            if kind == .email { return .confirmationSent }
            return .webhookActive(secret: existing?.state == .confirmed ? nil : saved.secret, manageToken: saved.token)
        }
    }

    /// An admin adds a subscriber. Someone who unsubscribed, or whose address bounced, is not subscribed
    /// again by anyone but themselves (409); unknown components are refused (422).
    func add(kind: Subscriber.Kind, address rawAddress: String, components: [String], confirmed: Bool) async throws -> (Subscriber, String?) {
        let address = kind == .email ? EmailAddress.normalized(rawAddress) : rawAddress.trimmingCharacters(in: .whitespaces)
        let known = Set(try await store.components().map(\.slug))
        try Subscriber.validate(kind: kind, address: address, components: components, known: known)
        let secret = kind == .webhook ? WebhookSignature.newSecret() : nil
        let existing = try await store.subscriber(kind: kind, address: address)
        switch SubscriptionRules.imported(
            existing: existing, kind: kind, address: address, components: components, confirmed: confirmed, token: WebSecrets.random(),
            secret: secret, source: "admin", now: clock.now)
        {
        case .unchanged:
            throw DomainError.conflict(
                code: "subscriber_exists", message: "that address unsubscribed or bounced; only its owner can subscribe again, on the status page")
        case .save(let subscriber, let sendConfirmation):
            guard let saved = try await store.saveSubscribers([subscriber]).first else { throw DomainError.notFound(what: "subscriber", id: "new") }
            if sendConfirmation { try await queueConfirmation(saved) }
            return (saved, existing == nil ? saved.secret : nil)
        }
    }

    func queueConfirmation(_ subscriber: Subscriber) async throws {
        let now = clock.now
        let message = NotificationMessage(
            topic: .subscriptionConfirmation, eventSequence: 0, occurredAt: now, title: "Confirm your subscription", isPublic: true)
        let nonce = String(UInt64.random(in: .min ... .max), radix: 36)
        let delivery = Delivery(
            key: "msg_confirm_\(subscriber.id)_\(nonce)", destination: .subscriber(subscriber.id), transport: .email,
            topic: .subscriptionConfirmation, nextAttemptAt: now, createdAt: now)
        _ = try await store.enqueueDirect(message, deliveries: [delivery])
        dispatcher.wake()
    }

    /// Imports a CSV file: Belay's export, or Atlassian Statuspage's subscriber export. Columns are found by
    /// their header: the address (`email`, `email address`, `recipient`, `address`), the kind (`type`,
    /// `mode`, `method`, `kind`), components (`components`: slugs or names, separated by `;`, `|` or `,`),
    /// and whether the person confirmed (`state`/`status` = confirmed, or `confirmed` = yes/true). Rows
    /// a source marks quarantined (`quarantined_at` set) are not confirmed.
    func importCSV(_ text: String, canEmail: Bool) async throws -> ImportResultDTO {
        let rows: [[String]]
        do { rows = try CSV.parse(text) } catch { throw DomainError.invalid(field: "file", message: error.description) }
        guard let header = rows.first?.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) else {
            throw DomainError.invalid(field: "file", message: "the file is empty")
        }
        func column(_ names: [String]) -> Int? { header.firstIndex { names.contains($0) } }
        guard let addressColumn = column(["email", "email address", "email_address", "recipient", "address"]) else {
            throw DomainError.invalid(field: "file", message: "no email or address column in the header")
        }
        let kindColumn = column(["kind", "type", "mode", "method", "subscriber type"])
        let componentsColumn = column(["components", "component", "component names"])
        let stateColumn = column(["state", "status"])
        let confirmedColumn = column(["confirmed", "is_confirmed", "confirmed?"])
        let quarantinedColumn = column(["quarantined_at", "quarantined at", "quarantined"])
        let components = try await store.components()
        let bySlugOrName = Dictionary(
            components.flatMap { [($0.slug.lowercased(), $0.slug), ($0.name.lowercased(), $0.slug)] }, uniquingKeysWith: { first, _ in first })
        var result = ImportResultDTO(imported: 0, confirmed: 0, pendingConfirmation: 0, skipped: 0, errors: [])
        var confirmations: [Subscriber] = []
        var batch: [Subscriber] = []
        let now = clock.now
        for (index, row) in rows.dropFirst().enumerated() {
            func cell(_ column: Int?) -> String { column.flatMap { $0 < row.count ? row[$0].trimmingCharacters(in: .whitespaces) : nil } ?? "" }
            let kindText = cell(kindColumn).lowercased()
            // Email only: a webhook subscriber's signing secret could not be shown to anyone after an import.
            guard kindText.isEmpty || kindText == "email", canEmail else {
                result.skipped += 1
                if result.errors.count < 50 {
                    result.errors.append(canEmail
                        ? "row \(index + 2): only email subscribers are imported; add webhooks with POST /api/v1/subscribers"
                        : "row \(index + 2): email subscribers need an SMTP relay (--smtp-url)")
                }
                continue
            }
            let kind = Subscriber.Kind.email
            let address = EmailAddress.normalized(EmailAddress.unneutralised(cell(addressColumn)))
            let names = cell(componentsColumn).split(whereSeparator: { ";|,".contains($0) }).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            let slugs = names.compactMap { bySlugOrName[$0] }
            if !names.isEmpty && slugs.isEmpty && result.errors.count < 50 {
                // Statuspage names components by its own ids: a row whose components match none here follows
                // everything, and the admin is told.
                result.errors.append("row \(index + 2): its components match none here; the subscriber follows everything")
            }
            do {
                try Subscriber.validate(kind: kind, address: address, components: slugs, known: Set(components.map(\.slug)))
            } catch {
                result.skipped += 1
                if result.errors.count < 50 { result.errors.append("row \(index + 2): \((error as? DomainError)?.message ?? "invalid")") }
                continue
            }
            let state = cell(stateColumn).lowercased()
            let confirmedFlag = ["yes", "true", "1", "y"].contains(cell(confirmedColumn).lowercased())
            let quarantined = !cell(quarantinedColumn).isEmpty
            let confirmed = (state == "confirmed" || state == "active" || confirmedFlag) && !quarantined
            let existing = try await store.subscriber(kind: kind, address: address)
            guard !batch.contains(where: { $0.kind == kind && $0.address == address }) else {
                result.skipped += 1
                continue
            }
            switch SubscriptionRules.imported(
                existing: existing, kind: kind, address: address, components: slugs, confirmed: confirmed, token: WebSecrets.random(),
                secret: nil, source: "import", now: now)
            {
            case .unchanged:
                result.skipped += 1
            case .save(let subscriber, let sendConfirmation):
                batch.append(subscriber)
                result.imported += 1
                if subscriber.state == .confirmed { result.confirmed += 1 } else { result.pendingConfirmation += 1 }
                if sendConfirmation { confirmations.append(subscriber) }
            }
        }
        let saved = try await store.saveSubscribers(batch)
        for subscriber in saved where subscriber.state == .pending && confirmations.contains(where: { $0.address == subscriber.address && $0.kind == subscriber.kind }) {
            try await queueConfirmation(subscriber)
        }
        return result
    }

    /// Every subscriber as CSV, in the columns `importCSV` reads back.
    func exportCSV() async throws -> String {
        var text = CSV.line(["id", "kind", "address", "components", "state", "confirmed_at", "created_at", "source"])
        for subscriber in try await store.subscribers(SubscriberQuery()) {
            text += CSV.line([
                String(subscriber.id), subscriber.kind.rawValue, subscriber.address, subscriber.components.joined(separator: ";"),
                subscriber.state.rawValue, subscriber.confirmedAt.map(RFC3339.format) ?? "", RFC3339.format(subscriber.createdAt), subscriber.source,
            ])
        }
        return text
    }
}

/// Subscribe requests, counted per client address and per subscribed address, so the form cannot be used
/// to flood someone's inbox with confirmation emails or to fill the table.
actor SubscribeThrottle {
    private var hits: [String: [Date]] = [:]
    let perClient: Int
    let perAddress: Int
    let window: TimeInterval

    init(perClient: Int = 20, perAddress: Int = 3, window: TimeInterval = 3600) {
        self.perClient = perClient
        self.perAddress = perAddress
        self.window = window
    }

    func admit(client: String, address: String, now: Date) -> Bool {
        let keys = [("client:\(client)", perClient), ("address:\(address)", perAddress)]
        for (key, cap) in keys {
            let recent = (hits[key] ?? []).filter { now.timeIntervalSince($0) < window }
            hits[key] = recent
            if recent.count >= cap { return false }
        }
        for (key, _) in keys { hits[key, default: []].append(now) }
        if hits.count > 100_000 { hits = hits.filter { !$0.value.isEmpty && now.timeIntervalSince($0.value.last ?? now) < window } }
        return true
    }
}
