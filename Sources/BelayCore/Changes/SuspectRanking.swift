import Foundation

/// A change that may have caused an incident, with its score and the reasons behind it.
public struct Suspect: Codable, Sendable, Equatable {
    /// Nil for a certificate expiry, which is a change nobody recorded.
    public var changeID: Int64?
    public var summary: String
    public var kind: ChangeKind
    public var targets: [String]
    public var at: Date
    public var score: Double
    public var reasons: [String]
}

public struct SuspectReport: Codable, Sendable, Equatable {
    /// Best first.
    public var suspects: [Suspect]
    /// Components downstream of the top suspect that the incident does not list and no signal names.
    public var possiblyAffected: [String]
    /// True when the record held more than one ranking reads (changes in the window, or active signals), so
    /// the ranking saw only the newest part: a reader must know the list may be missing the cause.
    public var truncated = false
    /// How many changes the ranking read.
    public var changesConsidered = 0
}

/// Ranks the changes around an incident. The score is a product of five factors, each explained in
/// docs/changes.md, so a person can predict it:
///
///     score = 100 × time × distance × breadth × risk × environment
///
/// - time: 0.5^(hours before impact start / 12); a change that started after impact began (beyond five
///   minutes of clock slack) cannot have caused it and gets a tenth of that.
/// - distance: 1 when a target is an impacted component, 1 / (1 + 0.5 × hops) when a target is upstream
///   of one, 0.1 when no path leads from any target to an impacted component.
/// - breadth: 1 + 0.25 × log2(1 + components downstream of the targets).
/// - risk: 1 + 0.4 for each of: not reviewed, not tested in a lower environment, a security policy or
///   infrastructure kind, started out of hours (before 08:00, after 18:00 or at a weekend, in the
///   configured time zone), a certificate expiring.
/// - environment: 1 for production, 0.3 for any other environment.
public enum SuspectRanking {
    public struct Settings: Sendable {
        public var lookback: TimeInterval
        public var timeZone: TimeZone
        public var clockSlack: TimeInterval

        public init(lookback: TimeInterval = 72 * 3600, timeZone: TimeZone = TimeZone.utc, clockSlack: TimeInterval = 300) {
            self.lookback = lookback
            self.timeZone = timeZone
            self.clockSlack = clockSlack
        }
    }

    public static func rank(
        incident: Incident, changes: [Change], nodes: [MapNode], map: DependencyMap, signalComponents: Set<String> = [], now: Date,
        settings: Settings = Settings()
    ) -> SuspectReport {
        let impactStart = incident.impactStart
        let windowStart = impactStart.addingTimeInterval(-settings.lookback)
        let impacted = Set(incident.impacts.map(\.slug))

        var candidates: [(change: Change, certificate: Bool)] = changes
            .filter { $0.status.happened && $0.startedAt >= windowStart && $0.startedAt <= now }
            .map { ($0, false) }
        for node in nodes where node.kind == .certificate {
            guard let expiry = node.expiresAt, expiry >= windowStart, expiry <= now else { continue }
            candidates.append((
                Change(
                    kind: .certificate, summary: "Certificate \(node.name) expired", targets: [node.slug], environment: "production",
                    startedAt: expiry, reviewedBy: "n/a", status: .done, createdAt: expiry), true))
        }

        let suspects = candidates.map { candidate -> Suspect in
            score(candidate.change, isExpiry: candidate.certificate, impactStart: impactStart, impacted: impacted, map: map, settings: settings)
        }
        .sorted { ($0.score, $1.at) > ($1.score, $0.at) }

        var possiblyAffected: [String] = []
        if let top = suspects.first {
            var downstream = Set<String>()
            for target in top.targets { downstream.formUnion(map.downstreamComponents(of: target)) }
            for target in top.targets where map.entries[target]?.isComponent == true { downstream.insert(target) }
            possiblyAffected = downstream.subtracting(impacted).subtracting(signalComponents).sorted()
        }
        return SuspectReport(suspects: suspects, possiblyAffected: possiblyAffected)
    }

    static func score(
        _ change: Change, isExpiry: Bool, impactStart: Date, impacted: Set<String>, map: DependencyMap, settings: Settings
    ) -> Suspect {
        var reasons: [String] = []

        // Time.
        let lead = impactStart.timeIntervalSince(change.startedAt)
        var time: Double
        if lead >= -settings.clockSlack {
            time = pow(0.5, max(0, lead) / 3600 / 12)
            reasons.append(lead >= 60 ? "\(Durations.describe(lead)) before impact" : "at the start of impact")
        } else {
            time = 0.1 * pow(0.5, -lead / 3600 / 12)
            reasons.append("\(Durations.describe(-lead)) after impact began")
        }

        // Distance: the shortest path from a target down to an impacted component.
        var best: (hops: Int, path: [String])?
        var reach = Set<String>()
        for target in change.targets {
            let downstream = map.downstream(of: target)
            for (slug, found) in downstream where map.entries[slug]?.isComponent == true { reach.insert(slug) }
            // In name order, so a tie between equally near components names the same one on every run.
            for slug in impacted.sorted() {
                if let found = downstream[slug], best == nil || found.distance < best!.hops { best = (found.distance, found.path) }
            }
        }
        let distance: Double
        let what = "\(change.kind.rawValue) on \(change.targets.joined(separator: ", "))"
        if let best {
            if best.hops == 0 {
                distance = 1
                reasons.append("\(what), an impacted component")
            } else {
                distance = 1 / (1 + 0.5 * Double(best.hops))
                let via = best.path.dropFirst().dropLast()
                reasons.append("\(what), upstream of \(best.path.last ?? "")" + (via.isEmpty ? "" : " via \(via.joined(separator: ", "))"))
            }
        } else {
            distance = 0.1
            reasons.append("\(what), not upstream of any impacted component")
        }

        // Breadth.
        let breadth = 1 + 0.25 * log2(1 + Double(reach.count))
        if reach.count > 1 { reasons.append("reaches \(reach.count) components") }

        // Risk.
        var risks = 0
        if isExpiry {
            risks += 1
            reasons.append("certificate expired")
        } else {
            if change.reviewedBy == nil {
                risks += 1
                reasons.append("not reviewed")
            }
            if change.tested == false {
                risks += 1
                reasons.append("not tested in a lower environment")
            }
        }
        if change.kind.isRisky {
            risks += 1
            reasons.append(change.kind == .securityPolicy ? "security policy change" : "infrastructure change")
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = settings.timeZone
        let hour = calendar.component(.hour, from: change.startedAt)
        let weekday = calendar.component(.weekday, from: change.startedAt)
        if !isExpiry && (hour < 8 || hour >= 18 || weekday == 1 || weekday == 7) {
            risks += 1
            let local = String(format: "%02d:%02d", hour, calendar.component(.minute, from: change.startedAt))
            reasons.append("out of hours (\(local) \(settings.timeZone.identifier))")
        }
        let risk = 1 + 0.4 * Double(risks)

        // Environment.
        let environment = change.isProduction ? 1.0 : 0.3
        if !change.isProduction { reasons.append("in \(change.environment), not production") }
        if change.status == .rolledBack { reasons.append("since rolled back") }

        let score = (100 * time * distance * breadth * risk * environment * 10).rounded() / 10
        return Suspect(
            changeID: isExpiry ? nil : change.id, summary: change.summary, kind: change.kind, targets: change.targets, at: change.startedAt,
            score: score, reasons: reasons)
    }
}
