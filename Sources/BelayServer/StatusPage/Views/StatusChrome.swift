/// What every status page shows around its content: the page's name, the stylesheet and when the
/// page was built.
struct StatusChrome {
    var pageName: String
    var title: String
    var cssHref: String
    var generatedAt: String
    var generatedISO: String
}
