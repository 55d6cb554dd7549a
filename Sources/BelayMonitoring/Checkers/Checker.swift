import BelayCore
import Foundation

/// What one check found.
public struct CheckReport: Sendable, Equatable {
    public var outcome: CheckOutcome
    /// Time to the answer, when the check measured one.
    public var latencyMs: Double?
    /// One line for people: "200 OK in 12 ms", "connection refused", "certificate expires in 2 days".
    public var message: String
    /// The check could not run because of Belay's own configuration (the egress policy refused the target):
    /// the monitor shows the problem instead of going down.
    public var isConfigurationProblem: Bool

    public init(outcome: CheckOutcome, latencyMs: Double? = nil, message: String, isConfigurationProblem: Bool = false) {
        self.outcome = outcome
        self.latencyMs = latencyMs
        self.message = Self.printable(message)
        self.isConfigurationProblem = isConfigurationProblem
    }

    /// A message may quote what a monitored server sent (a status line, a certificate's name): its control
    /// characters become U+FFFD, so the message displays as stored and every backend can store it
    /// (PostgreSQL text cannot hold NUL, and one such result would fail the whole batch).
    static func printable(_ message: String) -> String {
        guard !Validate.isAllowedText(message) else { return message }
        return String(String.UnicodeScalarView(message.unicodeScalars.map { Validate.isAllowedText(String($0)) ? $0 : "\u{FFFD}" }))
    }
}

/// Runs one kind of check. Never throws: every failure is a `down` report with its reason.
public protocol Checker: Sendable {
    func check(_ monitor: Monitor, now: Date) async -> CheckReport
}
