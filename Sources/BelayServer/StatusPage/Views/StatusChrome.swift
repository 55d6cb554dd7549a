/// What every status page shows around its content: the page's name and logo, the stylesheets and
/// script, and when the page was built.
struct StatusChrome {
    var pageName: String
    var title: String
    var cssHref: String
    var generatedAt: String
    var generatedISO: String
    /// The script that shows times in the reader's zone; the page reads the same without it.
    var scriptHref: String?
    /// The generated stylesheet holding `--page-accent`'s shades; empty without an accent.
    var accentHref: String?
    var logoSource: String?
    /// "has-accent" when an accent is set, so the rules in `belay.css` that read it apply.
    var bodyClass: String = "public-page"
}
