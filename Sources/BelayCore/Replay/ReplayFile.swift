import Foundation

/// A postmortem as data: the map, the changes, maintenance and the events of the incident, all timestamped.
/// docs/replay.md describes every field.
public struct ReplayFile: Decodable, Sendable {
    public struct Node: Decodable, Sendable {
        public var slug: String
        public var name: String
        public var kind: NodeKind
        public var dependsOn: [String]?
        public var expiresAt: Date?
    }

    public struct ComponentEntry: Decodable, Sendable {
        public var slug: String
        public var name: String
        public var group: String?
        public var description: String?
        public var dependsOn: [String]?
        public var isPublic: Bool?
    }

    public struct ChangeEntry: Decodable, Sendable {
        public var kind: ChangeKind
        public var summary: String
        public var targets: [String]
        public var environment: String?
        public var author: String?
        public var startedAt: Date
        public var finishedAt: Date?
        public var reviewedBy: String?
        public var tested: Bool?
        public var status: ChangeStatus?
        public var source: String?
    }

    public struct MaintenanceEntry: Decodable, Sendable {
        public struct Update: Decodable, Sendable {
            public var at: Date
            public var status: MaintenanceStatus?
            public var message: String?
        }
        public var title: String
        public var description: String?
        public var components: [String]
        public var scheduledStart: Date
        public var scheduledEnd: Date
        public var createdAt: Date?
        public var updates: [Update]?
    }

    public struct ImpactEntry: Decodable, Sendable {
        public var slug: String
        public var impact: Impact?
    }

    /// What a replay event does; `type` in the file.
    public enum EventType: String, Decodable, Sendable, CaseIterable {
        case signal, declare, acknowledge, update, note, milestone

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let value = EventType(rawValue: text) else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "unknown event type '\(text.prefix(40))' (expected one of \(EventType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            self = value
        }
    }

    /// One thing that happened, at `at`. `type` says which fields matter (see docs/replay.md).
    public struct Event: Decodable, Sendable {
        public var at: Date
        public var type: EventType
        public var incident: String?
        // signal
        public var source: String?
        public var action: SignalAction?
        public var dedupKey: String?
        public var summary: String?
        public var severity: String?
        public var components: [ImpactOrSlug]?
        // declare
        public var title: String?
        public var message: String?
        public var `public`: Bool?
        public var impactStartedAt: Date?
        // update
        public var status: IncidentStatus?
        // note
        public var text: String?
        // milestone
        public var milestone: Milestone?
        public var value: Date?
    }

    /// A component given as a slug ("api") or with its impact ({"slug": "api", "impact": "major_outage"}).
    public struct ImpactOrSlug: Decodable, Sendable {
        public var slug: String
        public var impact: Impact?

        public init(from decoder: any Decoder) throws {
            if let slug = try? decoder.singleValueContainer().decode(String.self) {
                self.slug = slug
                impact = nil
            } else {
                let entry = try ImpactEntry(from: decoder)
                slug = entry.slug
                impact = entry.impact
            }
        }
    }

    public var name: String
    public var source: String?
    public var timezone: String?
    public var nodes: [Node]?
    public var components: [ComponentEntry]
    public var changes: [ChangeEntry]?
    public var maintenance: [MaintenanceEntry]?
    public var events: [Event]

    /// Reads a replay file; dates are ISO 8601 with an offset.
    public static func load(_ data: Data) throws -> ReplayFile {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            // RFC 3339 with every field in range: Foundation's parser would roll 12:99 over into the next hour.
            if let date = RFC3339.parse(text) { return date }
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an ISO 8601 date-time with an offset, got '\(text.prefix(64))'")
        }
        do {
            try JSONLimits().check(data)
            return try decoder.decode(ReplayFile.self, from: data)
        } catch let error as JSONLimits.Exceeded {
            throw DomainError.invalid(field: "replay", message: error.description)
        } catch let error as DecodingError {
            throw DomainError.invalid(field: "replay", message: Self.describe(error))
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])): required field is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "\(path(context.codingPath)): wrong type"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "the file is not valid JSON" : "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "the file could not be read"
        }
    }
}

extension ReplayFile {
    /// The latest moment the file mentions.
    public var lastMoment: Date? {
        (events.map(\.at) + (changes ?? []).map(\.startedAt) + (maintenance ?? []).flatMap { [$0.scheduledEnd] + ($0.updates ?? []).map(\.at) }).max()
    }

    /// The same story moved in time by `offset` seconds: every timestamp shifts, every interval stays.
    public func shifted(by offset: TimeInterval) -> ReplayFile {
        func move(_ date: Date?) -> Date? { date?.addingTimeInterval(offset) }
        var copy = self
        copy.nodes = nodes?.map { node in
            var node = node
            node.expiresAt = move(node.expiresAt)
            return node
        }
        copy.changes = changes?.map { change in
            var change = change
            change.startedAt = change.startedAt.addingTimeInterval(offset)
            change.finishedAt = move(change.finishedAt)
            return change
        }
        copy.maintenance = maintenance?.map { window in
            var window = window
            window.scheduledStart = window.scheduledStart.addingTimeInterval(offset)
            window.scheduledEnd = window.scheduledEnd.addingTimeInterval(offset)
            window.createdAt = move(window.createdAt)
            window.updates = window.updates?.map { update in
                var update = update
                update.at = update.at.addingTimeInterval(offset)
                return update
            }
            return window
        }
        copy.events = events.map { event in
            var event = event
            event.at = event.at.addingTimeInterval(offset)
            event.impactStartedAt = move(event.impactStartedAt)
            event.value = move(event.value)
            return event
        }
        return copy
    }
}
