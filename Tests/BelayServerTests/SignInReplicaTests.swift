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

    /// No account has an address over 254 characters, so such an attempt is refused without being counted
    /// or stored: twelve of them meet no 429, and the real account's own limit is untouched.
    @Test func anAddressNoAccountCanHaveIsNeitherCountedNorStored() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, _ in
            _ = try await WebAppTests.setUp(client, harness)
            var browser = Browser(client: client)
            let csrf = try Browser.csrf(in: try await browser.get("/app/sign-in"))
            let huge = String(repeating: "a", count: 100_000) + "@example.com"
            for _ in 0..<12 {
                let answer = try await browser.post("/app/sign-in", [("_csrf", csrf), ("email", huge), ("password", "x")])
                #expect(answer.status == .unauthorized)
                #expect(!String(buffer: answer.body).contains("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
            }
            let right = [("_csrf", csrf), ("email", "dana@example.com"), ("password", WebAppTests.password)]
            #expect(try await browser.post("/app/sign-in", right).status == .seeOther)
        }
    }

}
