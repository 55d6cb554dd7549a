// Shared by every fuzz target (compiled into each binary): the invariant check and the callbacks the
// server passes to the parsers, made deterministic so a crash reproduces from its input alone.
import BelayCore
import BelayFormats
import Foundation

/// Traps when an invariant breaks: libFuzzer sees the crash and saves the input. Only the harness traps.
@inline(never)
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError("fuzz invariant broken: \(message())", file: file, line: line) }
}

/// The fuzz input as a buffer; libFuzzer may pass a null pointer for the empty input.
func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeBufferPointer<UInt8> {
    UnsafeBufferPointer(start: size == 0 ? nil : data, count: size)
}

/// Stands in for the server's generated dedup key (32 hex characters, random there).
func fuzzKey() -> String { "0123456789abcdef0123456789abcdef" }

/// Stands in for the server's label fingerprint (SHA-256 there; FNV-1a here, to keep the fuzzers on
/// Foundation alone): the sorted labels, 16 hex characters.
func fuzzFingerprint(_ labels: [String: String]) -> String {
    let text = labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\u{1F}")
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    return String(hash, radix: 16).leftPadded(to: 16)
}

extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

/// Whether `text` holds a character no stored field may hold (see Validate.isForbiddenControl).
func hasForbiddenControl(_ text: String) -> Bool {
    text.unicodeScalars.contains { scalar in
        switch scalar.value {
        case 0x09, 0x0A, 0x0D: return false
        case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}

/// What every normalized event must satisfy, whichever format it came in: the shared rules hold (checking
/// again changes nothing), no stored text holds a control character, every link is a safe http(s) link,
/// and the event survives the JSON round trip the store and the API put it through.
func requireValidEvent(_ event: SignalEvent, field: String = "") {
    do { try IngestRules.check(event, field: field) } catch { require(false, "a normalized event fails IngestRules.check: \(error.message)") }
    require(!event.dedupKey.isEmpty && event.dedupKey.count <= SignalEvent.maxDedupKey, "dedup key length \(event.dedupKey.count)")
    require(event.action != .trigger || event.summary.count <= SignalEvent.maxSummary, "summary length \(event.summary.count)")
    require(event.labels.count <= SignalEvent.maxLabels, "\(event.labels.count) labels")
    require(event.links.count <= IngestRules.maxLinks, "\(event.links.count) links")
    for link in event.links {
        require(ExternalLink.validated(link.href) == link.href, "unsafe link \(link.href.debugDescription)")
    }
    var texts = [event.dedupKey] + event.labels.keys + event.labels.values + event.links.compactMap(\.text)
    texts += [event.source, event.component, event.severity, event.details].compactMap { $0 }
    if event.action == .trigger { texts.append(event.summary) }
    for text in texts { require(!hasForbiddenControl(text), "control character in \(text.debugDescription)") }
    // Routing, as the server does right after normalizing: only known components come out.
    var matcher = RuleMatcher(routing: fuzzRouting)
    let rule = matcher.matchingRule(for: event)
    let routed = fuzzRouting.route(event, matchedRule: rule, knownComponents: fuzzComponents)
    require(routed.components.allSatisfy(fuzzComponents.contains), "routed to unknown components \(routed.components)")
    do {
        let again = try JSONDecoder().decode(SignalEvent.self, from: JSONEncoder().encode(event))
        require(again == event, "the event changes through JSON: \(event) -> \(again)")
    } catch {
        require(false, "the event does not round-trip through JSON: \(error)")
    }
}

/// A routing with every kind of match value (exact, "*", "/regex/"); its patterns are quick, so runs repeat.
let fuzzRouting = Routing(
    rules: [
        RoutingRule(match: ["team": "payments", "severity": "critical"], components: ["payments"], severity: .sev1),
        RoutingRule(match: ["instance": "/db[0-9]+(:[0-9]+)?/", "alertname": "*"], components: ["database"]),
        RoutingRule(match: ["source": "/worker-.*/"], components: ["queue", "gone"], severity: .sev3),
    ],
    defaultComponents: ["api"], defaultSeverity: .sev2)
let fuzzComponents: Set<String> = ["api", "payments", "database", "queue", "checkout"]

/// Nesting depth (a scalar is 0) and values counted as the check counts them: every scalar, array,
/// object and object key.
func jsonShape(_ value: JSONValue) -> (depth: Int, values: Int) {
    switch value {
    case .string, .number, .bool, .null: return (0, 1)
    case .array(let items):
        var depth = 0, values = 1
        for item in items {
            let inner = jsonShape(item)
            depth = max(depth, inner.depth)
            values += inner.values
        }
        return (depth + 1, values)
    case .object(let members):
        var depth = 0, values = 1
        for (_, member) in members {
            let inner = jsonShape(member)
            depth = max(depth, inner.depth)
            values += inner.values + 1
        }
        return (depth + 1, values)
    }
}
