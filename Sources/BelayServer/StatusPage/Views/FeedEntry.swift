/// One incident in either feed.
struct FeedEntry {
    var id: String
    var title: String
    var link: String
    var published: String
    var updated: String
    var pubDate: String
    /// The update history as HTML, which the feed templates escape once more as XML text.
    var content: String
}
