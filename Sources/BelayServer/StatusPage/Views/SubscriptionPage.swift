/// A component a subscriber may follow, as a checkbox.
struct ComponentChoice {
    var slug: String
    var name: String
    var checked: Bool
}

/// The pages a subscriber sees without an account: "check your email", confirm, manage, unsubscribe.
/// Every action is a POST from a button here: mail scanners open links, so a GET never changes anything.
struct SubscriptionPage: TemplateView {
    static let template = "subscription"
    var chrome: StatusChrome
    var heading: String
    var paragraphs: [String]
    /// Shown once, to a new webhook subscriber.
    var secret: String?
    var form: Form?

    struct Form {
        var action: String
        var token: String
        var button: String
        var components: [ComponentChoice]
        var hasComponents: Bool
        /// A second button on the manage page.
        var unsubscribeAction: String?
    }
}
