/// `/incidents/:id`: one public incident with all its updates.
struct PublicIncidentPage: TemplateView {
    static let template = "incident"
    var chrome: StatusChrome
    var incident: IncidentCard
}
