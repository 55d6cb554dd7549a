/// Stylesheet and script addresses. Each carries a hash of its file, so browsers fetch a new version
/// as soon as it ships.
struct AppAssets {
    var cssHref = ""
    var jsHref = ""
}
