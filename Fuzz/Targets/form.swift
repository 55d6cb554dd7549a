// Target `form`: application/x-www-form-urlencoded bodies, as every web form posts them (before sign-in).
// FormBody(parsing:) must refuse or accept without trapping, the same way whatever collection the bytes
// come in, and an accepted form must re-encode to a body that parses to the same items.
import BelayCore
import BelayFormats
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzForm(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    let parsed = Result { () throws(FormBody.Malformed) in try FormBody(parsing: bytes) }
    // The server hands over a non-contiguous ByteBuffer view; an Array and a slice must read the same.
    let fromArray = Result { () throws(FormBody.Malformed) in try FormBody(parsing: Array(bytes)) }
    let fromSlice = Result { () throws(FormBody.Malformed) in try FormBody(parsing: Array(bytes)[...]) }
    require(parsed == fromArray && parsed == fromSlice, "the parse depends on the collection type")
    guard case .success(let form) = parsed else { return 0 }

    require(form.items.count <= FormBody.maxFields, "\(form.items.count) fields")
    for item in form.items {
        for text in [item.name, item.value] {
            require(!text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r") || $0.value == 0x7F },
                    "control character in \(text.debugDescription)")
        }
        require(form[item.name] == form.all(item.name).first, "subscript and all(_:) disagree on \(item.name.debugDescription)")
    }
    let encoded = encode(form)
    let reparsed = try? FormBody(parsing: Array(encoded.utf8))
    require(reparsed == form, "re-encoded form \(encoded.debugDescription) parses to \(String(describing: reparsed?.items))")
    return 0
}

/// The WHATWG urlencoded serializer: bytes other than ALPHA, DIGIT and *-._ escaped, space as '+'.
private func encode(_ form: FormBody) -> String {
    func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "*"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case 0x20: out += "+"
            default: out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
    return form.items.map { escape($0.name) + "=" + escape($0.value) }.joined(separator: "&")
}
