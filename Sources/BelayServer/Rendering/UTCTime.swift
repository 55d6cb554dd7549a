import Foundation

/// Dates as every page shows them: in UTC, as the app's date inputs are read.
enum UTCTime {
    static let zone = TimeZone.utc
    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let longMonthNames = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
    static let weekdayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

    static func parts(_ date: Date) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
    }

    /// "21 Nov 2026, 16:21 UTC"
    static func when(_ date: Date) -> String {
        let p = parts(date)
        return String(format: "%d %@ %04d, %02d:%02d UTC", p.day!, monthNames[p.month! - 1], p.year!, p.hour!, p.minute!)
    }

    /// "21 Nov 2026"
    static func day(_ date: Date) -> String {
        let p = parts(date)
        return String(format: "%d %@ %04d", p.day!, monthNames[p.month! - 1], p.year!)
    }

    /// "November 2026"
    static func month(_ date: Date) -> String {
        let p = parts(date)
        return "\(longMonthNames[p.month! - 1]) \(p.year!)"
    }

    /// RFC 822 dates for RSS, e.g. "Sat, 21 Nov 2026 16:21:00 +0000".
    static func rfc822(_ date: Date) -> String {
        let p = parts(date)
        return String(
            format: "%@, %02d %@ %04d %02d:%02d:%02d +0000", weekdayNames[p.weekday! - 1], p.day!, monthNames[p.month! - 1], p.year!, p.hour!,
            p.minute!, p.second!)
    }
}
