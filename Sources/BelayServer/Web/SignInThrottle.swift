import BelayFormats
import Foundation

/// Failed sign-ins, counted per account-and-client pair and per client. An attempt takes its slot before
/// the password is checked (`admit`), so forty attempts at once get the same ten checks as forty in a row,
/// and a success gives the slot back. Because the account is counted only together with the client, a
/// guesser elsewhere can spend their own attempts but never lock the owner out of the owner's address.
/// A client is also limited across accounts (`clientLimit`), against spraying one password at many.
actor SignInThrottle {
    private var failures: [String: [Date]] = [:]
    let limit: Int
    let clientLimit: Int
    let window: TimeInterval

    init(limit: Int, window: TimeInterval, clientLimit: Int? = nil) {
        self.limit = limit
        self.clientLimit = clientLimit ?? limit * 5
        self.window = window
    }

    struct Attempt: Sendable {
        fileprivate let keys: [String]
        let now: Date
    }

    /// Reserves an attempt for `account` from `client`, or nil when either limit is reached.
    func admit(account: String, client: String, now: Date) -> Attempt? {
        let keyed = [("pair:\(client)|\(account)", limit), ("client:\(client)", clientLimit)]
        for (key, cap) in keyed where recent(key, now: now) >= cap { return nil }
        for (key, _) in keyed { failures[key, default: []].append(now) }
        prune(now: now)
        return Attempt(keys: keyed.map(\.0), now: now)
    }

    /// The password was right: the attempt does not count, and earlier failures of the pair are forgotten.
    func succeeded(_ attempt: Attempt) {
        for key in attempt.keys {
            guard var dates = failures[key], let index = dates.lastIndex(of: attempt.now) else { continue }
            dates.remove(at: index)
            failures[key] = dates
        }
        failures[attempt.keys[0]] = nil
    }

    /// The client part of a key: an IPv4 address, or an IPv6 address's /64, since one host usually holds
    /// a whole /64 and could otherwise take a fresh address for every guess.
    static func clientKey(_ address: String?) -> String {
        guard let address, let ip = IPAddress(parsing: address) else { return address ?? "unknown" }
        if let v4 = ip.equivalentIPv4 { return IPAddress.v4(v4).description }
        if case .v6(let high, _) = ip { return IPAddress.v6(high: high, low: 0).description + "/64" }
        return ip.description
    }

    private func recent(_ key: String, now: Date) -> Int {
        guard let dates = failures[key] else { return 0 }
        let fresh = dates.filter { now.timeIntervalSince($0) < window }
        failures[key] = fresh.isEmpty ? nil : fresh
        return fresh.count
    }

    /// Keeps memory bounded under a flood of distinct keys: stale entries go once there are many.
    private func prune(now: Date) {
        guard failures.count > 100_000 else { return }
        failures = failures.filter { entry in entry.value.contains { now.timeIntervalSince($0) < window } }
    }
}
