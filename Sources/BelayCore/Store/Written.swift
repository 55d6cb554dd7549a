import Foundation

/// What a backend's write transaction returns: its value and the events it appends to the log, in the
/// same transaction. Shared by every backend so each writes events the same way.
public struct Written<T: Sendable>: Sendable {
    public var value: T
    public var groups: [EventGroup]

    public init(_ value: T, _ events: [DomainEvent]) {
        self.value = value
        self.groups = [EventGroup(actor: nil, events: events)]
    }

    public init(_ value: T, groups: [EventGroup]) {
        self.value = value
        self.groups = groups
    }
}

/// Events caused by one actor; `nil` means the task's own (`WriteContext.current`).
public struct EventGroup: Sendable {
    public var actor: Actor?
    public var events: [DomainEvent]

    public init(actor: Actor?, events: [DomainEvent]) {
        self.actor = actor
        self.events = events
    }
}

extension Written where T == Void {
    public init(_ events: [DomainEvent]) { self.init((), events) }
}
