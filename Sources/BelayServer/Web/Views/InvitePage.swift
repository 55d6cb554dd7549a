import BelayCore

/// `/app/invite/:token`: the invited person chooses a password.
struct InvitePage: AppPage {
    static let template = "account/invite"
    var chrome: AppChrome
    var inviteName: String
    var inviteEmail: String

    init(chrome: AppChrome, user: User) {
        self.chrome = chrome
        inviteName = user.name
        inviteEmail = user.email
    }
}
