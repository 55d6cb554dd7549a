import Foundation

/// Where "now" comes from. Production uses the system clock; tests pass a fixed one.
public protocol WallClock: Sendable {
    var now: Date { get }
}

public struct SystemClock: WallClock {
    public init() {}
    public var now: Date { Date() }
}

extension TimeZone {
    /// Coordinated Universal Time, Belay's zone for stored and shown times unless the team chose another.
    public static let utc = TimeZone(identifier: "UTC") ?? .gmt
}
