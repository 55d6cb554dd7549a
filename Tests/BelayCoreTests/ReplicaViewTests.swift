import BelayCore
import Foundation
import Testing

struct ReplicaViewTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    let handover: TimeInterval = 7.5
    let keys = Array(Int64(1)...300)

    func share(of replica: String, among replicas: [String]) -> Set<Int64> {
        Set(keys.filter { MonitorOwnership.owner(of: $0, among: replicas) == replica })
    }

    func owned(by replica: String, in view: ReplicaView, at date: Date) -> Set<Int64> {
        Set(keys.filter { view.owns($0, me: replica, at: date) })
    }

    @Test func beforeItsFirstLiveSetAReplicaOwnsNothingAndAloneItOwnsEverything() {
        var view = ReplicaView()
        #expect(owned(by: "a", in: view, at: start).isEmpty)
        let first = view.observe(["a"], me: "a", at: start, handover: handover)
        #expect(first)
        #expect(owned(by: "a", in: view, at: start) == Set(keys), "nobody else to wait for")
        let again = view.observe(["a"], me: "a", at: start.addingTimeInterval(5), handover: handover)
        #expect(!again, "the same set is no change")
    }

    @Test func aJoiningReplicaWaitsOutTheHandoverWhileTheOthersLetGoAtOnce() {
        var joiner = ReplicaView()
        var existing = ReplicaView()
        // a has known b for longer than a handover.
        existing.observe(["a", "b"], me: "a", at: start.addingTimeInterval(-10), handover: handover)
        let before = owned(by: "a", in: existing, at: start)
        #expect(before == share(of: "a", among: ["a", "b"]))

        joiner.observe(["a", "b", "c"], me: "c", at: start.addingTimeInterval(1), handover: handover)
        let cShare = share(of: "c", among: ["a", "b", "c"])
        #expect(!cShare.isEmpty)
        #expect(owned(by: "c", in: joiner, at: start.addingTimeInterval(1)).isEmpty, "a and b may not know c yet")
        #expect(owned(by: "c", in: joiner, at: start.addingTimeInterval(8)).isEmpty, "still within the handover")
        #expect(owned(by: "c", in: joiner, at: start.addingTimeInterval(1 + handover)) == cShare)

        // a learns of c at its next renewal and gives c's share up at once, taking nothing new.
        existing.observe(["a", "b", "c"], me: "a", at: start.addingTimeInterval(4), handover: handover)
        let after = owned(by: "a", in: existing, at: start.addingTimeInterval(4))
        #expect(after == share(of: "a", among: ["a", "b", "c"]))
        #expect(after.isSubset(of: before) && after.isDisjoint(with: cShare))
    }

    @Test func theShareOfAReplicaThatLeftOrExpiredIsTakenAtOnce() {
        var view = ReplicaView()
        view.observe(["a", "b", "c"], me: "a", at: start, handover: handover)
        view.observe(["a", "b", "c"], me: "a", at: start.addingTimeInterval(9), handover: handover)
        view.observe(["a", "b"], me: "a", at: start.addingTimeInterval(14), handover: handover)
        let gained = share(of: "a", among: ["a", "b"]).subtracting(share(of: "a", among: ["a", "b", "c"]))
        #expect(!gained.isEmpty, "c's monitors are split between a and b")
        #expect(owned(by: "a", in: view, at: start.addingTimeInterval(14)) == share(of: "a", among: ["a", "b"]))
    }

    @Test func aRestartedReplicaIsANewcomerEvenWhenItsPredecessorsShareIsTakenAtOnce() {
        // b stops and comes back as b2 between two of a's renewals: a takes what b had and b2 does not get
        // from a, at once; b2 waits until a has seen it.
        var a = ReplicaView()
        a.observe(["a", "b"], me: "a", at: start, handover: handover)
        a.observe(["a", "b2"], me: "a", at: start.addingTimeInterval(5), handover: handover)
        #expect(owned(by: "a", in: a, at: start.addingTimeInterval(5)) == share(of: "a", among: ["a", "b2"]))

        var b2 = ReplicaView()
        b2.observe(["a", "b2"], me: "b2", at: start.addingTimeInterval(3), handover: handover)
        #expect(owned(by: "b2", in: b2, at: start.addingTimeInterval(5)).isEmpty)
        #expect(owned(by: "b2", in: b2, at: start.addingTimeInterval(3 + handover)) == share(of: "b2", among: ["a", "b2"]))
    }

    @Test func twoChangesWithinOneHandoverBothHaveToSettle() {
        // x joins a and b, then b leaves, both within one handover. What x gets from a (alive, and perhaps not
        // yet aware of x) still waits for the first handover, though by the newest change alone it was x's.
        var x = ReplicaView()
        x.observe(["a", "b", "x"], me: "x", at: start, handover: handover)
        x.observe(["a", "x"], me: "x", at: start.addingTimeInterval(5), handover: handover)
        let fromA = share(of: "x", among: ["a", "x"]).intersection(share(of: "a", among: ["a", "b"]))
        #expect(!fromA.isEmpty)
        #expect(owned(by: "x", in: x, at: start.addingTimeInterval(5)).isDisjoint(with: fromA))
        #expect(owned(by: "x", in: x, at: start.addingTimeInterval(5 + handover)) == share(of: "x", among: ["a", "x"]))
    }
}
