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
        self.message = message
        self.isConfigurationProblem = isConfigurationProblem
    }
}

/// Runs one kind of check. Never throws: every failure is a `down` report with its reason.
public protocol Checker: Sendable {
    func check(_ monitor: Monitor, now: Date) async -> CheckReport
}
