// Target `jsonlimits`: the one-pass shape check every JSON body goes through before a decoder sees it.
// Whatever the bytes, a body the check lets through must really be within the limits: decoded as the
// server decodes (JSONBody.decode), its nesting and value count are at most what the check allowed, and
// the check must refuse the same body with a limit one below the real depth or count.
import BelayCore
import BelayFormats
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONLimits(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    let limits = JSONBody.limits
    guard (try? limits.check(bytes)) != nil else { return 0 }
    guard let value = try? JSONBody.decode(JSONValue.self, from: Data(bytes)) else { return 0 }
    let (depth, values) = jsonShape(value)
    require(depth <= limits.maxDepth, "the check passed a body nested \(depth) deep (limit \(limits.maxDepth))")
    require(values <= limits.maxValues, "the check passed a body of \(values) values (limit \(limits.maxValues))")
    if depth > 0 {
        require((try? JSONLimits(maxDepth: depth - 1, maxValues: .max).check(bytes)) == nil,
                "the check misses nesting: the decoder reads depth \(depth), the check allows \(depth - 1)")
    }
    require((try? JSONLimits(maxDepth: .max, maxValues: values - 1).check(bytes)) == nil,
            "the check misses values: the decoder reads \(values), the check allows \(values - 1)")
    return 0
}
