import BelayCore
import BelayFormats
import Foundation

/// Failed sign-ins, counted in the store so every replica on one database sees the same ones; `SignInLimit`
/// is the rule. An attempt takes its slot before the password is checked (`admit`), so forty attempts at once
/// get the same ten checks as forty in a row, and a success gives the slot back and forgets the pair's failures.
struct SignInThrottle: Sendable {
    let store: any AccountStore
    let rule: SignInLimit

    init(store: any AccountStore, limit: Int, window: TimeInterval, clientLimit: Int? = nil) {
        self.store = store
        self.rule = SignInLimit(limit: limit, window: window, clientLimit: clientLimit)
    }

    struct Attempt: Sendable {
        fileprivate let id: String
        fileprivate let keys: SignInLimit.Keys
        let now: Date
    }

    /// Reserves an attempt for `account` from `client`, or nil when either limit is reached.
    func admit(account: String, client: String, now: Date) async throws -> Attempt? {
        let keys = rule.keys(account: account, client: client)
        let id = UUID().uuidString
        let rule = rule
        let recorded = try await store.recordSignInFailure(attempt: id, keys: keys.all, at: now, since: rule.countsSince(now)) { counts in
            rule.allows(counts)
        }
        return recorded ? Attempt(id: id, keys: keys, now: now) : nil
    }

    /// The password was right: the attempt does not count, and earlier failures of the pair are forgotten.
    func succeeded(_ attempt: Attempt) async throws {
        try await store.clearSignInFailures(attempt: attempt.id, key: attempt.keys.pair)
    }

    /// The client part of a key: an IPv4 address, or an IPv6 address's /64, since one host usually holds
    /// a whole /64 and could otherwise take a fresh address for every guess.
    static func clientKey(_ address: String?) -> String {
        guard let address, let ip = IPAddress(parsing: address) else { return address ?? "unknown" }
        if let v4 = ip.equivalentIPv4 { return IPAddress.v4(v4).description }
        if case .v6(let high, _) = ip { return IPAddress.v6(high: high, low: 0).description + "/64" }
        return ip.description
    }
}
