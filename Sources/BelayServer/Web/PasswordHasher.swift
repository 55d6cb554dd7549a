import BelayCore
import HummingbirdBcrypt
import NIOCore
import NIOPosix

/// bcrypt off the event loops, a few at a time. A hash costs tens of milliseconds of CPU by design; run
/// on an event loop, sixteen sign-ins at once stall every page. Here they run on NIO's blocking pool,
/// at most `concurrency` at once, and at most `maxWaiting` more wait their turn; beyond that a sign-in is
/// refused with 503 rather than queued without end.
final class PasswordHasher: Sendable {
    let cost: UInt8
    private let gate: AsyncGate

    /// A valid hash of a random password, checked against when the account does not exist, so the answer
    /// takes as long for an unknown email as for a wrong password.
    private let decoy: String

    init(cost: UInt8, concurrency: Int = max(1, System.coreCount / 2), maxWaiting: Int = 64) {
        self.cost = cost
        self.gate = AsyncGate(width: concurrency, maxWaiting: maxWaiting)
        self.decoy = Bcrypt.hash(WebSecrets.random(), cost: cost)
    }

    func hash(_ password: String) async throws -> String {
        let cost = cost
        return try await bounded { try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) } }
    }

    /// Whether `password` matches `hash`; with no hash (no such account, or no password set) it checks the
    /// decoy and answers false.
    func verify(_ password: String, hash: String?) async throws -> Bool {
        let target = hash ?? decoy
        let matches = try await bounded { try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: target) } }
        return hash != nil && matches
    }

    private func bounded<T: Sendable>(_ work: @Sendable () async throws -> T) async throws -> T {
        do {
            return try await gate.run(work)
        } catch is AsyncGate.Full {
            var error = APIError(status: .serviceUnavailable, code: "busy", message: "Too many sign-ins at once; try again in a moment.")
            error.headers[.retryAfter] = "1"
            throw error
        }
    }
}

/// Lets at most `width` tasks run a piece of work at once and `maxWaiting` wait; more are refused.
actor AsyncGate {
    struct Full: Error {}

    private let width: Int
    private let maxWaiting: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(width: Int, maxWaiting: Int) {
        self.width = width
        self.maxWaiting = maxWaiting
    }

    func run<T: Sendable>(_ work: @Sendable () async throws -> T) async throws -> T {
        if running >= width {
            guard waiting.count < maxWaiting else { throw Full() }
            await withCheckedContinuation { waiting.append($0) }
        } else {
            running += 1
        }
        defer {
            if waiting.isEmpty { running -= 1 } else { waiting.removeFirst().resume() }
        }
        return try await work()
    }
}
