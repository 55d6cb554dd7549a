/// `/history.atom`.
struct AtomFeed: TemplateView {
    static let template = "atom"
    var pageName: String
    var baseURL: String
    var updated: String
    var entries: [FeedEntry]
}
