import Foundation

/// Who did something: a signed-in person, an API token, an alert integration, a monitor, or Belay itself.
/// Every stored event carries one, so a reader of the log can always answer "who".
public enum Actor: Sendable, Equatable, Hashable, Codable {
    case user(id: Int64, name: String)
    case token(id: Int64, name: String)
    case integration(id: Int64, name: String)
    case monitor(id: Int64, name: String)
    /// Belay's own jobs: auto-resolve, maintenance by the clock, pruning.
    case system

    public enum Kind: String, Sendable, Codable, CaseIterable {
        case user, token, integration, monitor, system
    }

    public var kind: Kind {
        switch self {
        case .user: .user
        case .token: .token
        case .integration: .integration
        case .monitor: .monitor
        case .system: .system
        }
    }

    public var id: Int64? {
        switch self {
        case .user(let id, _), .token(let id, _), .integration(let id, _), .monitor(let id, _): id
        case .system: nil
        }
    }

    /// The name the timeline shows as author.
    public var displayName: String {
        switch self {
        case .user(_, let name): name
        case .token(_, let name): "token:\(name)"
        case .integration(_, let name): "integration: \(name)"
        case .monitor(_, let name): "monitor: \(name)"
        case .system: "belay"
        }
    }

    /// The actor of a signal source (the timeline has always named sources this way).
    public init(_ source: SignalSource) {
        switch source.kind {
        case .integration: self = .integration(id: source.id, name: source.name)
        case .monitor: self = .monitor(id: source.id, name: source.name)
        }
    }

    public init(kind: Kind, id: Int64?, name: String) {
        switch (kind, id) {
        case (.user, let id?): self = .user(id: id, name: name)
        case (.token, let id?): self = .token(id: id, name: name)
        case (.integration, let id?): self = .integration(id: id, name: name)
        case (.monitor, let id?): self = .monitor(id: id, name: name)
        default: self = .system
        }
    }

    public var name: String {
        switch self {
        case .user(_, let name), .token(_, let name), .integration(_, let name), .monitor(_, let name): name
        case .system: "belay"
        }
    }
}

/// The circumstances of the writes a task makes, recorded on every event they append.
///
/// The actor belongs to the request (or job) the way a trace does: it is set once where the caller is
/// authenticated, and the store reads it when it appends events, so no domain signature has to carry it.
public struct WriteContext: Sendable, Equatable {
    public var actor: Actor
    /// Events written while replaying a postmortem, seeding the demo or importing data describe the past:
    /// they are logged but never announced (no notification is sent for them).
    public var announce: Bool

    public init(actor: Actor, announce: Bool = true) {
        self.actor = actor
        self.announce = announce
    }

    @TaskLocal public static var current = WriteContext(actor: .system)

    /// Runs `work` with `actor` recorded on every event it writes.
    public static func acting<T>(as actor: Actor, _ work: () async throws -> T) async rethrows -> T {
        try await $current.withValue(WriteContext(actor: actor, announce: current.announce), operation: work)
    }

    /// Runs `work` so that the events it writes are kept but never announced.
    public static func unannounced<T>(_ work: () async throws -> T) async rethrows -> T {
        try await $current.withValue(WriteContext(actor: current.actor, announce: false), operation: work)
    }
}
