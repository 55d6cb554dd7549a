import BelayCore
import BelaySQLite
import BelayTestSupport
import Foundation
import Testing

/// Each seed postmortem, replayed through the live code into a fresh database, must name the change the
/// postmortem names as the cause first, and its metrics must come from the timestamps.
@Suite struct ReplayTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../replays").standardized

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
    }

    @Test func everySeedPostmortemHasAReplay() {
        #expect(Self.files.map { String($0.prefix(3)) } == ["000", "001", "002", "003", "004"])
    }

    @Test(arguments: files)
    func theNamedCauseRanksFirstWithAPathToTheImpact(file: String) async throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent(file))
        let replay = try ReplayFile.load(data)
        let expect = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["expect"] as? [String: Any])
        let (database, folder) = try Fixtures.fileDatabase()
        defer { try? FileManager.default.removeItem(at: folder) }
        let result = try await ReplayRunner(store: database).run(replay)
        let incident = try #require(result.incidents.first)
        let top = try #require(incident.suspects.first)
        #expect(top.summary == expect["cause"] as? String, "\(file): top suspect was \(top.summary)")
        // The reasons name the path from the change to the impacted components.
        #expect(top.reasons.contains { $0.contains("upstream of") || $0.contains("an impacted component") }, "\(top.reasons)")
        if let second = incident.suspects.dropFirst().first { #expect(top.score > second.score) }
        for slug in expect["possiblyAffected"] as? [String] ?? [] {
            #expect(incident.possiblyAffected.contains(slug), "\(file): \(slug) should be possibly affected")
        }
        // Milestones and the durations derived from them are the postmortem's timestamps.
        let milestones = expect["milestones"] as? [String: String] ?? [:]
        for milestone in Milestone.allCases {
            guard let text = milestones[milestone.rawValue] else { continue }
            let expected = try Date(text, strategy: .iso8601)
            #expect(incident.milestones[milestone] == expected, "\(file): \(milestone.rawValue)")
        }
        if let start = incident.milestones.impactStartedAt, let resolved = incident.milestones.resolvedAt {
            #expect(abs((incident.durations.timeToResolve ?? -1) - resolved.timeIntervalSince(start)) < 0.001)
        }
    }

    @Test func theExportOutageLastedSeventeenHoursByItsOwnTimelineNotTheFifteenItsSummarySays() async throws {
        let data = try Data(contentsOf: Self.directory.appendingPathComponent("000-testmaker-export-outage.json"))
        let (database, folder) = try Fixtures.fileDatabase()
        defer { try? FileManager.default.removeItem(at: folder) }
        let incident = try #require(try await ReplayRunner(store: database).run(try ReplayFile.load(data)).incidents.first)
        // The summary says "~15 hours total impact (5:25 PM EDT Oct 28 - 10:30 AM EDT Oct 29)"; those two
        // timestamps are 17 h 5 min apart, and Belay computes from the timestamps.
        let mitigate = try #require(incident.durations.timeToMitigate)
        #expect(abs(mitigate - (17 * 3600 + 5 * 60)) < 0.001)
        #expect(abs(mitigate - 15 * 3600) > 3600)
    }

    @Test func aBrokenReplayIsRefusedWithTheFieldNamed() async throws {
        #expect(throws: DomainError.self) { try ReplayFile.load(Data("{\"name\":\"x\",\"components\":[],\"events\":[{\"type\":\"note\"}]}".utf8)) }
        let replay = try ReplayFile.load(Data("""
            {"name":"x","components":[{"slug":"api","name":"API"}],"events":[{"at":"2026-01-01T00:00:00Z","type":"update","incident":"nope","message":"m"}]}
            """.utf8))
        let (database, folder) = try Fixtures.fileDatabase()
        defer { try? FileManager.default.removeItem(at: folder) }
        await #expect(throws: DomainError.self) { _ = try await ReplayRunner(store: database).run(replay) }
    }
}
