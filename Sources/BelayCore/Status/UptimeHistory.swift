import Foundation

/// One day of one component's history.
public struct DayHistory: Sendable, Equatable {
    /// Midnight UTC at the start of the day.
    public var day: Date
    /// The worst status the component had at any moment of the day.
    public var worst: ComponentStatus
    /// Seconds of that day spent in each non-operational status.
    public var seconds: [ComponentStatus: TimeInterval]
    /// What the component's monitors measured that day, if it has any.
    public var measured: MeasuredDay? = nil
}

/// Monitor checks of one component on one day: how many ran and how many were not down.
public struct MeasuredDay: Sendable, Equatable {
    public var checks: Int
    public var passed: Int

    public init(checks: Int, passed: Int) {
        self.checks = checks
        self.passed = passed
    }

    public var availability: Double { checks == 0 ? 1 : Double(passed) / Double(checks) }
}

public struct ComponentHistory: Sendable, Equatable {
    public var slug: String
    public var days: [DayHistory]
    /// The first day with data: the component's creation or its first recorded impact, whichever is earlier.
    public var firstKnownDay: Int
    /// Uptime since the first known moment, weighted as Statuspage does: a major outage counts fully as downtime,
    /// a partial outage as 30 %, degraded performance and maintenance not at all.
    public var uptime: Double
    /// Share of monitor checks that passed over the span, when the component has monitors.
    public var measuredUptime: Double? = nil
}

/// Builds per-day history bars from incident impact and maintenance intervals.
public enum UptimeHistory {
    public static let partialOutageWeight = 0.3

    /// History for `days` whole UTC days ending with the day containing `now`. Incidents count from their
    /// impact start to their resolution (or now); only the incidents and windows passed in are used.
    /// `measured` holds each component's monitor checks per day (keyed by the day's start, seconds since
    /// 1970), from the monitors' daily rollups.
    public static func build(
        components: [Component], incidents: [Incident], maintenances: [MaintenanceWindow], days: Int, now: Date,
        measured: [String: [Int64: MeasuredDay]] = [:]
    ) -> [String: ComponentHistory] {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone.utc
        let today = calendar.startOfDay(for: now)
        let start = calendar.date(byAdding: .day, value: -(days - 1), to: today)!

        // Gather intervals per component once; most components have none.
        var intervals: [String: [(Date, Date, ComponentStatus)]] = [:]
        for incident in incidents {
            let from = incident.impactStart
            let to = incident.milestones.resolvedAt ?? (incident.isOpen ? now : incident.updatedAt)
            guard to > start, to > from else { continue }
            for impact in incident.impacts {
                intervals[impact.slug, default: []].append((max(from, start), min(to, now), impact.impact.componentStatus))
            }
        }
        for window in maintenances where window.status != .cancelled {
            let effective = window.effectiveStatus(at: now)
            guard effective != .scheduled else { continue }
            let to = min(window.scheduledEnd, now)
            guard to > start, to > window.scheduledStart else { continue }
            for slug in window.components {
                intervals[slug, default: []].append((max(window.scheduledStart, start), to, .underMaintenance))
            }
        }

        // Day boundaries are the same for every component; work them out once.
        let boundaries = (0...days).map { calendar.date(byAdding: .day, value: $0, to: start)! }
        let quietDays = (0..<days).map { DayHistory(day: boundaries[$0], worst: .operational, seconds: [:]) }

        var result: [String: ComponentHistory] = [:]
        result.reserveCapacity(components.count)
        for component in components {
            let own = intervals[component.slug] ?? []
            var dayList = quietDays
            var downtime = 0.0
            for index in 0..<days where !own.isEmpty {
                let dayStart = boundaries[index]
                let dayEnd = min(boundaries[index + 1], now)
                var day = DayHistory(day: dayStart, worst: .operational, seconds: [:])
                if dayEnd > dayStart {
                    day.seconds = worstStatusSeconds(own, from: dayStart, to: dayEnd)
                    day.worst = day.seconds.keys.max { $0.badness < $1.badness } ?? .operational
                    downtime += (day.seconds[.majorOutage] ?? 0) + partialOutageWeight * (day.seconds[.partialOutage] ?? 0)
                }
                dayList[index] = day
            }
            // Count from when there is anything to know: the component's creation, or an earlier impact
            // recorded against it (components are often added to Belay after they existed).
            let known = max(start, min(component.createdAt, own.map(\.0).min() ?? component.createdAt))
            let span = now.timeIntervalSince(known)
            let uptime = span > 0 ? max(0, 1 - downtime / span) : 1
            let firstKnownDay = dayList.firstIndex { $0.day.addingTimeInterval(86400) > known } ?? 0
            var history = ComponentHistory(slug: component.slug, days: dayList, firstKnownDay: firstKnownDay, uptime: uptime)
            if let checks = measured[component.slug], !checks.isEmpty {
                var total = MeasuredDay(checks: 0, passed: 0)
                for index in 0..<days {
                    guard let day = checks[Int64(boundaries[index].timeIntervalSince1970)] else { continue }
                    history.days[index].measured = day
                    total.checks += day.checks
                    total.passed += day.passed
                }
                if total.checks > 0 { history.measuredUptime = total.availability }
            }
            result[component.slug] = history
        }
        return result
    }

    /// Sweeps the intervals clipped to [from, to) and credits each stretch of time to the worst status
    /// in force then, so overlapping incidents are not counted twice.
    static func worstStatusSeconds(_ intervals: [(Date, Date, ComponentStatus)], from: Date, to: Date) -> [ComponentStatus: TimeInterval] {
        var events: [(Date, ComponentStatus, Int)] = []
        for (a, b, status) in intervals {
            let lo = max(a, from)
            let hi = min(b, to)
            if hi > lo {
                events.append((lo, status, 1))
                events.append((hi, status, -1))
            }
        }
        guard !events.isEmpty else { return [:] }
        events.sort { $0.0 < $1.0 }
        var active: [ComponentStatus: Int] = [:]
        var seconds: [ComponentStatus: TimeInterval] = [:]
        var previous = events[0].0
        for (time, status, delta) in events {
            if time > previous, let worst = active.filter({ $0.value > 0 }).keys.max(by: { $0.badness < $1.badness }) {
                seconds[worst, default: 0] += time.timeIntervalSince(previous)
            }
            previous = time
            active[status, default: 0] += delta
        }
        return seconds
    }
}
