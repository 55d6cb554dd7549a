import BelayCore
import Foundation
import Testing

@Suite struct SignInLimitTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)

    @Test func theTenthFailureForAPairIsTheLast() {
        let rule = SignInLimit(limit: 10, window: 900)
        #expect(rule.clientLimit == 50)
        #expect(rule.allows([9, 0]))
        #expect(rule.allows([10, 0]) == false)
        #expect(rule.allows([0, 49]))
        #expect(rule.allows([0, 50]) == false)
        // Counts that do not match the keys are refused rather than guessed at.
        #expect(rule.allows([0]) == false)
    }

    @Test func failuresCountForFifteenMinutes() {
        let rule = SignInLimit(limit: 10, window: 15 * 60)
        #expect(rule.countsSince(now) == now.addingTimeInterval(-900))
    }

    @Test func theAccountIsCountedOnlyTogetherWithTheClient() {
        let rule = SignInLimit(limit: 10, window: 900, clientLimit: 20)
        let guesser = rule.keys(account: "dana@example.com", client: "203.0.113.7")
        let owner = rule.keys(account: "dana@example.com", client: "198.51.100.2")
        #expect(guesser.pair != owner.pair)
        #expect(guesser.client == rule.keys(account: "sam@example.com", client: "203.0.113.7").client)
        #expect(guesser.all == [guesser.pair, guesser.client])
        #expect(rule.allows([0, 20]) == false)
    }
}
