import BelayCore
import Foundation

/// Words and numbers the status page shows for states and shares.
enum StatusText {
    static func impactLabel(_ indicator: OverallIndicator) -> String {
        switch indicator {
        case .none: return "No impact"
        case .minor: return "Minor"
        case .major: return "Major"
        case .critical: return "Critical"
        case .maintenance: return "Maintenance"
        }
    }

    /// Rounded down, so a day with one failed check never reads as 100%.
    static func percent(_ fraction: Double) -> String {
        let value = (fraction * 10000).rounded(.down) / 100
        return value == 100 ? "100%" : String(format: "%.2f%%", value)
    }
}
