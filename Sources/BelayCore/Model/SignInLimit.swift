import Foundation

/// The rule for failed sign-ins, apart from where they are counted. Failures are counted per account-and-client
/// pair and per client: because the account is counted only together with the client, a guesser elsewhere can
/// spend their own attempts but never lock the owner out of the owner's address, and a client spraying one
/// password at many accounts meets `clientLimit`.
public struct SignInLimit: Sendable, Equatable {
    /// Failures allowed for one account from one client within `window`.
    public let limit: Int
    /// Failures allowed from one client across all accounts within `window`.
    public let clientLimit: Int
    public let window: TimeInterval

    public init(limit: Int, window: TimeInterval, clientLimit: Int? = nil) {
        self.limit = limit
        self.clientLimit = clientLimit ?? limit * 5
        self.window = window
    }

    /// The keys one attempt is counted under: the pair first, then the client.
    public struct Keys: Sendable, Equatable {
        public let pair: String
        public let client: String
        public var all: [String] { [pair, client] }
    }

    public func keys(account: String, client: String) -> Keys {
        Keys(pair: "pair:\(client)|\(account)", client: "client:\(client)")
    }

    /// Failures at or after this instant still count at `now`; older ones are forgotten.
    public func countsSince(_ now: Date) -> Date { now.addingTimeInterval(-window) }

    /// Whether an attempt may go ahead, given the failures still counting for its keys (in `Keys.all` order).
    public func allows(_ failures: [Int]) -> Bool {
        guard failures.count == 2 else { return false }
        return failures[0] < limit && failures[1] < clientLimit
    }
}
