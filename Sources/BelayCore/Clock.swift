import Foundation

/// Where "now" comes from. Production uses the system clock; tests pass a fixed one.
public protocol WallClock: Sendable {
    var now: Date { get }
}

public struct SystemClock: WallClock {
    public init() {}
    public var now: Date { Date() }
}
