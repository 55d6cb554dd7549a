import Foundation

/// Date-times as alert senders write them.
public enum RFC3339 {
    /// Parses an RFC 3339 date-time (`2026-11-21T16:21:00Z`, `…00.250+02:00`), and the ISO 8601 offset
    /// without a colon (`+0000`) that PagerDuty documents. Every field must be in range: Foundation's parsers
    /// quietly roll `12:99` over into the next hour, which would store a time nobody typed. Hand-written
    /// over the bytes because alert ingestion parses two dates per alert.
    public static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { bytes -> Date? in
            let count = bytes.count
            guard count >= 20 else { return nil }
            func digits(_ start: Int, _ length: Int) -> Int? {
                var value = 0
                for index in start..<(start + length) {
                    let byte = bytes[index]
                    guard byte >= 48 && byte <= 57 else { return nil }
                    value = value * 10 + Int(byte - 48)
                }
                return value
            }
            guard let year = digits(0, 4), bytes[4] == 45, let month = digits(5, 2), bytes[7] == 45, let day = digits(8, 2),
                bytes[10] == 84 || bytes[10] == 116, let hour = digits(11, 2), bytes[13] == 58, let minute = digits(14, 2), bytes[16] == 58,
                let second = digits(17, 2)
            else { return nil }
            guard (1...12).contains(month), (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second) else { return nil }
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
            guard day >= 1, day <= monthDays[month - 1] else { return nil }
            var index = 19
            var fraction = 0.0
            if bytes[index] == 46 {  // "."
                index += 1
                var scale = 0.1
                let first = index
                while index < count, bytes[index] >= 48, bytes[index] <= 57 {
                    fraction += Double(bytes[index] - 48) * scale
                    scale /= 10
                    index += 1
                }
                guard index > first, index - first <= 9, index < count else { return nil }
            }
            var offset = 0
            switch bytes[index] {
            case 90, 122:  // Z z
                guard index + 1 == count else { return nil }
            case 43, 45:  // + -
                let rest = count - index - 1
                let hours: Int?
                let minutes: Int?
                if rest == 5 && bytes[index + 3] == 58 {
                    hours = digits(index + 1, 2)
                    minutes = digits(index + 4, 2)
                } else if rest == 4 {
                    hours = digits(index + 1, 2)
                    minutes = digits(index + 3, 2)
                } else {
                    return nil
                }
                guard let hours, let minutes, minutes <= 59, hours * 60 + minutes <= 18 * 60 else { return nil }
                offset = (hours * 3600 + minutes * 60) * (bytes[index] == 45 ? -1 : 1)
            default:
                return nil
            }
            // Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's days_from_civil).
            let y = month <= 2 ? year - 1 : year
            let era = (y >= 0 ? y : y - 399) / 400
            let yearOfEra = y - era * 400
            let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
            let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
            let days = era * 146_097 + dayOfEra - 719_468
            let seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
            return Date(timeIntervalSince1970: Double(seconds) + fraction)
        }
    }

    /// Formats a date in UTC with milliseconds (`2026-11-21T16:21:00.250Z`), which `parse` reads back.
    public static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
