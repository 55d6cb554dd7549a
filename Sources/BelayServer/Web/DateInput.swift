import BelayCore
import Foundation

/// The values of `datetime-local` inputs, which carry no zone: Belay reads and writes them as UTC.
enum DateInput {
    /// "2026-11-21T16:21", or empty for no date.
    static func text(_ date: Date?) -> String {
        guard let date else { return "" }
        return String(BelayJSON.formatDate(date).prefix(16))
    }

    static func parse(_ text: String, field: String) throws -> Date {
        let full = text.count == 16 ? text + ":00Z" : (text.hasSuffix("Z") ? text : text + "Z")
        guard let date = BelayJSON.parseDate(full) else {
            throw DomainError.invalid(field: field, message: "must be a date and time like 2026-11-21T16:21 (UTC)")
        }
        return date
    }
}
