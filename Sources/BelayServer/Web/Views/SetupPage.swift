/// `/app/setup`: the first administrator's form, filled again when it was refused.
struct SetupPage: AppPage {
    static let template = "account/setup"
    var chrome: AppChrome
    var name = ""
    var email = ""
}
