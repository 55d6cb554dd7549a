import Foundation

/// What one message says, fixed when its event is handled: a later edit of the incident does not change
/// what an earlier message said. Each channel renders it in its own format; links are built from the
/// public URL at send time.
public struct NotificationMessage: Sendable, Equatable, Codable {
    public struct ComponentRef: Sendable, Equatable, Codable {
        public var slug: String
        public var name: String
        /// The component's status this message announces ("major_outage").
        public var status: String?

        public init(slug: String, name: String, status: String? = nil) {
            self.slug = slug
            self.name = name
            self.status = status
        }
    }

    public var topic: NotificationTopic
    /// The event that caused it (0 for a test message).
    public var eventSequence: Int64
    public var occurredAt: Date
    public var title: String
    /// The incident's or maintenance's status, or the monitor's state: "investigating", "down".
    public var status: String?
    public var severity: Severity?
    public var isPublic: Bool
    public var components: [ComponentRef]
    /// The latest public update (or the maintenance description, the monitor's message).
    public var body: String?
    public var incidentID: Int64?
    public var maintenanceID: Int64?
    public var monitorID: Int64?
    public var changeID: Int64?
    public var startsAt: Date?
    public var endsAt: Date?
    /// False when the person posting the update chose not to tell subscribers.
    public var notifySubscribers: Bool

    public init(
        topic: NotificationTopic, eventSequence: Int64, occurredAt: Date, title: String, status: String? = nil, severity: Severity? = nil,
        isPublic: Bool, components: [ComponentRef] = [], body: String? = nil, incidentID: Int64? = nil, maintenanceID: Int64? = nil,
        monitorID: Int64? = nil, changeID: Int64? = nil, startsAt: Date? = nil, endsAt: Date? = nil, notifySubscribers: Bool = true
    ) {
        self.topic = topic
        self.eventSequence = eventSequence
        self.occurredAt = occurredAt
        self.title = title
        self.status = status
        self.severity = severity
        self.isPublic = isPublic
        self.components = components
        self.body = body
        self.incidentID = incidentID
        self.maintenanceID = maintenanceID
        self.monitorID = monitorID
        self.changeID = changeID
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.notifySubscribers = notifySubscribers
    }

    public var componentSlugs: Set<String> { Set(components.map(\.slug)) }

    /// "[sev2] Checkout errors: identified".
    public var headline: String {
        let prefix = severity.map { "[\($0.rawValue)] " } ?? ""
        let suffix = status.map { ": \($0)" } ?? ""
        return prefix + title + suffix
    }

    /// The message a channel's "send test" delivers.
    public static func test(channelName: String, now: Date) -> NotificationMessage {
        NotificationMessage(
            topic: .test, eventSequence: 0, occurredAt: now, title: "Test message for \(channelName)", isPublic: false,
            body: "If you can read this, Belay can reach this channel.")
    }
}
