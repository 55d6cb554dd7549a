import Hummingbird

/// What every app page shows around its content: the title, who is signed in, the form token, and a
/// refused form's reason or a notice.
struct AppChrome {
    var title: String
    /// Filled in by `WebRenderer`, which alone knows the current asset versions.
    var assets = AppAssets()
    /// Filled in by `WebRenderer`, which knows the page's template and so its section.
    var nav: [NavLink] = []
    var adminNav: [NavLink] = []
    var user: UserBar?
    var csrf: String
    var error: String?
    var notice: String?

    init(_ context: AppRequestContext, title: String, error: String? = nil, notice: String? = nil) {
        self.title = title
        user = context.user.map(UserBar.init)
        csrf = context.session?.csrfToken ?? ""
        self.error = error
        self.notice = notice
    }

    /// Chrome without a request, for pages drawn outside one (tests of the templates).
    init(title: String, user: UserBar? = nil, csrf: String = "") {
        self.title = title
        self.user = user
        self.csrf = csrf
    }

    /// With the reason a refused form gave, carried back in `?error=`.
    init(_ context: AppRequestContext, _ request: Request, title: String) {
        self.init(context, title: title, error: request.uri.queryParameters["error"].map(String.init))
    }
}
