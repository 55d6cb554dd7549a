import BelayCore
import Foundation

/// Input that cannot be read: the sender gets the message in a 400 and nothing is stored.
public struct MalformedInput: Error, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Reads JSON from outside: the shape limits first, then the decoder, every failure a `MalformedInput`
/// naming the field.
public enum JSONBody {
    public static let limits = JSONLimits()

    /// A decoder that reads dates as RFC 3339 strings, as every format Belay takes writes them.
    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = RFC3339.parse(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "expected an ISO 8601 date-time such as 2026-11-21T14:05:00Z, got '\(text.prefix(64))'")
            }
            return date
        }
        return decoder
    }

    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, decoder: JSONDecoder = makeDecoder(), limits: JSONLimits = limits) throws(MalformedInput) -> T {
        guard !data.isEmpty else { throw MalformedInput("the request body is empty; expected a JSON object") }
        do {
            try limits.check(data)
        } catch {
            throw MalformedInput(error.description)
        }
        do {
            return try decoder.decode(T.self, from: data)
        } catch let error as DecodingError {
            throw MalformedInput(describe(error))
        } catch let error as MalformedInput {
            throw error
        } catch let error as DomainError {
            throw MalformedInput(error.message)
        } catch {
            throw MalformedInput("the body could not be read")
        }
    }

    /// Turns a DecodingError into a sentence naming the field, for a 400 the caller can act on.
    public static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let text = codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return text.hasPrefix(".") ? String(text.dropFirst()) : (text.isEmpty ? "body" : text)
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(jsonTypeName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(jsonTypeName(type)), got null"
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): required field is missing"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "the body is not valid JSON" }
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "the body could not be read"
        }
    }

    static func jsonTypeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type, is Double.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "a \(name)"
        }
    }
}
