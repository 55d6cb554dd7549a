// Target `csv`: subscriber files an admin uploads (Belay's export, Statuspage's). CSV.parse must refuse or
// accept without trapping, stay within its bounds, and an accepted file must re-encode (RFC 4180 quoting)
// to one that parses to the same rows.
import BelayFormats
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let text = String(validating: fuzzBytes(data, size), as: UTF8.self) else { return 0 }
    guard case .success(let rows) = Result(catching: { () throws(CSV.Malformed) in try CSV.parse(text) }) else { return 0 }
    require(rows.count <= CSV.maxRows, "\(rows.count) rows")
    for row in rows {
        require(row.count <= CSV.maxFields, "\(row.count) fields")
        require(row.allSatisfy { $0.unicodeScalars.count <= CSV.maxFieldLength }, "a field past the length limit")
    }
    let encoded = rows.map { row in
        row.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: ",")
    }.joined(separator: "\r\n")
    let reparsed = try? CSV.parse(encoded)
    // A row of one empty field is not a row (blank lines are skipped), so compare without those.
    let kept = rows.filter { !($0.count == 1 && $0[0].isEmpty) }
    require(reparsed?.filter { !($0.count == 1 && $0[0].isEmpty) } == kept, "re-encoded rows parse differently: \(encoded.debugDescription)")
    return 0
}
