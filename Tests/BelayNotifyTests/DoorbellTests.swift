@testable import BelayNotify
import Foundation
import Testing

/// The dispatcher sleeps on a `Doorbell` between rounds. A wait's own timer, cancelled when a ring ended the
/// wait early, once rang anyway: every later wait returned at once and an idle dispatcher spun at half a core.
@Suite struct DoorbellTests {
    @Test func aWaitEndedByARingLeavesNoRingForTheNext() async throws {
        let bell = Doorbell()
        bell.ring()
        await bell.wait(upTo: .seconds(60))  // the ring before it: at once
        // Long enough for a cancelled timer task to have run (and rung, before the fix).
        try await Task.sleep(for: .milliseconds(200))
        let started = ContinuousClock.now
        await bell.wait(upTo: .seconds(1))
        // A lower bound only: a sleep never ends early, however loaded the machine.
        #expect(ContinuousClock.now - started >= .milliseconds(900), "the next wait returned at once")
    }

    @Test func aRingEndsAWaitAndTheTimeoutEndsOneWithout() async throws {
        let bell = Doorbell()
        let started = ContinuousClock.now
        async let waited: Void = bell.wait(upTo: .seconds(120))
        try await Task.sleep(for: .milliseconds(100))
        bell.ring()
        await waited
        #expect(ContinuousClock.now - started < .seconds(120))
        let quiet = ContinuousClock.now
        await bell.wait(upTo: .milliseconds(300))
        #expect(ContinuousClock.now - quiet >= .milliseconds(250))
    }
}
