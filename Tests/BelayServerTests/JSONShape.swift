import Foundation

/// A parsed JSON value that keeps booleans, numbers and nulls apart, for comparing document shapes.
indirect enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null; return }
        if let value = try? container.decode(Bool.self) { self = .bool(value); return }
        if let value = try? container.decode(Double.self) { self = .number(value); return }
        if let value = try? container.decode(String.self) { self = .string(value); return }
        if let value = try? container.decode([JSONValue].self) { self = .array(value); return }
        self = .object(try container.decode([String: JSONValue].self))
    }

    static func parse(_ data: Data) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: data) }

    var kind: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    var arrayValue: [JSONValue] {
        if case .array(let array) = self { return array }
        return []
    }

    var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    /// Lists every difference in shape between `self` and `reference`: missing or extra keys, and values of
    /// another JSON type (null is accepted for keys named in `nullable`).
    func shapeDifferences(from reference: JSONValue, path: String = "$", nullable: Set<String>) -> [String] {
        switch (self, reference) {
        case (.object(let ours), .object(let theirs)):
            var problems: [String] = []
            for key in Set(theirs.keys).subtracting(ours.keys).sorted() { problems.append("\(path).\(key) is missing") }
            for key in Set(ours.keys).subtracting(theirs.keys).sorted() { problems.append("\(path).\(key) is not in Statuspage's shape") }
            for key in Set(ours.keys).intersection(theirs.keys).sorted() {
                let a = ours[key]!
                let b = theirs[key]!
                if a.kind == "null" || b.kind == "null" {
                    if a.kind != b.kind && !nullable.contains(key) { problems.append("\(path).\(key) is \(a.kind), Statuspage has \(b.kind)") }
                    continue
                }
                problems += a.shapeDifferences(from: b, path: "\(path).\(key)", nullable: nullable)
            }
            return problems
        case (.array(let ours), .array(let theirs)):
            guard let first = theirs.first else { return [] }
            return ours.enumerated().flatMap { index, item in
                // Group components carry a `components` list that plain ones lack: compare like with like.
                let match = theirs.first { $0["group"] != nil && $0["group"] == item["group"] } ?? first
                return item.shapeDifferences(from: match, path: "\(path)[\(index)]", nullable: nullable)
            }
        default:
            return kind == reference.kind ? [] : ["\(path) is \(kind), Statuspage has \(reference.kind)"]
        }
    }

    /// Every value found under `key` anywhere in the document.
    func values(of key: String) -> [JSONValue] {
        switch self {
        case .object(let object):
            return (object[key].map { [$0] } ?? []) + object.values.flatMap { $0.values(of: key) }
        case .array(let array):
            return array.flatMap { $0.values(of: key) }
        default:
            return []
        }
    }
}
