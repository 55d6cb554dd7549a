/// `/history.rss`.
struct RSSFeed: TemplateView {
    static let template = "rss"
    var pageName: String
    var baseURL: String
    var lastBuildDate: String
    var entries: [FeedEntry]
}
