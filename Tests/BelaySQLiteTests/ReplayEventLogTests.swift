import BelayCore
import BelaySQLite
import BelayTestSupport
import Foundation
import Testing

/// Replaying a seed writes its whole story to the event log: numbers without gaps, one event per timeline
/// entry, signal, change and component, all kept but never announced.
@Suite struct ReplayEventLogTests {
    @Test(arguments: ReplayTests.files)
    func theEventSequenceIsGapFreeAndComplete(file: String) async throws {
        let data = try Data(contentsOf: ReplayTests.directory.appendingPathComponent(file))
        let replay = try ReplayFile.load(data)
        let (database, folder) = try Fixtures.fileDatabase()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try await ReplayRunner(store: database).run(replay)

        var events: [StoredEvent] = []
        var after: Int64 = 0
        while case let page = try await database.events(after: after, limit: 50), let last = page.last {
            events += page
            after = last.sequence
        }
        #expect(events.map(\.sequence) == Array(1...Int64(events.count)), "\(file): sequence has a gap or repeat")
        #expect(events.last?.sequence == (try await database.eventHead()))
        #expect(events.allSatisfy { !$0.announce }, "\(file): a replayed event would be announced")

        // Every timeline entry of every incident the replay reported is in the log, in the same order.
        #expect(!result.incidents.isEmpty)
        for incident in result.incidents {
            let logged = events.compactMap { stored -> TimelineFact? in
                if case .incident(incident.id, let fact) = stored.event { return fact }
                return nil
            }
            let timeline = try await database.timeline(incidentID: incident.id).sorted { $0.id < $1.id }.map(\.fact)
            #expect(logged == timeline, "\(file): incident \(incident.id)")
        }
        let signals = try await database.signals(SignalQuery(limit: 10_000))
        let triggered = events.compactMap { stored -> Int64? in
            if case .signalTriggered(let id, _, _, _, _, _) = stored.event { return id }
            return nil
        }
        #expect(Set(triggered) == Set(signals.map(\.id)))
        let changes = events.filter { $0.event.type == "change.recorded" }.count
        #expect(changes == (replay.changes ?? []).count)
        let components = events.filter { $0.event.type == "component.created" }.count
        #expect(components == replay.components.count)
    }
}
