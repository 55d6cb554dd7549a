import BelayCore
@testable import BelayServer
import Foundation
import Testing

/// What the app's pages say, rendered from their views through the real templates: no dangling words from
/// empty values, plurals, numbers people read, the title and the icon.
@Suite struct WebViewsTests {
    static let now = Date(timeIntervalSince1970: 1_795_000_000)

    static func render(_ page: some AppPage) async throws -> String {
        let renderer = try await WebRenderer.load(assets: AppAssets(cssHref: "/assets/belay.css", jsHref: "/assets/app.js"))
        var page = page
        page.chrome.assets = renderer.assets
        (page.chrome.nav, page.chrome.adminNav) = NavLink.sections(for: page.chrome.user, template: type(of: page).template)
        return try renderer.templates.render(page)
    }

    static func monitor(_ kind: MonitorKind, _ settings: MonitorSettings, successes: Int = 1) -> Monitor {
        Monitor(id: 7, name: "Checkout", kind: kind, settings: settings, successThreshold: successes, createdAt: now, updatedAt: now)
    }

    @Test func percentagesHaveAtMostTwoDecimalsAndNoTrailingZeros() {
        #expect(MonitorText.percent(passed: 7, of: 11) == "63.64%")
        #expect(MonitorText.percent(passed: 10, of: 10) == "100%")
        #expect(MonitorText.percent(passed: 1, of: 2) == "50%")
        #expect(MonitorText.percent(passed: 199, of: 200) == "99.5%")
        #expect(MonitorText.percent(passed: 0, of: 3) == "0%")
        #expect(MonitorText.percent(passed: 0, of: 0) == "no data")
        // Rounding never claims every check passed while one failed, nor none while one passed.
        #expect(MonitorText.percent(passed: 99_999, of: 100_000) == "99.99%")
        #expect(MonitorText.percent(passed: 1, of: 100_000) == "0.01%")
    }

    @Test func countsArePluralisedByNumber() {
        #expect(Plural.count(1, "check") == "1 check")
        #expect(Plural.count(2, "check") == "2 checks")
        #expect(MonitorText.thresholds(Self.monitor(.http, MonitorSettings(url: "https://example.com"))) == "2 failures to go down, 1 success to come back")
        #expect(MonitorText.thresholds(Self.monitor(.http, MonitorSettings(url: "https://example.com"), successes: 3)).hasSuffix("3 successes to come back"))
    }

    @Test func anHTTPMonitorPageHasNoHeartbeatRowAndReadableUptime() async throws {
        let hour = RollupGranularity.hour.bucket(Self.now)
        let day = RollupGranularity.day.bucket(Self.now)
        let hours = [CheckRollup(monitorID: 7, granularity: .hour, bucket: hour, total: 11, up: 7, down: 4, latencySumMs: 110, latencyCount: 11, latencyMaxMs: 30)]
        let days = [CheckRollup(monitorID: 7, granularity: .day, bucket: day, total: 11, up: 7, down: 4, latencySumMs: 110, latencyCount: 11, latencyMaxMs: 30)]
        let page = MonitorPage(
            chrome: AppChrome(title: "Checkout"), monitor: Self.monitor(.http, MonitorSettings(url: "https://example.com/health")), days: days, hours: hours,
            results: [], heartbeatURL: nil, now: Self.now)
        let html = try await Self.render(page)
        #expect(!html.contains("Heartbeat URL"))
        #expect(html.contains("24 hours 63.64%"))
        #expect(!html.contains("63.636"))
        #expect(html.contains("1 success to come back"))
        // One hour measured is one dot: the page says so instead of drawing it.
        #expect(html.contains("Not enough data yet"))
        #expect(!html.contains("<svg class=\"chart\""))
        // The day bars' tooltips name the whole date.
        #expect(html.contains("<title>\(UTCTime.day(Date(timeIntervalSince1970: TimeInterval(day)))): 63.64% of 11 checks</title>"))
    }

    @Test func aHeartbeatMonitorPageSaysItsURLIsHidden() async throws {
        let page = MonitorPage(
            chrome: AppChrome(title: "Backup"), monitor: Self.monitor(.heartbeat, MonitorSettings(graceSeconds: 60)), days: [], hours: [], results: [],
            heartbeatURL: nil, now: Self.now)
        let html = try await Self.render(page)
        #expect(html.contains("<dt>Heartbeat URL</dt><dd>Hidden"))
    }

    @Test func aLatencyChartNeedsTwoHours() {
        let last = RollupGranularity.hour.bucket(Self.now)
        let two = [last - 3600, last].map { CheckRollup(monitorID: 1, granularity: .hour, bucket: $0, total: 1, up: 1, latencySumMs: 12, latencyCount: 1, latencyMaxMs: 12) }
        #expect(Charts.latency(two, endingAt: last, count: 24, step: 3600).contains("<polyline"))
        #expect(Charts.latency(Array(two.prefix(1)), endingAt: last, count: 24, step: 3600).contains("Not enough data yet"))
        #expect(Charts.latency([], endingAt: last, count: 24, step: 3600).contains("No latency measured"))
    }

    @Test func aChangeWithoutAuthorReviewerOrTestsHasNoDanglingWords() async throws {
        let bare = Change(id: 1, kind: .deploy, summary: "Ship it", targets: ["api"], startedAt: Self.now, createdAt: Self.now)
        var full = bare
        full.author = "ana"
        full.reviewedBy = "ben"
        full.tested = true
        full.sourceURL = "https://git.example.com/pr/1"
        let html = try await Self.render(ChangesPage(chrome: AppChrome(title: "Changes"), changes: [bare], freezes: []))
        #expect(html.contains(">not reviewed</td>"))
        #expect(!html.contains(">by "))
        #expect(!html.contains("href=\"\""))
        let shown = try await Self.render(ChangesPage(chrome: AppChrome(title: "Changes"), changes: [full], freezes: []))
        #expect(shown.contains("<span class=\"hint\">by ana</span>"))
        #expect(shown.contains(">ben, tested</td>"))
        #expect(shown.contains("href=\"https://git.example.com/pr/1\""))
    }

    @Test func theDeclarePageHasItsTitleAnIconAndPromisesNoPaging() async throws {
        let page = DeclarePage(chrome: AppChrome(title: "Declare incident"), definitions: SeverityDefinition.defaults, components: [], form: nil)
        let html = try await Self.render(page)
        #expect(html.contains("<title>Declare incident · Belay</title>"))
        #expect(html.contains("<link rel=\"icon\" href=\"/assets/favicon.svg\""))
        #expect(!html.contains("pages the on-call"))
        #expect(html.contains("notification channels whose rules match"))
    }

    @Test func theNavigationMarksTheCurrentSectionAndShowsAdminLinksToAdminsOnly() {
        let admin = UserBar(User(id: 1, name: "A", email: "a@example.com", role: .admin, createdAt: Self.now, updatedAt: Self.now))
        let viewer = UserBar(User(id: 2, name: "V", email: "v@example.com", role: .viewer, createdAt: Self.now, updatedAt: Self.now))
        let forAdmin = NavLink.sections(for: admin, template: "monitor")
        #expect(forAdmin.main.filter(\.isCurrent).map(\.label) == ["Monitors"])
        #expect(forAdmin.admin.map(\.label) == ["Integrations", "Notifications", "Users", "API tokens"])
        #expect(NavLink.sections(for: viewer, template: "home").admin.isEmpty)
        #expect(NavLink.sections(for: nil, template: "home").main.isEmpty)
    }
}
