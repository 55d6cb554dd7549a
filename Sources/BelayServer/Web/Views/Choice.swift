import BelayCore

/// One choice in a form: an `<option>`, a radio button, or a button that sends its value.
struct Choice {
    var value: String
    var label: String
    var selected = false
}

extension Choice {
    init(_ value: String, selected: Bool = false) {
        self.init(value: value, label: value, selected: selected)
    }

    static func roles(selecting chosen: AccessRole) -> [Choice] {
        AccessRole.allCases.map { Choice($0.rawValue, selected: $0 == chosen) }
    }

    static func severities(selecting chosen: Severity) -> [Choice] {
        Severity.allCases.map { Choice($0.rawValue, selected: $0 == chosen) }
    }
}
