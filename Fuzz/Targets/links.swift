// Target `links`: the check every link from outside passes before it is stored and rendered as an href
// (ExternalLink.validated). An accepted link is returned unchanged, is absolute http(s) with a host by
// Foundation's URL as well, and holds no whitespace or control that could fool a scheme check.
import BelayCore
import BelayFormats
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLinks(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: fuzzBytes(data, size), as: UTF8.self)
    guard let link = ExternalLink.validated(text) else { return 0 }
    require(link == text, "validated(_:) changed \(text.debugDescription) to \(link.debugDescription)")
    require(link.utf8.count <= ExternalLink.maxLength, "\(link.utf8.count) bytes")
    require(!link.unicodeScalars.contains { $0.value <= 0x20 || (0x7F...0x9F).contains($0.value) }, "control or space in \(link.debugDescription)")
    let lower = link.lowercased()
    require(lower.hasPrefix("http://") || lower.hasPrefix("https://"), "accepted a link that does not start http(s)://: \(link.debugDescription)")
    if let url = URL(string: link) {
        require(["http", "https"].contains(url.scheme?.lowercased() ?? ""), "URL reads scheme \(String(describing: url.scheme)) in \(link.debugDescription)")
    }
    return 0
}
