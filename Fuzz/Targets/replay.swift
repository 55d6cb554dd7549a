// Target `replay`: replay files (postmortems as data) as `belay replay` and `serve --replay` load them
// (ReplayFile.load). A file that loads must be within the JSON shape limits and give a last moment
// that moves with shifted(by:).
import BelayCore
import BelayFormats
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzReplay(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let replay: ReplayFile
    do {
        replay = try ReplayFile.load(Data(fuzzBytes(data, size)))
    } catch let error as DomainError {
        require(!error.message.isEmpty, "refused without a reason")
        return 0
    } catch {
        return 0
    }
    // The shape limits held: read again as plain JSON, the file is no deeper and no bigger than allowed.
    let limits = JSONLimits()
    if let value = try? JSONDecoder().decode(JSONValue.self, from: Data(fuzzBytes(data, size))) {
        let (depth, values) = jsonShape(value)
        require(depth <= limits.maxDepth && values <= limits.maxValues, "a replay file nested \(depth) deep with \(values) values loaded")
    }
    let last = replay.lastMoment
    require(last == nil || last!.timeIntervalSince1970.isFinite, "last moment \(String(describing: last))")
    let offset = 86_400.0 * 7
    let shifted = replay.shifted(by: offset)
    require(shifted.lastMoment == last.map { $0.addingTimeInterval(offset) }, "shifted(by:) moved the last moment differently")
    require(shifted.events.count == replay.events.count && shifted.name == replay.name, "shifted(by:) changed the story")
    return 0
}
