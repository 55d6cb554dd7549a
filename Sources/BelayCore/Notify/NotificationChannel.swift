import Foundation

/// Where a team's notifications go: a signed webhook, a chat room's incoming webhook, or email addresses.
public struct NotificationChannel: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// Signed per the Standard Webhooks specification, with Belay's versioned JSON payload.
        case webhook
        /// Slack-compatible incoming webhooks: Slack, Mattermost, Rocket.Chat.
        case slack
        /// A Microsoft Teams Workflows webhook, given an Adaptive Card.
        case teams
        case discord
        case email

        public var isHTTP: Bool { self != .email }
    }

    public var id: Int64
    public var name: String
    public var kind: Kind
    /// The URL for HTTP kinds; empty for email.
    public var url: String
    /// The addresses for email; empty for HTTP kinds.
    public var recipients: [String]
    public var rule: NotificationRule
    /// Networks this channel may reach although the egress policy refuses them (an internal relay), as
    /// CIDR text. Recorded with who allowed them.
    public var allowedNetworks: [String]
    /// Who last set `allowedNetworks`, shown beside them.
    public var allowedBy: String?
    public var isEnabled: Bool
    /// Why Belay turned the channel off (the receiver answered 410 Gone), shown until someone turns it on.
    public var disabledReason: String?
    /// The current `whsec_` signing secret (webhook kind), and the one it replaced, still signed with until
    /// `previousSecretUntil` so receivers can roll over.
    public var secret: String?
    public var previousSecret: String?
    public var previousSecretUntil: Date?
    public var createdBy: String
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: Int64 = 0, name: String, kind: Kind, url: String = "", recipients: [String] = [], rule: NotificationRule = NotificationRule(),
        allowedNetworks: [String] = [], allowedBy: String? = nil, isEnabled: Bool = true, disabledReason: String? = nil, secret: String? = nil,
        previousSecret: String? = nil, previousSecretUntil: Date? = nil, createdBy: String, createdAt: Date, updatedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.url = url
        self.recipients = recipients
        self.rule = rule
        self.allowedNetworks = allowedNetworks
        self.allowedBy = allowedNetworks.isEmpty ? nil : allowedBy ?? createdBy
        self.isEnabled = isEnabled
        self.disabledReason = disabledReason
        self.secret = secret
        self.previousSecret = previousSecret
        self.previousSecretUntil = previousSecretUntil
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    /// The secrets a message sent at `now` is signed with: the current one, and during a rotation the
    /// previous one as well.
    public func signingSecrets(at now: Date) -> [String] {
        var secrets = secret.map { [$0] } ?? []
        if let previousSecret, let until = previousSecretUntil, now < until { secrets.append(previousSecret) }
        return secrets
    }

    /// How long a replaced secret keeps signing.
    public static let rotationOverlap: TimeInterval = 24 * 3600

    /// Starts using `newSecret`, keeping the old one for `rotationOverlap`.
    public mutating func rotate(to newSecret: String, now: Date) {
        previousSecret = secret
        previousSecretUntil = now.addingTimeInterval(Self.rotationOverlap)
        secret = newSecret
        updatedAt = now
    }

    public static let maxName = 100
    public static let maxRecipients = 50

    /// Checks what a person typed. `publicURL` is required to turn a channel on: its messages link back.
    public func validate(hasPublicURL: Bool) throws {
        try Validate.text(name, field: "name", max: Self.maxName)
        if kind.isHTTP {
            try Self.validateURL(url, field: "url")
            if !recipients.isEmpty { throw DomainError.invalid(field: "recipients", message: "only email channels have recipients") }
        } else {
            if recipients.isEmpty { throw DomainError.invalid(field: "recipients", message: "an email channel needs at least one address") }
            if recipients.count > Self.maxRecipients {
                throw DomainError.invalid(field: "recipients", message: "at most \(Self.maxRecipients) addresses")
            }
            for address in recipients where !EmailAddress.isValid(address) {
                throw DomainError.invalid(field: "recipients", message: "not an email address")
            }
            if !url.isEmpty { throw DomainError.invalid(field: "url", message: "email channels have no URL") }
        }
        try rule.validate()
        if isEnabled && !hasPublicURL {
            throw DomainError.conflict(
                code: "public_url_required",
                message: "Belay's messages link to the war room, so a channel can be enabled only when Belay knows its address: start it with --public-url")
        }
    }

    /// An http(s) URL with a host, at most 2,000 characters, without control characters.
    public static func validateURL(_ text: String, field: String) throws {
        guard text.count <= 2000, Validate.isAllowedText(text), !text.contains(" "),
              let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else { throw DomainError.invalid(field: field, message: "must be an http or https URL") }
    }
}

/// Which messages a channel takes: topics, severities and components (an empty set means all).
public struct NotificationRule: Sendable, Equatable, Codable {
    public var topics: Set<NotificationTopic>
    public var severities: Set<Severity>
    public var components: Set<String>

    public init(topics: Set<NotificationTopic> = NotificationTopic.channelDefaults, severities: Set<Severity> = [], components: Set<String> = []) {
        self.topics = topics
        self.severities = severities
        self.components = components
    }

    public func validate() throws {
        if topics.isEmpty { throw DomainError.invalid(field: "topics", message: "choose at least one") }
        if topics.contains(.subscriptionConfirmation) {
            throw DomainError.invalid(field: "topics", message: "subscription.confirmation goes to subscribers only")
        }
        if components.count > 500 { throw DomainError.invalid(field: "components", message: "at most 500") }
    }

    /// Whether a message passes the rule. A message with no severity (maintenance, monitors) passes any
    /// severity filter; one with no components passes any component filter.
    public func matches(_ message: NotificationMessage) -> Bool {
        if message.topic == .test { return true }
        if message.topic == .subscriptionConfirmation { return false }
        guard topics.contains(message.topic) else { return false }
        if !severities.isEmpty, let severity = message.severity, !severities.contains(severity) { return false }
        if !components.isEmpty, !message.componentSlugs.isEmpty, components.isDisjoint(with: message.componentSlugs) { return false }
        return true
    }
}

/// The shape Belay accepts as an email address: a local part and a domain, printable ASCII, no spaces or
/// angle brackets, at most 254 characters. Deliverability is for the confirmation email to prove.
public enum EmailAddress {
    public static func isValid(_ text: String) -> Bool {
        guard (3...254).contains(text.utf8.count) else { return false }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64, parts[1].contains("."),
              !parts[1].hasPrefix("."), !parts[1].hasSuffix(".")
        else { return false }
        let forbidden = Set("<>()[]\\,;:\" ".utf8)
        return text.utf8.allSatisfy { $0 > 32 && $0 < 127 && !forbidden.contains($0) }
    }

    /// Lower-cased, trimmed: one person, one subscription.
    public static func normalized(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// A cell an export neutralised for spreadsheets ("'=x") read back as it was ("=x").
    public static func unneutralised(_ cell: String) -> String {
        guard cell.hasPrefix("'"), let next = cell.dropFirst().first, "=+-@\t\r".contains(next) else { return cell }
        return String(cell.dropFirst())
    }
}
