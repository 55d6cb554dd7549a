import BelayCore
import BelayFormats
import Hummingbird

/// A urlencoded form body (`FormBody`, which never traps on what a browser or an attacker sends).
/// A body that is not a form is a 400. Repeated names (checkboxes) keep every value.
struct FormData: Sendable {
    let body: FormBody

    static func read(_ request: Request, context: AppRequestContext) async throws -> FormData {
        let bytes = try await request.body.collect(upTo: context.maxUploadSize)
        do {
            return FormData(body: try FormBody(parsing: bytes.readableBytesView))
        } catch {
            throw APIError.badRequest("the form could not be read: \(error.description)")
        }
    }

    subscript(name: String) -> String? { body[name] }

    func all(_ name: String) -> [String] { body.all(name) }

    /// The value, or nil when the field is missing or blank.
    func text(_ name: String) -> String? {
        guard let value = self[name], !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        return value
    }

    func required(_ name: String, label: String) throws -> String {
        guard let value = text(name) else { throw DomainError.invalid(field: label, message: "must not be empty") }
        return value
    }
}
