import BelayCore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// This replica's place among the live ones: renews its lease in the database every few seconds, keeps the
/// live set (`ReplicaView`), and answers which monitors are its to check (`MonitorOwnership`). Before its
/// first renewal it owns nothing; alone (one process on SQLite) it owns everything. On graceful shutdown it
/// leaves at once, so the others take its monitors without waiting for its lease to expire.
final class ReplicaMembership: Service, Sendable {
    let id: String
    private let store: any LeaseStore
    private let clock: any WallClock
    private let renewEvery: Duration
    private let logger: Logger
    private let view = Mutex(ReplicaView())
    /// When this replica's own lease, as last renewed, runs out.
    private let leaseEnds = Mutex<Date?>(nil)
    private let observers = Mutex<[@Sendable (_ replicas: Int) -> Void]>([])

    init(id: String = ReplicaMembership.makeID(), store: any LeaseStore, clock: any WallClock, renewEvery: Duration = .seconds(5), logger: Logger) {
        self.id = id
        self.store = store
        self.clock = clock
        self.renewEvery = renewEvery
        self.logger = logger
    }

    /// `observer` runs after a renewal that changed the live set, and after every renewal while there are
    /// others, with the number of live replicas: the scheduler then reloads, learning of monitors made on
    /// other replicas and of which are now its own.
    func observe(_ observer: @escaping @Sendable (_ replicas: Int) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Host name, process id and a random part: unique across machines and restarts.
    static func makeID() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// A lease lasts three renewals: one missed renewal (a slow database) does not hand the work over.
    var leaseLength: TimeInterval {
        3 * (Double(renewEvery.components.seconds) + Double(renewEvery.components.attoseconds) / 1e18)
    }

    /// How long after this replica sees a change every other replica has seen it too: each renews once per
    /// `renewEvery`, plus the renewal's own time.
    var handover: TimeInterval { leaseLength / 2 }

    var replicas: [String] { view.withLock { $0.live } }

    func owns(_ key: Int64) -> Bool {
        let now = clock.now
        let view = view.withLock { $0 }
        // A replica that could not renew (the database unreachable from here) stops checking once its lease
        // has run out, when the others may have taken its share: no monitor is checked by two for long.
        if let ends = leaseEnds.withLock({ $0 }), now > ends, view.live.count > 1 { return false }
        return view.owns(key, me: id, at: now)
    }

    /// One renewal; returns the live set (also kept).
    @discardableResult
    func renew() async throws -> [String] {
        let now = clock.now
        var ids = try await store.renewReplica(id: id, now: now, until: now.addingTimeInterval(leaseLength)).map(\.id)
        if !ids.contains(id) { ids = (ids + [id]).sorted() }
        // Back after its lease ran out, this replica is a newcomer to the others, who shared its monitors out
        // meanwhile: it learns the set again as a joining replica does.
        let lapsed = leaseEnds.withLock { ends in
            defer { ends = now.addingTimeInterval(leaseLength) }
            return ends.map { now > $0 } ?? false
        }
        let changed = view.withLock { view -> Bool in
            if lapsed { view = ReplicaView() }
            return view.observe(ids, me: id, at: now, handover: handover)
        }
        if changed { logger.info("replicas changed", metadata: ["replicas": "\(ids.count)", "replica": "\(id)"]) }
        if changed || ids.count > 1 {
            for observer in observers.withLock({ $0 }) { observer(ids.count) }
        }
        return ids
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.renew()
                } catch is CancellationError {
                    return
                } catch {
                    self.logger.error("could not renew this replica's lease", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: self.renewEvery)
            }
        }
        do {
            try await store.removeReplica(id: id)
        } catch {
            logger.warning("could not leave the replica set; the others take over when the lease expires", metadata: ["error": "\(error)"])
        }
    }
}
