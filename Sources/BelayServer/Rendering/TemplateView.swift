/// A value one template draws. swift-mustache reads it through Mirror, which sees stored properties
/// only, so a view keeps everything its template names as a stored property. A nil optional reads as
/// missing, and the name is then looked up in the enclosing sections; an empty string is a value and
/// opens a `{{#section}}` like any other.
protocol TemplateView {
    /// The template's path inside its library's folder, without the extension.
    static var template: String { get }
}
