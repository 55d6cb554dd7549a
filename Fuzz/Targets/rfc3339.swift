// Target `rfc3339`: the hand-written date-time parser every alert date goes through (RFC3339.parse).
// The input is read twice: as text to parse (an accepted date must format and parse back to itself,
// and agree with Foundation's ISO 8601 parser wherever that one accepts the text too), and, from its
// first 8 bytes, as a moment to format the way the API writes dates and parse back.
import BelayCore
import BelayFormats
import Foundation

private let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
private let withoutFraction = Date.ISO8601FormatStyle()
/// 1600-01-01 and 10000-01-01 (UTC): inside, Foundation's calendar is proleptic Gregorian and years have
/// four digits, so its formatting and RFC3339.parse must agree exactly.
private let earliest = -11_676_096_000.0
private let latest = 253_402_300_800.0
/// The API writes milliseconds, cut rather than rounded, and seconds this large carry about 3e-5 of
/// floating-point error: two readings of one moment may differ by up to this much.
private let tolerance = 0.0011

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRFC3339(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    let text = String(decoding: bytes, as: UTF8.self)
    if let date = RFC3339.parse(text) {
        let seconds = date.timeIntervalSince1970
        require(seconds.isFinite, "parsed \(text.debugDescription) to \(seconds)")
        require(text.utf8.count >= 20 && text.utf8.count <= 35, "accepted \(text.debugDescription)")
        if seconds >= earliest && seconds < latest {
            let formatted = date.formatted(withFraction)
            let again = RFC3339.parse(formatted)
            require(again != nil && abs(again!.timeIntervalSince1970 - seconds) <= tolerance,
                    "\(text.debugDescription) -> \(formatted) -> \(String(describing: again?.timeIntervalSince1970)) (was \(seconds))")
            let style = text.utf8.contains(UInt8(ascii: ".")) ? withFraction : withoutFraction
            if let foundation = try? Date(text, strategy: style) {
                require(abs(foundation.timeIntervalSince1970 - seconds) <= tolerance,
                        "\(text.debugDescription): RFC3339.parse says \(seconds), Foundation \(foundation.timeIntervalSince1970)")
            }
        }
    }
    if size >= 8 {
        var raw: UInt64 = 0
        for byte in bytes.prefix(8) { raw = raw << 8 | UInt64(byte) }
        let span = UInt64((latest - earliest) * 1000)
        let millis = Double(raw % span) + earliest * 1000
        let date = Date(timeIntervalSince1970: millis / 1000)
        let formatted = date.formatted(withFraction)
        let parsed = RFC3339.parse(formatted)
        require(parsed != nil && abs(parsed!.timeIntervalSince1970 - date.timeIntervalSince1970) <= tolerance,
                "\(date.timeIntervalSince1970) formats as \(formatted), parses to \(String(describing: parsed?.timeIntervalSince1970))")
    }
    return 0
}
