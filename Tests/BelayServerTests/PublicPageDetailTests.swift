import BelayCore
@testable import BelayServer
import BelayTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The public page's day detail, local times, logo and accent.
@Suite struct PublicPageDetailTests {
    // MARK: Contrast, as WCAG 2 computes it

    @Test func contrastMatchesWCAGsReferenceValues() throws {
        #expect(abs(AccentColor.contrast(.white, .black) - 21) < 0.001)
        #expect(AccentColor.contrast(.white, .white) == 1)
        // #767676 is the lightest grey with 4.5:1 on white; #777777 just misses it.
        #expect(AccentColor.contrast(try #require(AccentColor(hex: "#767676")), .white) >= 4.5)
        #expect(AccentColor.contrast(try #require(AccentColor(hex: "#777777")), .white) < 4.5)
        let blue = try #require(AccentColor(hex: "#1849a9"))
        #expect(AccentColor.contrast(blue, .white) == AccentColor.contrast(.white, blue))
    }

    @Test(arguments: ["#ffeb3b", "#7fffd4", "#fff", "#e0a100", "#1849a9", "#000000", "#d92d20", "#2e9d57"])
    func everyShadeTheAccentMakesKeepsFourAndAHalfToOne(hex: String) throws {
        let accent = try #require(AccentColor(hex: hex))
        for background in [AccentStylesheet.lightBackground, AccentStylesheet.darkBackground] {
            #expect(AccentColor.contrast(accent.readable(on: background), background) >= 4.5, "\(hex) on \(background)")
        }
        let css = AccentStylesheet.css(accent)
        let fill = try #require(Self.value(of: "--accent-fill", in: css))
        let on = try #require(Self.value(of: "--accent-on", in: css))
        #expect(AccentColor.contrast(fill, on) >= 4.5, "\(hex): button text \(on) on \(fill)")
        #expect(css.contains("--accent: \(accent);"))
    }

    @Test func aLightAccentGetsDarkTextAndADarkerShadeForLinks() throws {
        let yellow = try #require(AccentColor(hex: "#FFEB3B"))
        #expect(yellow.description == "#ffeb3b")
        #expect(yellow.textOnAccent != .white)
        #expect(yellow.readable(on: .white) != yellow)
        let blue = try #require(AccentColor(hex: "18a"))
        #expect(blue.description == "#1188aa")
        #expect(try #require(AccentColor(hex: "#1849a9")).textOnAccent == .white)
        #expect(try #require(AccentColor(hex: "#1849a9")).readable(on: .white).description == "#1849a9")
    }

    @Test(arguments: ["", "#", "#12", "#1234", "#12345", "#1234567", "#ggg", "red", "rgb(1,2,3)", "#123;}", "#１２３", "#12345z"])
    func anythingButThreeOrSixHexDigitsIsNotAColour(text: String) {
        #expect(AccentColor(hex: text) == nil)
    }

    // MARK: Configuration

    @Test(arguments: [
        ("page-accent", "blue", "--page-accent: must be a hex colour"),
        ("page-accent", "#12345", "--page-accent: must be a hex colour"),
        ("page-logo", "http://example.com/logo.png", "--page-logo: must be an https address or a PNG, JPEG or SVG file (got an http address)"),
        ("page-logo", "https://example.com/a\"onerror=\"x.png", "--page-logo: must be an https address"),
        ("page-logo", "https://user:pw@example.com/logo.png", "--page-logo: must be an https address"),
        ("page-logo", "ftp://example.com/logo.png", "--page-logo: must be an https address or a PNG"),
        ("page-logo", "/no/such/logo.png", "--page-logo: cannot read the logo file"),
    ])
    func aBadLogoOrAccentStopsTheStart(name: String, value: String, message: String) {
        #expect {
            try ConfigurationLoader.load(flags: [name: value], environment: [:])
        } throws: { error in
            (error as? ConfigurationLoader.Invalid)?.description.hasPrefix(message) == true
        }
    }

    @Test func logoFilesAreKnownByTheirBytesAndCapped() throws {
        let directory = try Fixtures.temporaryDirectory()
        let png = directory.appendingPathComponent("logo.png")
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]).write(to: png)
        let svg = directory.appendingPathComponent("logo.svg")
        try Data("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1 1\"/>".utf8).write(to: svg)
        let named = directory.appendingPathComponent("not-really.png")
        try Data("<html><body>hello</body></html>".utf8).write(to: named)
        let large = directory.appendingPathComponent("large.png")
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: PageLogo.maximumBytes)).write(to: large)

        let fromPNG = try ConfigurationLoader.load(flags: ["page-logo": png.path], environment: [:])
        guard case .file(_, _, .png)? = fromPNG.statusPage.logo else { Issue.record("a PNG was not read as one"); return }
        let fromSVG = try ConfigurationLoader.load(flags: [:], environment: ["BELAY_PAGE_LOGO": svg.path, "BELAY_PAGE_ACCENT": "#ABC"])
        guard case .file(_, _, .svg)? = fromSVG.statusPage.logo else { Issue.record("an SVG was not read as one"); return }
        #expect(fromSVG.statusPage.accent?.description == "#aabbcc")
        #expect(throws: ConfigurationLoader.Invalid.self) { try ConfigurationLoader.load(flags: ["page-logo": named.path], environment: [:]) }
        #expect { try ConfigurationLoader.load(flags: ["page-logo": large.path], environment: [:]) } throws: { error in
            (error as? ConfigurationLoader.Invalid)?.description.contains("at most 512 KB") == true
        }
        let remote = try ConfigurationLoader.load(flags: ["page-logo": "https://cdn.Example.com:8443/brand/logo.svg?v=2"], environment: [:])
        #expect(remote.statusPage.logo == .remote(url: "https://cdn.Example.com:8443/brand/logo.svg?v=2", origin: "https://cdn.example.com:8443"))
        let printed = try ConfigurationDocument(fromSVG).json()
        #expect(printed.contains("\"accent\":\"#aabbcc\"") || printed.contains("\"accent\" : \"#aabbcc\""))
    }

    // MARK: The day detail

    @Test func eachDayOfTheBarSaysItsDateUptimeAndIncidents() throws {
        let now = try #require(RFC3339.parse("2026-11-30T12:00:00Z"))
        let component = Fixtures.component("api", at: now.addingTimeInterval(-40 * 86400))
        let incident = try Self.incident(title: "Database failover", slug: "api", from: "2026-11-28T10:00:00Z", to: "2026-11-28T11:00:00Z")
        let history = try #require(
            UptimeHistory.build(components: [component], incidents: [incident], maintenances: [], days: 90, now: now)["api"])
        let bars = UptimeBars(history, incidents: [incident], now: now)

        #expect(bars.days.count == 90)
        let outage = try #require(bars.days.first { $0.iso == "2026-11-28" })
        #expect(outage.date == "28 Nov 2026")
        #expect(outage.statusClass == "d-major_outage")
        #expect(outage.summary == "95.83% uptime")
        #expect(outage.details.contains("Major outage: 1 h"))
        #expect(outage.details.contains("Incident: Database failover"))
        let quiet = try #require(bars.days.first { $0.iso == "2026-11-29" })
        #expect(quiet.statusClass == "d-operational" && quiet.summary == "100% uptime" && quiet.details.isEmpty)
        // Before the component existed there is nothing to say.
        #expect(bars.days.first?.summary == "No data")
        #expect(bars.days.first?.statusClass == "d-none")
        // The detail opens inwards at both ends of the bar.
        #expect(bars.days.first?.edgeClass == "day-start" && bars.days.last?.edgeClass == "day-end")
        #expect(bars.label.contains("90-day history") && bars.label.contains("1 days with issues"))
    }

    @Test func theHomePageHasFocusableDaysUTCTimesAndOnlyAnExternalScript() async throws {
        let harness = try await Harness.make()
        try await harness.run { client, publisher in
            try await client.send(.post, "/api/v1/components", token: harness.admin, json: ["slug": "api", "name": "API"])
            try await client.send(
                .post, "/api/v1/incidents", token: harness.responder,
                json: ["title": "Slow API", "severity": "sev3", "message": "Looking", "components": [["slug": "api", "impact": "partial_outage"]]])
            try await publisher.rebuild()
            let home = try await client.send(.get, "/", token: nil)
            let html = home.text
            #expect(html.components(separatedBy: #"<li class="day "#).count - 1 == 90)
            #expect(html.components(separatedBy: #"tabindex="0""#).count - 1 == 90)
            #expect(html.contains(#"<span class="day-line">Incident: Slow API</span>"#))
            #expect(html.contains(#"<ol class="days" aria-label="90-day history"#))
            // Every time: ISO in UTC for the script, UTC text and title for the reader without it.
            let times = html.matches(of: /<time datetime="([^"]+)" title="([^"]+)">([^<]+)<\/time>/)
            #expect(!times.isEmpty)
            for time in times {
                #expect(time.output.1.hasSuffix("Z"))
                #expect(time.output.2.hasSuffix(" UTC") && time.output.2 == time.output.3)
            }
            #expect(!html.contains("<time datetime=\"") || html.components(separatedBy: "<time ").count - 1 == times.count)
            #expect(!html.contains("style="))
            #expect(!html.contains("has-accent"))
            let script = try await client.send(.get, "/assets/local-time.js", token: nil)
            #expect(script.status == .ok)
            #expect(script.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(script.text.contains("Intl.DateTimeFormat"))
            #expect(home.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
        }
    }

    @Test func anAccentAndALogoFileAreServedAsAssetsWithoutInlineStyle() async throws {
        let directory = try Fixtures.temporaryDirectory()
        let svg = directory.appendingPathComponent("logo.svg")
        try Data("<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".utf8).write(to: svg)
        let logo = try PageLogo.parse(svg.path)
        let harness = try await Harness.make { configuration in
            configuration.statusPage.accent = AccentColor(hex: "#ffeb3b")
            configuration.statusPage.logo = logo
        }
        try await harness.run { client, publisher in
            try await publisher.rebuild()
            let home = try await client.send(.get, "/", token: nil)
            #expect(home.text.contains(#"<body class="public-page has-accent">"#))
            #expect(home.text.contains(#"<link rel="stylesheet" href="/assets/accent.css?v="#))
            #expect(home.text.contains(#"<img class="logo" src="/assets/logo.svg?v="#))
            #expect(!home.text.contains("style="))
            #expect(home.headers[.contentSecurityPolicy] == StatusPageBuilder.contentSecurityPolicy)
            let css = try await client.send(.get, "/assets/accent.css", token: nil)
            #expect(css.headers[.contentType] == "text/css; charset=utf-8")
            #expect(css.text.contains("--accent: #ffeb3b;"))
            let image = try await client.send(.get, "/assets/logo.svg", token: nil)
            #expect(image.status == .ok)
            #expect(image.headers[.contentType] == "image/svg+xml")
            #expect(image.headers[.contentSecurityPolicy]?.contains("sandbox") == true)
            #expect(image.headers[.contentSecurityPolicy]?.contains("script-src") == false)
            #expect(image.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
        }
    }

    @Test func aRemoteLogoAddsItsOriginAloneToThePagesImageSources() async throws {
        let harness = try await Harness.make { configuration in
            configuration.statusPage.logo = try? PageLogo.parse("https://cdn.example.com/brand/logo.png")
        }
        try await harness.run { client, publisher in
            try await publisher.rebuild()
            let home = try await client.send(.get, "/", token: nil)
            #expect(home.text.contains(#"<img class="logo" src="https://cdn.example.com/brand/logo.png" alt="" height="32">"#))
            let policy = try #require(home.headers[.contentSecurityPolicy])
            #expect(policy.contains("img-src 'self' data: https://cdn.example.com;"))
            #expect(!policy.contains("/brand"))
        }
    }

    static func value(of property: String, in css: String) -> AccentColor? {
        guard let range = css.range(of: "\(property): ") else { return nil }
        return AccentColor(hex: String(css[range.upperBound...].prefix(7)))
    }

    static func incident(title: String, slug: String, from: String, to: String) throws -> Incident {
        let start = try #require(RFC3339.parse(from))
        let end = try #require(RFC3339.parse(to))
        return Incident(
            title: title, severity: .sev2, status: .resolved, impacts: [ComponentImpact(slug: slug, impact: .majorOutage)],
            milestones: Milestones(impactStartedAt: start, resolvedAt: end), createdAt: start, updatedAt: end)
    }
}
