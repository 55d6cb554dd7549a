/// Any refusal or failure under /app, as a page.
struct ErrorPage: AppPage {
    static let template = "error"
    var chrome: AppChrome
    var message: String
}
