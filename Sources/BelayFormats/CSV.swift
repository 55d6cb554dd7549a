import Foundation

/// RFC 4180 CSV: quoted fields with doubled quotes, CRLF or LF rows. Bounded, and never traps on what
/// an upload holds.
public enum CSV {
    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public static let maxRows = 200_000
    public static let maxFields = 100
    public static let maxFieldLength = 10_000

    public static func parse(_ text: String) throws(Malformed) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var inQuotes = false
        var afterQuote = false
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar?
        func endField() throws(Malformed) {
            guard row.count < maxFields else { throw Malformed(description: "row \(rows.count + 1) has more than \(maxFields) fields") }
            row.append(field)
            field = ""
            afterQuote = false
        }
        func endRow() throws(Malformed) {
            try endField()
            if !(row.count == 1 && row[0].isEmpty) { rows.append(row) }
            row = []
            guard rows.count <= maxRows else { throw Malformed(description: "more than \(maxRows) rows") }
        }
        while let scalar = pending ?? iterator.next() {
            pending = nil
            if inQuotes {
                if scalar == "\"" {
                    let next = iterator.next()
                    if next == "\"" {
                        field.unicodeScalars.append("\"")
                    } else {
                        inQuotes = false
                        afterQuote = true
                        pending = next
                    }
                } else {
                    field.unicodeScalars.append(scalar)
                }
            } else {
                switch scalar {
                case ",": try endField()
                case "\n": try endRow()
                case "\r":
                    let next = iterator.next()
                    if next != "\n" { pending = next }
                    try endRow()
                case "\"" where field.isEmpty && !afterQuote: inQuotes = true
                default:
                    if afterQuote { throw Malformed(description: "row \(rows.count + 1): text after a closing quote") }
                    field.unicodeScalars.append(scalar)
                }
            }
            if field.unicodeScalars.count > maxFieldLength {
                throw Malformed(description: "row \(rows.count + 1): a field is longer than \(maxFieldLength) characters")
            }
        }
        if inQuotes { throw Malformed(description: "a quoted field is not closed") }
        if !field.isEmpty || !row.isEmpty || afterQuote { try endRow() }
        return rows
    }

    /// One cell for a file people open in a spreadsheet: quoted when needed, and a value a spreadsheet
    /// would run as a formula (=, +, -, @, tab, CR) prefixed with an apostrophe.
    public static func cell(_ value: String) -> String {
        var text = value
        if let first = text.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) { text = "'" + text }
        if text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || text != value {
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return text
    }

    public static func line(_ cells: [String]) -> String { cells.map(cell).joined(separator: ",") + "\r\n" }
}
