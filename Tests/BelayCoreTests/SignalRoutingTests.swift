import BelayCore
import Foundation
import Testing

@Suite struct SignalRoutingTests {
    let known: Set<String> = ["api", "payments", "database"]

    func event(_ labels: [String: String], severity: String? = nil, component: String? = nil) -> SignalEvent {
        SignalEvent(dedupKey: "k", action: .trigger, summary: "s", severity: severity, component: component, labels: labels)
    }

    @Test func theFirstMatchingRuleDecidesComponentsAndSeverity() {
        let routing = Routing(
            rules: [
                RoutingRule(match: ["team": "payments", "severity": "critical"], components: ["payments"], severity: .sev1),
                RoutingRule(match: ["team": "payments"], components: ["payments", "api"]),
                RoutingRule(match: ["instance": "/db[0-9]+/"], components: ["database"]),
            ],
            defaultComponents: ["api"], defaultSeverity: .sev3)
        let critical = routing.route(event(["team": "payments"], severity: "critical"), knownComponents: known)
        #expect(critical.components == ["payments"] && critical.severity == .sev1)
        let warning = routing.route(event(["team": "payments"], severity: "warning"), knownComponents: known)
        #expect(warning.components == ["payments", "api"] && warning.severity == .sev3)
        #expect(routing.route(event(["instance": "db12"]), knownComponents: known).components == ["database"])
        // A regex matches the whole value, not a part of it.
        #expect(routing.route(event(["instance": "db12-replica"]), knownComponents: known).components == ["api"])
        let fallback = routing.route(event(["team": "search"], severity: "error"), knownComponents: known)
        #expect(fallback.components == ["api"] && fallback.severity == .sev2)
    }

    @Test func aComponentLabelNamingAKnownComponentRoutesThereWithoutRules() {
        let routing = Routing(defaultComponents: ["api"])
        #expect(routing.route(event(["service": "database"]), knownComponents: known).components == ["database"])
        #expect(routing.route(event([:], component: "payments"), knownComponents: known).components == ["payments"])
        #expect(routing.route(event(["service": "unknown-thing"]), knownComponents: known).components == ["api"])
    }

    @Test func wildcardNeedsTheLabelPresent() {
        let routing = Routing(rules: [RoutingRule(match: ["pager": "*"], components: ["api"], severity: .sev1)], defaultSeverity: .sev4)
        #expect(routing.route(event(["pager": "yes"]), knownComponents: known).severity == .sev1)
        #expect(routing.route(event([:]), knownComponents: known).severity == .sev4)
    }

    @Test func rulesAreValidated() {
        #expect(throws: DomainError.self) { try Routing(rules: [RoutingRule(match: [:], components: ["api"])]).validate(knownComponents: known) }
        #expect(throws: DomainError.self) { try Routing(rules: [RoutingRule(match: ["a": "b"], components: ["nope"])]).validate(knownComponents: known) }
        #expect(throws: DomainError.self) { try Routing(rules: [RoutingRule(match: ["a": "/(/"], components: ["api"])]).validate(knownComponents: known) }
        #expect(throws: DomainError.self) { try Routing(defaultComponents: ["api", "api"]).validate(knownComponents: known) }
    }

    @Test func thresholdsKeepOneBadCheckFromFlapping() {
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        var monitor = Monitor(
            name: "m", kind: .tcp, settings: MonitorSettings(host: "db", port: 5432), failureThreshold: 2, successThreshold: 2, createdAt: start, updatedAt: start)
        #expect(monitor.record(.up, message: "ok", latencyMs: 1, at: start) == .up)
        #expect(monitor.record(.down, message: "refused", latencyMs: nil, at: start.addingTimeInterval(60)) == nil)
        #expect(monitor.record(.up, message: "ok", latencyMs: 1, at: start.addingTimeInterval(120)) == nil)
        #expect(monitor.record(.down, message: "refused", latencyMs: nil, at: start.addingTimeInterval(180)) == nil)
        #expect(monitor.record(.down, message: "refused", latencyMs: nil, at: start.addingTimeInterval(240)) == .down)
        // The run of failures began at the first failed check: that is when impact started.
        #expect(monitor.state.failingSince == start.addingTimeInterval(180))
        #expect(monitor.signalEvent(for: .down, at: start.addingTimeInterval(240)).startsAt == start.addingTimeInterval(180))
        #expect(monitor.record(.up, message: "ok", latencyMs: 1, at: start.addingTimeInterval(300)) == nil)
        #expect(monitor.record(.degraded, message: "slow", latencyMs: 900, at: start.addingTimeInterval(360)) == .degraded)
    }

    @Test func monitorSettingsAreCheckedPerKind() {
        func invalid(_ kind: MonitorKind, _ settings: MonitorSettings) -> Bool {
            (try? settings.validate(for: kind)) == nil
        }
        #expect(invalid(.http, MonitorSettings(url: "ftp://example.com/")))
        #expect(invalid(.http, MonitorSettings(url: "https://example.com/", keyword: "a", regex: "b")))
        #expect(invalid(.http, MonitorSettings(url: "https://example.com/", headers: ["X-A": "b\r\nInjected: yes"])))
        #expect(invalid(.http, MonitorSettings(url: "https://example.com/", port: 80)))
        #expect(invalid(.tcp, MonitorSettings(host: "db")))
        #expect(invalid(.tcp, MonitorSettings(host: "db", port: 70000)))
        #expect(invalid(.certificateFile, MonitorSettings(pem: "not a pem")))
        #expect(invalid(.certificateFile, MonitorSettings(path: "relative/cert.pem")))
        #expect(invalid(.dns, MonitorSettings(name: "example.com", expected: ["not-an-ip"])))
        #expect(!invalid(.http, MonitorSettings(url: "https://example.com/health", expectedStatus: [200], keyword: "ok")))
        #expect(!invalid(.dns, MonitorSettings(name: "example.com", recordType: "AAAA", expected: ["2001:db8::1"])))
        #expect(!invalid(.heartbeat, MonitorSettings(graceSeconds: 30)))
    }

    @Test func rollupsSumPerMinuteHourAndDay() {
        let base = Date(timeIntervalSince1970: 1_790_000_080)  // 40 s into a minute
        let results = [
            CheckResult(monitorID: 1, checkedAt: base, outcome: .up, latencyMs: 10, message: ""),
            CheckResult(monitorID: 1, checkedAt: base.addingTimeInterval(10), outcome: .down, latencyMs: nil, message: ""),
            CheckResult(monitorID: 1, checkedAt: base.addingTimeInterval(30), outcome: .degraded, latencyMs: 30, message: ""),
        ]
        let rollups = CheckRollup.summarize(results)
        let minutes = rollups.filter { $0.granularity == .minute }.sorted { $0.bucket < $1.bucket }
        #expect(minutes.map(\.total) == [2, 1])
        let day = try! #require(rollups.first { $0.granularity == .day })
        #expect(day.total == 3 && day.up == 1 && day.down == 1 && day.degraded == 1)
        #expect(day.averageLatencyMs == 20 && day.latencyMaxMs == 30)
        #expect(abs((day.availability ?? 0) - 2.0 / 3.0) < 1e-9)
    }
}

@Suite struct RuleMatcherTests {
    static func event(_ labels: [String: String]) -> SignalEvent {
        SignalEvent(dedupKey: "k", action: .trigger, summary: "s", labels: labels)
    }

    @Test func aCatastrophicPatternGivesUpAndCountsAsNoMatch() {
        let routing = Routing(rules: [
            RoutingRule(match: ["alertname": "/(a+)+b/"], components: ["database"]),
            RoutingRule(match: ["alertname": "/a+/"], components: ["api"]),
        ])
        var matcher = RuleMatcher(routing: routing)
        // 28 "a"s take the first pattern minutes of backtracking without a budget.
        #expect(matcher.matchingRule(for: Self.event(["alertname": String(repeating: "a", count: 28)])) == 1)
        #expect(matcher.patternsThatGaveUp == ["(a+)+b"])
        // Once spent, the pattern is not run again for the rest of the delivery.
        #expect(matcher.matchingRule(for: Self.event(["alertname": String(repeating: "a", count: 30)])) == 1)
        #expect(matcher.patternsThatGaveUp == ["(a+)+b"])
    }

    @Test func plainEntriesAreCheckedBeforeAnyPattern() {
        let routing = Routing(rules: [RoutingRule(match: ["team": "db", "alertname": "/(a+)+b/"], components: ["database"])])
        var matcher = RuleMatcher(routing: routing)
        #expect(matcher.matchingRule(for: Self.event(["team": "web", "alertname": String(repeating: "a", count: 28)])) == nil)
        #expect(matcher.patternsThatGaveUp.isEmpty)
    }

    @Test func aRuleMatchedBeforehandRoutesLikeMatchingThen() {
        let routing = Routing(rules: [RoutingRule(match: ["alertname": "/Disk.*/"], components: ["database"], severity: .sev1)], defaultComponents: ["api"])
        let event = Self.event(["alertname": "DiskFull"])
        var matcher = RuleMatcher(routing: routing)
        let rule = matcher.matchingRule(for: event)
        #expect(rule == 0)
        let known: Set<String> = ["database", "api"]
        #expect(routing.route(event, matchedRule: rule, knownComponents: known) == routing.route(event, knownComponents: known))
        #expect(routing.route(event, matchedRule: nil, knownComponents: known).components == ["api"])
    }
}

@Suite struct CertificateFileAccessTests {
    static func monitor(_ path: String) -> Monitor {
        Monitor(name: "c", kind: .certificateFile, settings: MonitorSettings(path: path), createdAt: Date(), updatedAt: Date())
    }

    @Test func onlyAdminsAndOnlyUnderTheDirectory() throws {
        let access = CertificateFileAccess(directory: "/etc/belay/certs/")
        try access.check(Self.monitor("/etc/belay/certs/api.pem"), role: .admin)
        try access.check(Self.monitor("/etc/belay/certs/sub/api.pem"), role: .admin)
        #expect(throws: DomainError.self) { try access.check(Self.monitor("/etc/belay/certs/api.pem"), role: .responder) }
        for path in ["/etc/passwd", "/etc/belay/certs/../x", "/etc/belay/certs//x", "/etc/belay/certsx/a", "/etc/belay/certs/./a", "/etc/belay/certs"] {
            #expect(throws: DomainError.self, "\(path)") { try access.check(Self.monitor(path), role: .admin) }
        }
        #expect(throws: DomainError.self) { try CertificateFileAccess(directory: nil).check(Self.monitor("/etc/belay/certs/api.pem"), role: .admin) }
        // An uploaded PEM reads no file, so anyone who may make monitors may upload one.
        let uploaded = Monitor(name: "c", kind: .certificateFile, settings: MonitorSettings(pem: "-----BEGIN CERTIFICATE-----"), createdAt: Date(), updatedAt: Date())
        try CertificateFileAccess(directory: nil).check(uploaded, role: .responder)
    }
}

@Suite struct TextRuleTests {
    @Test(arguments: ["\u{202E}", "\u{202A}", "\u{2066}", "\u{2069}", "\u{0}", "\u{1B}", "\u{85}"])
    func directionOverridesAndControlsAreRefusedInEveryField(character: String) {
        #expect(throws: DomainError.self) { try Validate.text("invoice\(character)fdp.exe", field: "title", max: 100) }
    }

    @Test func ordinaryScriptsAndLineBreaksPass() throws {
        try Validate.text("שלום עולם\nمرحبا\t你好 — naïve", field: "title", max: 100)
    }

    @Test func blankMeansOnlyWhitespaceAndTheLimitCountsCharactersNotBytes() throws {
        for blank in ["", " ", "\n\t \r\n", "\u{00A0}\u{2003}\u{3000}"] {
            #expect(throws: DomainError.invalid(field: "title", message: "must not be empty")) { try Validate.text(blank, field: "title", max: 10) }
            try Validate.text(blank, field: "title", max: 10, allowEmpty: true)
        }
        try Validate.text(" a ", field: "title", max: 10)
        // Ten characters in twenty bytes (and a family emoji of seven scalars, one character) are within ten.
        try Validate.text(String(repeating: "é", count: 10), field: "title", max: 10)
        try Validate.text(String(repeating: "a", count: 9) + "👨‍👩‍👧", field: "title", max: 10)
        #expect(throws: DomainError.invalid(field: "title", message: "must be at most 10 characters")) {
            try Validate.text(String(repeating: "é", count: 11), field: "title", max: 10)
        }
    }
}
