import Foundation

/// Which replicas are alive, and named leases on jobs only one of them may run: the state that lets any
/// number of equal replicas on one database share the work. Times are the replicas' clocks, which must
/// agree within a few seconds (NTP); leases last several renewals, so that skew is absorbed.
public protocol LeaseStore: Sendable {
    /// Records that replica `id` lives until `until`, forgets replicas expired before `now`, and returns the
    /// live ones (this one included), sorted by id.
    func renewReplica(id: String, now: Date, until: Date) async throws -> [ReplicaLease]
    /// Forgets replica `id` (a graceful shutdown hands its share over at once).
    func removeReplica(id: String) async throws
    /// Takes the lease `name` for `owner` until `until` if it is free, expired at `now`, or already `owner`'s
    /// (then renews it). Atomic: of two owners racing, one wins. Returns whether `owner` holds it.
    func acquireJobLease(name: String, owner: String, now: Date, until: Date) async throws -> Bool
    /// Gives the lease up, if `owner` holds it.
    func releaseJobLease(name: String, owner: String) async throws
}

public struct ReplicaLease: Sendable, Equatable {
    public var id: String
    public var renewedAt: Date
    public var until: Date

    public init(id: String, renewedAt: Date, until: Date) {
        self.id = id
        self.renewedAt = renewedAt
        self.until = until
    }
}

/// Which live replica checks a monitor: rendezvous (highest random weight) hashing of the monitor over the
/// replica ids. Every replica computes the same owner from the same live set, and a replica joining or
/// leaving moves only its own share. The hash is FNV-1a with a 64-bit finalizer, fixed across processes
/// (Swift's `Hasher` is seeded per process, so it cannot be used).
public enum MonitorOwnership {
    /// The replica that owns `key`, nil when there is none.
    public static func owner(of key: Int64, among replicas: [String]) -> String? {
        replicas.max { weight(key, $0) < weight(key, $1) || (weight(key, $0) == weight(key, $1) && $0 < $1) }
    }

    /// The key of work that is not a monitor but must run on one replica (pruning old results).
    public static let housekeeping: Int64 = -1

    static func weight(_ key: Int64, _ replica: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in replica.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        withUnsafeBytes(of: key.littleEndian) { bytes in
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        // splitmix64's finalizer: FNV alone leaves nearby keys' weights correlated.
        hash ^= hash >> 30
        hash = hash &* 0xbf58_476d_1ce4_e5b9
        hash ^= hash >> 27
        hash = hash &* 0x94d0_49bb_1331_11eb
        return hash ^ (hash >> 31)
    }
}
