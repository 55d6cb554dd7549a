import Foundation

/// One routing rule: when every `match` entry holds, the signal goes to `components` at `severity`.
/// A match value is compared exactly, except "*" (the label is present) and "/regex/" (a full match).
/// The keys are the signal's labels plus `source`, `component` and `severity` from the event itself.
public struct RoutingRule: Codable, Sendable, Equatable {
    public var match: [String: String]
    public var components: [String]
    public var severity: Severity?

    public init(match: [String: String], components: [String], severity: Severity? = nil) {
        self.match = match
        self.components = components
        self.severity = severity
    }

    /// The pattern of a "/regex/" match value, or nil for an exact or "*" match.
    static func pattern(_ expected: String) -> String? {
        guard expected.count >= 2, expected.hasPrefix("/"), expected.hasSuffix("/") else { return nil }
        return String(expected.dropFirst().dropLast())
    }
}

/// Decides which rule of a routing routes each event, with every user pattern compiled once and bounded
/// in time: a pattern gets `patternLimit` per label, and all patterns together `totalLimit` per matcher
/// (one delivery). A pattern that runs out counts as not matching from then on, so a hostile or careless
/// pattern costs one delivery at most `totalLimit`, and it runs before the write transaction, not in it.
public struct RuleMatcher {
    public static let patternLimit: Duration = .milliseconds(50)
    public static let totalLimit: Duration = .milliseconds(500)

    public let routing: Routing
    private var compiled: [String: NSRegularExpression] = [:]
    private var exhausted: Set<String> = []
    private var spent: Duration = .zero
    /// Patterns that gave up, for the caller to log once.
    public private(set) var patternsThatGaveUp: [String] = []

    public init(routing: Routing) {
        self.routing = routing
    }

    /// The index of the first rule whose every match entry holds for the event's routing labels.
    public mutating func matchingRule(for event: SignalEvent) -> Int? {
        let labels = Routing.routingLabels(event)
        for (index, rule) in routing.rules.enumerated() where matches(rule, labels) { return index }
        return nil
    }

    private mutating func matches(_ rule: RoutingRule, _ labels: [String: String]) -> Bool {
        // Exact and presence checks first: a rule whose plain entries fail never runs its patterns.
        for (key, expected) in rule.match where RoutingRule.pattern(expected) == nil {
            guard let value = labels[key] else { return false }
            if expected != "*" && value != expected { return false }
        }
        for (key, expected) in rule.match {
            guard let pattern = RoutingRule.pattern(expected) else { continue }
            guard let value = labels[key], matches(pattern, value) else { return false }
        }
        return true
    }

    private mutating func matches(_ pattern: String, _ value: String) -> Bool {
        guard !exhausted.contains(pattern), spent < Self.totalLimit else { return false }
        let expression: NSRegularExpression
        if let cached = compiled[pattern] {
            expression = cached
        } else {
            guard let made = try? NSRegularExpression(pattern: "^(?:" + pattern + ")$") else {
                exhausted.insert(pattern)
                return false
            }
            compiled[pattern] = made
            expression = made
        }
        let clock = ContinuousClock()
        let started = clock.now
        let outcome = BoundedRegex.search(expression, in: value, limit: min(Self.patternLimit, Self.totalLimit - spent))
        spent += clock.now - started
        if outcome == .gaveUp {
            exhausted.insert(pattern)
            patternsThatGaveUp.append(pattern)
        }
        return outcome == .matched
    }
}

/// How an integration's (or monitor's) signals find their components and severity.
public struct Routing: Codable, Sendable, Equatable {
    /// Tried in order; the first that matches decides.
    public var rules: [RoutingRule]
    /// Used when no rule matches and the event names no known component.
    public var defaultComponents: [String]
    public var defaultSeverity: Severity

    public init(rules: [RoutingRule] = [], defaultComponents: [String] = [], defaultSeverity: Severity = .sev2) {
        self.rules = rules
        self.defaultComponents = defaultComponents
        self.defaultSeverity = defaultSeverity
    }

    public static let maxRules = 100

    enum CodingKeys: String, CodingKey { case rules, defaultComponents, defaultSeverity }

    /// Every field may be left out: no rules, no default components, sev2.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        rules = try container.decodeIfPresent([RoutingRule].self, forKey: .rules) ?? []
        defaultComponents = try container.decodeIfPresent([String].self, forKey: .defaultComponents) ?? []
        defaultSeverity = try container.decodeIfPresent(Severity.self, forKey: .defaultSeverity) ?? .sev2
    }

    public func validate(knownComponents: Set<String>) throws {
        guard rules.count <= Self.maxRules else { throw DomainError.invalid(field: "routing.rules", message: "at most \(Self.maxRules) rules") }
        for (index, rule) in rules.enumerated() {
            let field = "routing.rules[\(index)]"
            guard !rule.match.isEmpty else { throw DomainError.invalid(field: field + ".match", message: "must name at least one label") }
            for (key, value) in rule.match {
                try Validate.text(key, field: field + ".match", max: 256)
                try Validate.text(value, field: field + ".match.\(key.prefix(40))", max: 1024)
                if value.count >= 2, value.hasPrefix("/"), value.hasSuffix("/"),
                   (try? NSRegularExpression(pattern: String(value.dropFirst().dropLast()))) == nil {
                    throw DomainError.invalid(field: field + ".match.\(key.prefix(40))", message: "is not a valid regular expression")
                }
            }
            try Self.checkComponents(rule.components, field: field + ".components", known: knownComponents)
        }
        try Self.checkComponents(defaultComponents, field: "routing.defaultComponents", known: knownComponents)
    }

    static func checkComponents(_ slugs: [String], field: String, known: Set<String>) throws {
        guard Set(slugs).count == slugs.count else { throw DomainError.invalid(field: field, message: "lists a component twice") }
        for slug in slugs where !known.contains(slug) {
            throw DomainError.invalid(field: field, message: "unknown component '\(slug.prefix(80))'")
        }
    }

    /// The keys rules match on: the signal's labels plus `source`, `component` and `severity` from the event.
    static func routingLabels(_ event: SignalEvent) -> [String: String] {
        var labels = event.labels
        if let source = event.source { labels["source"] = source }
        if let component = event.component { labels["component"] = component }
        if let severity = event.severity { labels["severity"] = severity }
        return labels
    }

    /// Where `event` goes, matching the rules here (see `RuleMatcher` to match them beforehand).
    public func route(_ event: SignalEvent, knownComponents: Set<String>) -> (components: [String], severity: Severity) {
        var matcher = RuleMatcher(routing: self)
        return route(event, matchedRule: matcher.matchingRule(for: event), knownComponents: knownComponents)
    }

    /// Where `event` goes, given the rule a `RuleMatcher` found for it. Components named by the sender
    /// count only when Belay knows them.
    public func route(_ event: SignalEvent, matchedRule: Int?, knownComponents: Set<String>) -> (components: [String], severity: Severity) {
        let labels = Self.routingLabels(event)
        let mapped = event.severity.flatMap(Self.severity(fromSenderWord:))
        if let index = matchedRule, rules.indices.contains(index) {
            let rule = rules[index]
            return (rule.components.filter(knownComponents.contains), rule.severity ?? mapped ?? defaultSeverity)
        }
        for key in ["component", "service", "app"] {
            if let slug = labels[key], knownComponents.contains(slug) { return ([slug], mapped ?? defaultSeverity) }
        }
        return (defaultComponents.filter(knownComponents.contains), mapped ?? defaultSeverity)
    }

    /// Maps the severity words of common senders onto Belay's levels.
    public static func severity(fromSenderWord word: String) -> Severity? {
        switch word.lowercased() {
        case "sev1", "p1", "critical", "crit", "page", "emergency", "fatal": return .sev1
        case "sev2", "p2", "error", "err", "high", "major": return .sev2
        case "sev3", "p3", "warning", "warn", "medium", "minor": return .sev3
        case "sev4", "p4", "p5", "info", "informational", "low", "none": return .sev4
        default: return nil
        }
    }
}

/// The format an integration is set up for. Every integration key works at every endpoint; the kind
/// only chooses which address and instructions the app shows.
public enum IntegrationKind: String, Codable, Sendable, CaseIterable {
    case alertmanager, pagerduty, generic
}

/// A sender of alerts with its own secret key. Only the key's hash is stored.
public struct Integration: Codable, Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var kind: IntegrationKind
    public var keyHash: String
    /// The first characters of the key, to tell keys apart.
    public var keyHint: String
    public var routing: Routing
    /// Whether incidents it opens appear on the public status page at once.
    public var publicIncidents: Bool
    public var isEnabled: Bool
    public var createdAt: Date
    public var updatedAt: Date
    public var lastEventAt: Date?
    public var eventCount: Int

    public init(
        id: Int64 = 0, name: String, kind: IntegrationKind, keyHash: String, keyHint: String, routing: Routing = Routing(),
        publicIncidents: Bool = false, isEnabled: Bool = true, createdAt: Date, updatedAt: Date, lastEventAt: Date? = nil, eventCount: Int = 0
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.keyHash = keyHash
        self.keyHint = keyHint
        self.routing = routing
        self.publicIncidents = publicIncidents
        self.isEnabled = isEnabled
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.lastEventAt = lastEventAt
        self.eventCount = eventCount
    }

    public func validate(knownComponents: Set<String>) throws {
        try Validate.text(name, field: "name", max: 120)
        try routing.validate(knownComponents: knownComponents)
    }

    public var source: SignalSource {
        SignalSource(kind: .integration, id: id, name: name, routing: routing, publicIncidents: publicIncidents)
    }
}

extension Monitor {
    /// A monitor as a signal source: its own component and severity.
    public var source: SignalSource {
        SignalSource(
            kind: .monitor, id: id, name: name,
            routing: Routing(defaultComponents: component.map { [$0] } ?? [], defaultSeverity: severity), publicIncidents: false)
    }

    /// The event a change of state sends: down triggers, anything else resolves.
    public func signalEvent(for status: MonitorStatus, at now: Date) -> SignalEvent {
        let target = kind == .http ? (settings.url ?? "") : kind == .dns ? (settings.name ?? "") : kind == .heartbeat ? "heartbeat"
            : kind == .certificateFile ? (settings.path ?? "uploaded certificate") : "\(settings.host ?? ""):\(settings.port ?? 443)"
        let message = state.lastMessage ?? status.rawValue
        return SignalEvent(
            dedupKey: "monitor-\(id)", action: status == .down ? .trigger : .resolve,
            summary: status == .down ? "\(name) is down: \(message)" : "\(name) is \(status.rawValue): \(message)",
            source: target, component: component, labels: ["monitor": name, "kind": kind.rawValue],
            startsAt: status == .down ? (state.failingSince ?? state.since) : nil, endsAt: status == .down ? nil : now)
    }
}
