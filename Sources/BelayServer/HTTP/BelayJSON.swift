import Foundation
import Hummingbird
import NIOCore

/// JSON as Belay speaks it: ISO 8601 dates with milliseconds in UTC, accepted with or without fractions.
public enum BelayJSON {
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(formatDate(date))
        }
        return encoder
    }

    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = parseDate(text) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "expected an ISO 8601 date-time such as 2026-11-21T14:05:00Z, got '\(text.prefix(64))'")
            }
            return date
        }
        return decoder
    }

    public static func formatDate(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// Parses an RFC 3339 date-time (`2026-11-21T16:21:00Z`, `…00.250+02:00`). Every field must be in range:
    /// Foundation's parsers quietly roll `12:99` over into the next hour, which would store a time nobody typed.
    public static func parseDate(_ text: String) -> Date? {
        // ASCII digits only: \d alone would also match other scripts' digits.
        let pattern = #/^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))$/#.asciiOnlyDigits()
        guard let match = text.wholeMatch(of: pattern),
            let year = Int(match.1), let month = Int(match.2), let day = Int(match.3),
            let hour = Int(match.4), let minute = Int(match.5), let second = Int(match.6)
        else { return nil }
        guard (1...12).contains(month), (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second) else { return nil }
        var offset = 0
        if let sign = match.9, let offsetHours = match.10.flatMap({ Int($0) }), let offsetMinutes = match.11.flatMap({ Int($0) }) {
            guard offsetMinutes <= 59, offsetHours * 60 + offsetMinutes <= 18 * 60 else { return nil }
            offset = (offsetHours * 3600 + offsetMinutes * 60) * (sign == "-" ? -1 : 1)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard let date = calendar.date(from: components), calendar.component(.day, from: date) == day else { return nil }
        let fraction = match.7.flatMap { Double("0" + $0) } ?? 0
        return date.addingTimeInterval(fraction - Double(offset))
    }

    public struct Encoder: ResponseEncoder {
        public init() {}
        public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
            var buffer = ByteBuffer()
            try buffer.writeBytes(BelayJSON.makeEncoder().encode(value))
            return Response(
                status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: buffer))
        }
    }

    public struct Decoder: RequestDecoder {
        public init() {}
        public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
            let body = try await request.body.collect(upTo: context.maxUploadSize)
            guard body.readableBytes > 0 else { throw APIError.badRequest("the request body is empty; expected a JSON object") }
            do {
                return try BelayJSON.makeDecoder().decode(T.self, from: Data(buffer: body))
            } catch let error as DecodingError {
                throw APIError.badRequest(BelayJSON.describe(error))
            }
        }
    }

    /// Turns a DecodingError into a sentence naming the field, for a 400 the caller can act on.
    static func describe(_ error: DecodingError) -> String {
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
