import Foundation

/// What a timeline entry records, as a typed value: the facts a postmortem, a notification or an API
/// client reads, where the entry's text is only the human sentence.
public enum TimelineFact: Sendable, Equatable, Codable {
    case declared(severity: Severity, status: IncidentStatus, signalID: Int64?)
    case statusChanged(from: IncidentStatus, to: IncidentStatus)
    case reopened(to: IncidentStatus, previousResolvedAt: Date?)
    /// `notify` false: posted without telling subscribers (nil, as before it existed, means it told them).
    case updatePosted(status: IncidentStatus, notify: Bool? = nil)
    case milestoneSet(milestone: Milestone, at: Date, previous: Date?, backdated: Bool)
    case severityChanged(from: Severity, to: Severity)
    case impactChanged(changes: [AffectedComponent])
    case roleAssigned(role: Role, person: String?)
    case visibilityChanged(isPublic: Bool)
    case renamed(previousTitle: String)
    case holdOpenChanged(hold: Bool)
    case note
    case signal(SignalFact)

    /// The entry's kind, as the timeline groups and filters entries.
    public var kind: TimelineKind {
        switch self {
        case .declared: .declared
        case .statusChanged, .reopened: .statusChange
        case .updatePosted: .update
        case .milestoneSet: .milestone
        case .severityChanged: .severityChange
        case .impactChanged: .impactChange
        case .roleAssigned: .roleChange
        case .visibilityChanged: .visibilityChange
        case .renamed, .holdOpenChanged, .note: .note
        case .signal: .signal
        }
    }

    /// The event name for this fact ("status_changed"), after "incident." in the event log.
    public var name: String {
        switch self {
        case .declared: "declared"
        case .statusChanged: "status_changed"
        case .reopened: "reopened"
        case .updatePosted: "update_posted"
        case .milestoneSet: "milestone_set"
        case .severityChanged: "severity_changed"
        case .impactChanged: "impact_changed"
        case .roleAssigned: "role_assigned"
        case .visibilityChanged: "visibility_changed"
        case .renamed: "renamed"
        case .holdOpenChanged: "hold_open_changed"
        case .note: "note_added"
        case .signal(let fact): "signal_\(fact.transition.rawValue)"
        }
    }
}

/// An alert or monitor as the timeline recorded it when it fired, was acknowledged or cleared.
public struct SignalFact: Sendable, Equatable, Codable {
    public enum Transition: String, Sendable, Codable {
        case fired, acknowledged, cleared
    }

    public var transition: Transition
    public var signalID: Int64
    public var dedupKey: String
    public var status: SignalStatus
    public var severity: Severity
    public var components: [String]
    public var link: String?

    public init(
        transition: Transition, signalID: Int64, dedupKey: String, status: SignalStatus, severity: Severity, components: [String],
        link: String?
    ) {
        self.transition = transition
        self.signalID = signalID
        self.dedupKey = dedupKey
        self.status = status
        self.severity = severity
        self.components = components
        self.link = link
    }
}

extension TimelineFact {
    /// The facts as flat strings, the shape the API has always shown in `details`.
    public var details: [String: String] {
        switch self {
        case .declared(let severity, let status, let signal):
            var details = ["severity": severity.rawValue, "status": status.rawValue]
            if let signal { details["signal"] = String(signal) }
            return details
        case .statusChanged(let from, let to): return ["from": from.rawValue, "to": to.rawValue]
        case .reopened(let to, let previous):
            return ["from": "resolved", "to": to.rawValue, "reopened": "true", "previousResolvedAt": previous.map(IncidentLifecycle.iso) ?? ""]
        case .updatePosted(let status, let notify):
            return notify == false ? ["status": status.rawValue, "notify": "false"] : ["status": status.rawValue]
        case .milestoneSet(let milestone, let at, let previous, let backdated):
            var details = ["milestone": milestone.rawValue, "at": IncidentLifecycle.iso(at), "backdated": backdated ? "true" : "false"]
            if let previous { details["previous"] = IncidentLifecycle.iso(previous) }
            return details
        case .severityChanged(let from, let to): return ["from": from.rawValue, "to": to.rawValue]
        case .impactChanged(let changes):
            return ["components": changes.map { "\($0.slug):\($0.oldStatus.rawValue)>\($0.newStatus.rawValue)" }.joined(separator: ",")]
        case .roleAssigned(let role, let person): return ["role": role.rawValue, "person": person ?? ""]
        case .visibilityChanged(let isPublic): return ["public": isPublic ? "true" : "false"]
        case .renamed(let previous): return ["previousTitle": previous]
        case .holdOpenChanged(let hold): return ["holdOpen": hold ? "true" : "false"]
        case .note: return [:]
        case .signal(let fact):
            var details = ["signal": String(fact.signalID), "dedupKey": fact.dedupKey, "status": fact.status.rawValue, "severity": fact.severity.rawValue]
            if !fact.components.isEmpty { details["components"] = fact.components.joined(separator: ",") }
            if let link = fact.link { details["link"] = link }
            return details
        }
    }

    /// Reads an entry stored before facts were typed (kind and string details). Every such entry was written
    /// by Belay itself; one that cannot be read keeps its text and counts as a note rather than failing the page.
    public init(legacyKind kind: TimelineKind, details: [String: String]) {
        func date(_ key: String) -> Date? { details[key].flatMap(RFC3339.parse) }
        let severity = details["severity"].flatMap(Severity.init(rawValue:))
        switch kind {
        case .declared:
            if let severity, let status = details["status"].flatMap(IncidentStatus.init(rawValue:)) {
                self = .declared(severity: severity, status: status, signalID: details["signal"].flatMap { Int64($0) })
                return
            }
        case .statusChange:
            if let to = details["to"].flatMap(IncidentStatus.init(rawValue:)) {
                if details["reopened"] == "true" {
                    self = .reopened(to: to, previousResolvedAt: date("previousResolvedAt"))
                    return
                }
                if let from = details["from"].flatMap(IncidentStatus.init(rawValue:)) {
                    self = .statusChanged(from: from, to: to)
                    return
                }
            }
        case .update:
            if let status = details["status"].flatMap(IncidentStatus.init(rawValue:)) {
                self = .updatePosted(status: status)
                return
            }
        case .milestone:
            if let milestone = details["milestone"].flatMap(Milestone.init(rawValue:)), let at = date("at") {
                self = .milestoneSet(milestone: milestone, at: at, previous: date("previous"), backdated: details["backdated"] == "true")
                return
            }
        case .severityChange:
            if let from = details["from"].flatMap(Severity.init(rawValue:)), let to = details["to"].flatMap(Severity.init(rawValue:)) {
                self = .severityChanged(from: from, to: to)
                return
            }
        case .impactChange:
            self = .impactChanged(changes: [])
            return
        case .roleChange:
            if let role = details["role"].flatMap(Role.init(rawValue:)) {
                let person = details["person"].flatMap { $0.isEmpty ? nil : $0 }
                self = .roleAssigned(role: role, person: person)
                return
            }
        case .visibilityChange:
            if let value = details["public"] {
                self = .visibilityChanged(isPublic: value == "true")
                return
            }
        case .note:
            if let previous = details["previousTitle"] {
                self = .renamed(previousTitle: previous)
                return
            }
            if let hold = details["holdOpen"] {
                self = .holdOpenChanged(hold: hold == "true")
                return
            }
        case .signal:
            if let id = details["signal"].flatMap({ Int64($0) }), let severity,
                let status = details["status"].flatMap(SignalStatus.init(rawValue:))
            {
                let transition: SignalFact.Transition = switch status {
                case .firing: .fired
                case .acknowledged: .acknowledged
                case .resolved: .cleared
                }
                let components = details["components"].map { $0.split(separator: ",").map(String.init) } ?? []
                self = .signal(
                    SignalFact(
                        transition: transition, signalID: id, dedupKey: details["dedupKey"] ?? "", status: status, severity: severity,
                        components: components, link: details["link"]))
                return
            }
        }
        self = .note
    }
}
