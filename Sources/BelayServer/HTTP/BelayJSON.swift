import BelayCore
import BelayFormats
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

    public static func makeDecoder() -> JSONDecoder { JSONBody.makeDecoder() }

    public static func formatDate(_ date: Date) -> String { RFC3339.format(date) }

    /// Parses an RFC 3339 date-time; see `RFC3339.parse`.
    public static func parseDate(_ text: String) -> Date? { RFC3339.parse(text) }

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
                return try JSONBody.decode(T.self, from: Data(buffer: body, byteTransferStrategy: .noCopy), decoder: BelayJSON.makeDecoder())
            } catch {
                throw APIError.badRequest(error.message)
            }
        }
    }

    /// Turns a DecodingError into a sentence naming the field, for a 400 the caller can act on.
    static func describe(_ error: DecodingError) -> String { JSONBody.describe(error) }
}
