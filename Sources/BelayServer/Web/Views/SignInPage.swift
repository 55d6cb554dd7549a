/// `/app/sign-in`.
struct SignInPage: AppPage {
    static let template = "account/sign-in"
    var chrome: AppChrome
    var email = ""
    /// Where to go once signed in.
    var next = ""
}
