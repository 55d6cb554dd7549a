import BelaySQLite
import BelayServer
import BelayTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Two Belay servers on one database file, as two replicas behind a load balancer: failed sign-ins on
/// either count against the same limit.
@Suite struct SignInReplicaTests {
    @Test func twoAppsOnOneDatabaseShareTheFailedSignInCount() async throws {
        let harness = try await Harness.make()
        try await harness.run { first, _ in
            _ = try await WebAppTests.setUp(first, harness)
            // A second pool on the same file, opened as a second `belay serve` would open it.
            let other = try AppDatabase.open(directory: harness.directory)
            let second = try await BelayApp.build(store: other, configuration: harness.configuration, clock: harness.clock, logger: harness.logger)
            try await second.application(logger: harness.logger).test(.router) { secondClient in
                var one = Browser(client: first)
                var two = Browser(client: secondClient)
                let csrfOne = try Browser.csrf(in: try await one.get("/app/sign-in"))
                let csrfTwo = try Browser.csrf(in: try await two.get("/app/sign-in"))
                let wrong = [("email", "dana@example.com"), ("password", "wrong password")]
                for _ in 0..<5 { #expect(try await one.post("/app/sign-in", [("_csrf", csrfOne)] + wrong).status == .unauthorized) }
                for _ in 0..<5 { #expect(try await two.post("/app/sign-in", [("_csrf", csrfTwo)] + wrong).status == .unauthorized) }
                // The eleventh attempt, even with the right password, is refused by either replica.
                let right = [("email", "dana@example.com"), ("password", WebAppTests.password)]
                #expect(try await one.post("/app/sign-in", [("_csrf", csrfOne)] + right).status == .tooManyRequests)
                #expect(try await two.post("/app/sign-in", [("_csrf", csrfTwo)] + right).status == .tooManyRequests)
                // The window passes for both at once.
                harness.clock.advance(by: 15 * 60 + 1)
                #expect(try await two.post("/app/sign-in", [("_csrf", csrfTwo)] + right).status == .seeOther)
            }
        }
    }
}
