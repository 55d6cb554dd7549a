/// The answer for any other address, and for incidents that are not public.
struct NotFoundPage: TemplateView {
    static let template = "not-found"
    var chrome: StatusChrome
}
