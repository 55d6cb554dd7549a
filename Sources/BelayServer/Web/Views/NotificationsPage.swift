import BelayCore
import BelayNotify
import Foundation

/// `/app/notifications`: channels with their state and a "send test" button, the form to add one,
/// deliveries that failed or died (with "re-send"), and subscriber counts.
struct NotificationsPage: AppPage {
    static let template = "notifications"
    var chrome: AppChrome
    /// Why nothing can be sent yet (no public URL, no SMTP relay), in words.
    var blockers: [String]
    var hasBlockers: Bool
    var channels: [ChannelRow]
    var hasChannels: Bool
    var kinds: [Choice]
    var topics: [Choice]
    var problems: [DeliveryRow]
    var hasProblems: Bool
    var recent: [DeliveryRow]
    var subscribers: [Count]
    /// A webhook channel's secret, shown once after it was made.
    var newSecret: String?
    var newSecretChannel: String?

    struct ChannelRow {
        var id: String
        var name: String
        var kind: String
        var target: String
        var enabled: Bool
        var state: String
        var stateClass: String
        /// The networks an admin allowed, and who; nil when none (an empty string would open the section).
        var allowed: String?
    }

    struct DeliveryRow {
        var id: String
        var destination: String
        var topic: String
        var state: String
        var stateClass: String
        var attempts: Int
        /// Nil when there is none: an empty string would open the template's section.
        var lastError: String?
        var incident: String?
        var when: String
        var canResend: Bool
    }

    struct Count {
        var state: String
        var count: Int
    }
}

extension NotificationsPage.DeliveryRow {
    init(_ delivery: Delivery, channels: [Int64: NotificationChannel]) {
        let destination: String = switch delivery.destination {
        case .channel(let id): channels[id]?.name ?? "channel \(id) (deleted)"
        case .subscriber(let id): "subscriber \(id)"
        }
        self.init(
            id: String(delivery.id), destination: destination, topic: delivery.topic.rawValue, state: delivery.state.rawValue,
            stateClass: "delivery-\(delivery.state.rawValue)", attempts: delivery.attemptCount, lastError: delivery.lastError.flatMap { $0.isEmpty ? nil : $0 },
            incident: delivery.incidentID.map(String.init), when: UTCTime.when(delivery.deliveredAt ?? delivery.createdAt),
            canResend: delivery.state == .dead || delivery.state == .failed)
    }
}
