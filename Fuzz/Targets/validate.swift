// Target `validate`: the shared field validators (Validate.text, .slug, .id) every form field and
// API body goes through. The first input byte picks the length limit, the rest is the text.
import BelayCore
import BelayFormats
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzValidate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    let max = Int(bytes.first ?? 0)
    let text = String(decoding: bytes.dropFirst(), as: UTF8.self)

    let allowed = Validate.isAllowedText(text)
    require(allowed == !hasForbiddenControl(text), "isAllowedText(\(text.debugDescription)) is \(allowed)")
    for allowEmpty in [false, true] {
        let passes = (try? Validate.text(text, field: "f", max: max, allowEmpty: allowEmpty)) != nil
        let expected = allowed && text.count <= max && (allowEmpty || !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
        require(passes == expected, "Validate.text(\(text.debugDescription), max: \(max), allowEmpty: \(allowEmpty)) passes: \(passes)")
    }

    if (try? Validate.slug(text)) != nil {
        require(!text.isEmpty && text.utf8.count <= 64 && !text.hasPrefix("-"), "slug \(text.debugDescription)")
        require(text.utf8.allSatisfy { ("a"..."z").contains(Character(Unicode.Scalar($0))) || ("0"..."9").contains(Character(Unicode.Scalar($0))) || $0 == UInt8(ascii: "-") },
                "slug \(text.debugDescription) has other characters")
    }
    if let id = Validate.id(text) {
        require(id > 0 && String(id) == text, "id \(text.debugDescription) -> \(id)")
    } else if let value = Int64(text), value > 0 {
        require(String(value) != text, "canonical id \(text.debugDescription) refused")
    }
    return 0
}
