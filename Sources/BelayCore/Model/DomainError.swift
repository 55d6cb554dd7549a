import Foundation

/// What went wrong, in domain terms. The server maps each case to one HTTP status in one place.
public enum DomainError: Error, Equatable, Sendable {
    /// The input is well-formed but breaks a rule (HTTP 422).
    case invalid(field: String, message: String)
    /// The thing asked for does not exist (HTTP 404).
    case notFound(what: String, id: String)
    /// The request conflicts with the current state, e.g. an invalid transition (HTTP 409).
    case conflict(code: String, message: String)

    public var message: String {
        switch self {
        case .invalid(let field, let message): return "\(field): \(message)"
        // Only a number is repeated back: any other text may be a secret pasted into the wrong place (an
        // integration key where an id or slug belongs), and error bodies carry no secrets.
        case .notFound(let what, let id): return Validate.id(id) != nil ? "\(what) '\(id)' does not exist" : "no such \(what)"
        case .conflict(_, let message): return message
        }
    }
}

/// Small shared validators so every entry point enforces the same limits.
public enum Validate {
    public static func text(_ value: String, field: String, max: Int, allowEmpty: Bool = false) throws {
        // Every alert's fields pass here: the checks stop at the first letter and count characters only when
        // the bytes could be too many, rather than trimming a copy and counting graphemes each time.
        if !allowEmpty && value.unicodeScalars.allSatisfy({ whitespace.contains($0) }) {
            throw DomainError.invalid(field: field, message: "must not be empty")
        }
        if value.utf8.count > max && value.count > max {
            throw DomainError.invalid(field: field, message: "must be at most \(max) characters")
        }
        if !isAllowedText(value) {
            throw DomainError.invalid(field: field, message: "must not contain control characters")
        }
    }

    private static let whitespace = CharacterSet.whitespacesAndNewlines

    /// Whether `value` is free of the characters no field may hold (see `isForbiddenControl`).
    public static func isAllowedText(_ value: String) -> Bool {
        !value.unicodeScalars.contains(where: isForbiddenControl)
    }

    /// C0 controls other than tab, newline and carriage return, DEL, the C1 controls, and the bidirectional
    /// overrides and isolates, which make text display in an order other than the one stored (a title
    /// that reads as something else, "Trojan Source").
    static func isForbiddenControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: return false
        case 0x00...0x1F, 0x7F...0x9F: return true
        case 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    /// Canonical positive ids only ("12", not "012" or "+12"), so one resource has one address.
    public static func id(_ raw: String) -> Int64? {
        guard let value = Int64(raw), value > 0, String(value) == raw else { return nil }
        return value
    }

    /// Slugs are lowercase ASCII letters, digits and dashes, starting with a letter or digit.
    public static func slug(_ value: String, field: String = "slug") throws {
        let allowed = value.utf8.allSatisfy { c in
            (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-")
        }
        guard !value.isEmpty, value.count <= 64, allowed, value.first != "-" else {
            throw DomainError.invalid(field: field, message: "must be 1-64 characters of a-z, 0-9 and '-', not starting with '-' (got '\(value.prefix(80))')")
        }
    }
}

/// The store cannot write now (the disk is full, the file system went read-only, an I/O error). Nothing
/// of the failed write was kept; the server answers 503 and tries again with the next write, so service
/// comes back by itself once the fault is cleared.
public struct StorageUnavailable: Error, Equatable, Sendable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
}
