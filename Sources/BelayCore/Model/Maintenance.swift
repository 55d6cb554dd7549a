import Foundation

public enum MaintenanceStatus: String, Codable, Sendable, CaseIterable {
    case scheduled
    case inProgress = "in_progress"
    case completed
    case cancelled

    public var isFinished: Bool { self == .completed || self == .cancelled }

    public var label: String {
        switch self {
        case .scheduled: return "Scheduled"
        case .inProgress: return "In progress"
        case .completed: return "Completed"
        case .cancelled: return "Cancelled"
        }
    }
}

public struct MaintenanceUpdate: Codable, Sendable, Equatable {
    public var id: Int64
    public var status: MaintenanceStatus
    public var body: String
    public var author: String
    public var createdAt: Date

    public init(id: Int64 = 0, status: MaintenanceStatus, body: String, author: String, createdAt: Date) {
        self.id = id
        self.status = status
        self.body = body
        self.author = author
        self.createdAt = createdAt
    }
}

/// Planned work that may affect components, announced in advance.
public struct MaintenanceWindow: Codable, Sendable, Equatable {
    public var id: Int64
    public var title: String
    public var description: String
    public var components: [String]
    public var scheduledStart: Date
    public var scheduledEnd: Date
    /// The status a person last set. See `effectiveStatus(at:)` for the status at a given time.
    public var status: MaintenanceStatus
    /// Start and complete on schedule without a person doing it.
    public var autoTransitions: Bool
    public var isPublic: Bool
    public var createdAt: Date
    public var updatedAt: Date
    public var updates: [MaintenanceUpdate]

    public init(
        id: Int64 = 0, title: String, description: String = "", components: [String], scheduledStart: Date, scheduledEnd: Date,
        status: MaintenanceStatus = .scheduled, autoTransitions: Bool = true, isPublic: Bool = true, createdAt: Date,
        updatedAt: Date, updates: [MaintenanceUpdate] = []
    ) {
        self.id = id
        self.title = title
        self.description = description
        self.components = components
        self.scheduledStart = scheduledStart
        self.scheduledEnd = scheduledEnd
        self.status = status
        self.autoTransitions = autoTransitions
        self.isPublic = isPublic
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.updates = updates
    }

    /// The status at `now`, applying the schedule when `autoTransitions` is on. A pure function of the
    /// stored window and the clock, so nothing has to wake up to flip it.
    public func effectiveStatus(at now: Date) -> MaintenanceStatus {
        guard autoTransitions else { return status }
        switch status {
        case .scheduled:
            if now >= scheduledEnd { return .completed }
            return now >= scheduledStart ? .inProgress : .scheduled
        case .inProgress:
            return now >= scheduledEnd ? .completed : .inProgress
        case .completed, .cancelled:
            return status
        }
    }

    public func isActive(at now: Date) -> Bool { effectiveStatus(at: now) == .inProgress }
    public func isUpcoming(at now: Date) -> Bool { effectiveStatus(at: now) == .scheduled }
}

/// What a person supplies to schedule maintenance.
public struct MaintenanceDraft: Codable, Sendable, Equatable {
    public var title: String
    public var description: String
    public var components: [String]
    public var scheduledStart: Date
    public var scheduledEnd: Date
    public var autoTransitions: Bool
    public var isPublic: Bool

    public init(title: String, description: String = "", components: [String], scheduledStart: Date, scheduledEnd: Date, autoTransitions: Bool = true, isPublic: Bool = true) {
        self.title = title
        self.description = description
        self.components = components
        self.scheduledStart = scheduledStart
        self.scheduledEnd = scheduledEnd
        self.autoTransitions = autoTransitions
        self.isPublic = isPublic
    }
}
