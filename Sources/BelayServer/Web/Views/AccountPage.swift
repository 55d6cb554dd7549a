/// `/app/account`: one's own account and the form to change one's password.
struct AccountPage: AppPage {
    static let template = "account/account"
    var chrome: AppChrome
    var email: String
}
