import Foundation

/// An `application/x-www-form-urlencoded` body as the WHATWG URL standard defines it: `&`-separated
/// `name=value` pairs, `+` for space, `%XX` escapes. Parsed over the bytes and never trapping, because
/// every web form posts through it before anyone is signed in.
public struct FormBody: Sendable, Equatable {
    /// Name and value pairs in order; a repeated name (checkboxes) keeps every value.
    public var items: [Pair]

    public struct Pair: Sendable, Equatable {
        public var name: String
        public var value: String
    }

    /// Why a body is not a form: the sender gets this in a 400.
    public struct Malformed: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// More fields than any Belay form has many times over; a body past it is refused, not parsed.
    public static let maxFields = 1000

    public init(items: [Pair]) { self.items = items }

    /// Parses `bytes`. A bad escape (`%zz`, a lone `%`), text that is not UTF-8, a control character
    /// other than tab and line breaks, or more than `maxFields` fields is an error naming the problem.
    public init(parsing bytes: some Collection<UInt8>) throws(Malformed) {
        var items: [Pair] = []
        var name: [UInt8] = []
        var value: [UInt8] = []
        var inValue = false
        var iterator = bytes.makeIterator()

        func finish() throws(Malformed) {
            defer {
                name.removeAll(keepingCapacity: true)
                value.removeAll(keepingCapacity: true)
                inValue = false
            }
            if name.isEmpty && value.isEmpty && !inValue { return }
            guard items.count < Self.maxFields else { throw Malformed(description: "the form has more than \(Self.maxFields) fields") }
            items.append(Pair(name: try Self.text(name, what: "a field name"), value: try Self.text(value, what: "the value of a field")))
        }

        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "&"):
                try finish()
            case UInt8(ascii: "=") where !inValue:
                inValue = true
            case UInt8(ascii: "+"):
                inValue ? value.append(0x20) : name.append(0x20)
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else {
                    throw Malformed(description: "the form has a '%' that is not followed by two hex digits")
                }
                let decoded = high << 4 | low
                inValue ? value.append(decoded) : name.append(decoded)
            default:
                inValue ? value.append(byte) : name.append(byte)
            }
        }
        try finish()
        self.items = items
    }

    public subscript(name: String) -> String? { items.first { $0.name == name }?.value }

    public func all(_ name: String) -> [String] { items.filter { $0.name == name }.map(\.value) }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    static func text(_ bytes: [UInt8], what: String) throws(Malformed) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw Malformed(description: "\(what) is not UTF-8 text")
        }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r" || $0.value == 0x7F }) {
            throw Malformed(description: "\(what) contains a control character")
        }
        return text
    }
}
