import Foundation

/// Bounds on the shape of a JSON body, checked in one pass over the bytes before any decoder sees them.
/// Foundation's decoders spend time and stack in proportion to nesting, so a small body nested thousands
/// deep costs seconds (or overflows the stack); this check costs the same per byte whatever the shape.
public struct JSONLimits: Sendable, Equatable {
    /// The deepest nesting of arrays and objects allowed. No format Belay reads needs more than a few levels;
    /// free-form fields (PagerDuty's custom_details) get room to spare.
    public var maxDepth: Int
    /// The most values (strings, numbers, literals, arrays and objects) one body may hold.
    public var maxValues: Int

    public init(maxDepth: Int = 64, maxValues: Int = 1_000_000) {
        self.maxDepth = maxDepth
        self.maxValues = maxValues
    }

    public struct Exceeded: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Throws when `bytes` nest deeper than `maxDepth` or hold more than `maxValues` values. It is not a
    /// validator: malformed JSON within the limits passes here and is refused by the decoder.
    public func check(_ bytes: some Collection<UInt8>) throws(Exceeded) {
        // JSON between systems is UTF-8 (RFC 8259). Foundation also reads UTF-16 and UTF-32, whose bytes this
        // scan would misread (a UTF-16 "Ģ" looks like a quote that hides the brackets after it); such text
        // always holds NUL bytes, which UTF-8 JSON never does (a NUL in a string is written \u0000).
        let start = Array(bytes.prefix(2))
        if start == [0xFE, 0xFF] || start == [0xFF, 0xFE] { throw Exceeded(description: "the body is not UTF-8 JSON") }
        var depth = 0
        var values = 0
        var inString = false
        var escaped = false
        var inScalar = false
        for byte in bytes {
            if byte == 0 { throw Exceeded(description: "the body is not UTF-8 JSON") }
            if inString {
                if escaped { escaped = false }
                else if byte == UInt8(ascii: "\\") { escaped = true }
                else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                inScalar = false
                depth += 1
                values += 1
                if depth > maxDepth { throw Exceeded(description: "the JSON body nests deeper than \(maxDepth) levels") }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                inScalar = false
                depth -= 1
            case UInt8(ascii: "\""):
                inScalar = false
                inString = true
                values += 1
            case UInt8(ascii: ","), UInt8(ascii: ":"), 0x20, 0x09, 0x0A, 0x0D:
                inScalar = false
            default:
                // The first byte of a number or of true, false, null.
                if !inScalar {
                    inScalar = true
                    values += 1
                }
            }
            if values > maxValues { throw Exceeded(description: "the JSON body holds more than \(maxValues) values") }
        }
    }
}
