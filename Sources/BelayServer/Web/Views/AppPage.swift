/// A page of the web app: its own values plus the chrome every page shares.
protocol AppPage: TemplateView {
    var chrome: AppChrome { get set }
}
