import BelayFormats
import BelayCore
import Foundation

/// Turns public data into the views the status page's templates draw. All text goes through the
/// templates' escaping; the only markup made in Swift is the feeds' entry bodies, which escape their
/// text themselves.
struct StatusPageViews {
    let configuration: ServerConfiguration
    let data: PublicData
    let statuses: [String: ComponentStatus]
    let overall: OverallIndicator
    let history: [String: ComponentHistory]
    let cssHref: String
    var scriptHref: String?
    var accentHref: String?
    var logoSource: String?

    var names: [String: String] { Dictionary(uniqueKeysWithValues: data.components.map { ($0.slug, $0.name) }) }

    func chrome(title: String) -> StatusChrome {
        StatusChrome(
            pageName: configuration.statusPage.pageName, title: title, cssHref: cssHref, generatedAt: UTCTime.when(data.now),
            generatedISO: BelayJSON.formatDate(data.now), scriptHref: scriptHref, accentHref: accentHref, logoSource: logoSource,
            bodyClass: accentHref == nil ? "public-page" : "public-page has-accent")
    }

    func incidentCard(_ incident: Incident) -> IncidentCard {
        IncidentCard(incident, names: names, now: data.now)
    }

    func maintenanceCard(_ window: MaintenanceWindow) -> MaintenanceCard {
        MaintenanceCard(window, names: names, now: data.now)
    }

    func home() -> StatusHomePage {
        let now = data.now
        let open = data.incidents.filter(\.isOpen)
        let active = data.maintenances.filter { $0.isActive(at: now) }.sorted { $0.scheduledStart < $1.scheduledStart }
        let upcoming = data.maintenances.filter { $0.isUpcoming(at: now) }.sorted { $0.scheduledStart < $1.scheduledStart }
        return StatusHomePage(
            chrome: chrome(title: configuration.statusPage.pageName), overallClass: "ind-\(overall.rawValue)", overallText: overall.description,
            activeIncidents: open.map(incidentCard), hasActiveIncidents: !open.isEmpty, activeMaintenance: active.map(maintenanceCard),
            upcomingMaintenance: upcoming.map(maintenanceCard), hasActiveMaintenance: !active.isEmpty, hasUpcomingMaintenance: !upcoming.isEmpty,
            historyDays: configuration.statusPage.historyDays,
            groups: ComponentGroup.grouped(data.components).map { group in
                StatusHomePage.Group(name: group.name ?? "", hasName: group.name != nil, components: group.members.map(componentRow))
            },
            subscribe: configuration.http.publicURL == nil ? nil : StatusHomePage.SubscribeForm(
                email: configuration.notify.hasSMTP, components: data.components.map { ComponentChoice(slug: $0.slug, name: $0.name, checked: false) },
                hasComponents: !data.components.isEmpty))
    }

    func componentRow(_ component: Component) -> StatusHomePage.ComponentRow {
        let status = statuses[component.slug] ?? .operational
        let componentHistory = history[component.slug]
        let bars = componentHistory.map { UptimeBars($0, incidents: data.incidents, now: data.now) }
        return StatusHomePage.ComponentRow(
            name: component.name, description: component.description, hasDescription: !component.description.isEmpty,
            statusLabel: status.label, statusClass: "st-\(status.rawValue)",
            uptime: componentHistory.map { history in
                history.measuredUptime.map { StatusText.percent($0) + " measured" } ?? StatusText.percent(history.uptime)
            } ?? "100%",
            days: bars?.days ?? [], historyLabel: bars?.label ?? "", hasHistory: bars != nil)
    }

    func historyPage() -> HistoryPage {
        var months: [HistoryPage.Month] = []
        for incident in data.incidents.sorted(by: { $0.impactStart > $1.impactStart }) {
            let label = UTCTime.month(incident.impactStart)
            if months.last?.month == label {
                months[months.count - 1].incidents.append(incidentCard(incident))
            } else {
                months.append(HistoryPage.Month(month: label, incidents: [incidentCard(incident)]))
            }
        }
        let past = data.maintenances.filter { $0.effectiveStatus(at: data.now).isFinished }
        return HistoryPage(
            chrome: chrome(title: "History · \(configuration.statusPage.pageName)"), months: months, hasIncidents: !data.incidents.isEmpty,
            pastMaintenance: past.map(maintenanceCard), hasPastMaintenance: !past.isEmpty, historyDays: configuration.statusPage.historyDays)
    }

    func incidentPage(_ incident: Incident) -> PublicIncidentPage {
        PublicIncidentPage(chrome: chrome(title: "\(incident.title) · \(configuration.statusPage.pageName)"), incident: incidentCard(incident))
    }

    func notFoundPage() -> NotFoundPage {
        NotFoundPage(chrome: chrome(title: "Not found · \(configuration.statusPage.pageName)"))
    }

    /// The newest incidents as feed entries; each entry's content is the update history as HTML.
    var feedEntries: [FeedEntry] {
        data.incidents.prefix(50).map { incident in
            let content = incident.updates.reversed().map { update in
                "<p><small>\(Markup.escape(UTCTime.when(update.displayAt)))</small><br><strong>\(Markup.escape(update.status.label))</strong> - \(Markup.escape(update.body))</p>"
            }.joined()
            let updated = max(incident.updatedAt, incident.updates.last?.createdAt ?? incident.updatedAt)
            let link = "\(configuration.baseURL)/incidents/\(incident.id)"
            return FeedEntry(
                id: link, title: incident.title, link: link, published: BelayJSON.formatDate(incident.createdAt),
                updated: BelayJSON.formatDate(updated), pubDate: UTCTime.rfc822(incident.createdAt), content: content)
        }
    }

    var feedUpdated: Date { data.incidents.map(\.updatedAt).max() ?? data.now }

    func atomFeed() -> AtomFeed {
        AtomFeed(pageName: configuration.statusPage.pageName, baseURL: configuration.baseURL, updated: BelayJSON.formatDate(feedUpdated), entries: feedEntries)
    }

    func rssFeed() -> RSSFeed {
        RSSFeed(pageName: configuration.statusPage.pageName, baseURL: configuration.baseURL, lastBuildDate: UTCTime.rfc822(feedUpdated), entries: feedEntries)
    }
}
