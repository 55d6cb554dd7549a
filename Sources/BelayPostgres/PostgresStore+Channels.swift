import BelayCore
import Foundation
import Logging
import PostgresNIO

/// Row mapping for the notification tables: the columns of SQLite's AppDatabase+Outbox.swift, JSON columns
/// encoded as its `JSONColumn` does.
enum NotifyRows {
    static let channelColumns = """
        id, name, kind, url, recipients, rule, allowedNetworks, allowedBy, isEnabled, disabledReason, secret, previousSecret,
        previousSecretUntil, createdBy, createdAt, updatedAt
        """

    static func channel(_ row: PostgresRow) throws -> NotificationChannel {
        let (
            id, name, kind, url, recipients, rule, allowedNetworks, allowedBy, isEnabled, disabledReason, secret, previousSecret,
            previousSecretUntil, createdBy, createdAt, updatedAt
        ) = try row.decode(
            (Int64, String, String, String, String, String, String, String?, Bool, String?, String?, String?, Double?, String, Double, Double).self)
        return NotificationChannel(
            id: id, name: name, kind: try value(NotificationChannel.Kind.self, kind, column: "notify_channel.kind"), url: url,
            recipients: try column([String].self, recipients), rule: try column(NotificationRule.self, rule),
            allowedNetworks: try column([String].self, allowedNetworks), allowedBy: allowedBy, isEnabled: isEnabled, disabledReason: disabledReason,
            secret: secret, previousSecret: previousSecret, previousSecretUntil: previousSecretUntil.map(date), createdBy: createdBy,
            createdAt: date(createdAt), updatedAt: date(updatedAt))
    }

    /// Inserts (id 0) or updates `channel` as SQLite's `save` does; returns it with its id.
    static func save(_ channel: NotificationChannel, _ connection: PostgresConnection, logger: Logger) async throws -> NotificationChannel {
        let recipients = try column(channel.recipients), rule = try column(channel.rule), networks = try column(channel.allowedNetworks)
        let secretUntil = channel.previousSecretUntil?.timeIntervalSince1970
        let createdAt = channel.createdAt.timeIntervalSince1970, updatedAt = channel.updatedAt.timeIntervalSince1970
        var saved = channel
        if channel.id == 0 {
            let rows = try await connection.query(
                """
                INSERT INTO notify_channel (name, kind, url, recipients, rule, allowedNetworks, allowedBy, isEnabled, disabledReason, secret,
                  previousSecret, previousSecretUntil, createdBy, createdAt, updatedAt)
                VALUES (\(channel.name), \(channel.kind.rawValue), \(channel.url), \(recipients), \(rule), \(networks), \(channel.allowedBy),
                  \(channel.isEnabled), \(channel.disabledReason), \(channel.secret), \(channel.previousSecret), \(secretUntil),
                  \(channel.createdBy), \(createdAt), \(updatedAt))
                RETURNING id
                """, logger: logger)
            for try await id in rows.decode(Int64.self) { saved.id = id }
        } else {
            try await connection.query(
                """
                UPDATE notify_channel SET name = \(channel.name), kind = \(channel.kind.rawValue), url = \(channel.url), recipients = \(recipients),
                  rule = \(rule), allowedNetworks = \(networks), allowedBy = \(channel.allowedBy), isEnabled = \(channel.isEnabled),
                  disabledReason = \(channel.disabledReason), secret = \(channel.secret), previousSecret = \(channel.previousSecret),
                  previousSecretUntil = \(secretUntil), createdBy = \(channel.createdBy), createdAt = \(createdAt), updatedAt = \(updatedAt)
                WHERE id = \(channel.id)
                """, logger: logger)
        }
        return saved
    }

    static func channels(_ query: PostgresQuery, _ connection: PostgresConnection, logger: Logger) async throws -> [NotificationChannel] {
        var channels: [NotificationChannel] = []
        for try await row in try await connection.query(query, logger: logger) { channels.append(try channel(row)) }
        return channels
    }

    // MARK: Values

    static func value<T: RawRepresentable>(_ type: T.Type, _ raw: String, column: String) throws -> T where T.RawValue == String {
        guard let value = T(rawValue: raw) else { throw StoredValueInvalid(column: column, value: raw) }
        return value
    }

    static func date(_ seconds: Double) -> Date { Date(timeIntervalSince1970: seconds) }

    /// A JSON column's text, as SQLite's `JSONColumn` writes it.
    static func column<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try EventCoding.encoder.encode(value), as: UTF8.self)
    }

    static func column<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try EventCoding.decoder.decode(type, from: Data(text.utf8))
    }

    /// Rows for one multi-row statement, read back with `json_to_recordset`: postgres-nio's arrays cannot
    /// hold NULL, and several of these columns are nullable. Keys are lower case because the record's
    /// column names are (unquoted names fold). Numbers keep their exact value: `json` hands each number's
    /// text to the column type's input function.
    static func recordset<Row: Encodable>(_ rows: [Row]) throws -> String {
        String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
    }

    /// The number of rows a counting query returns in its one column.
    static func count(_ query: PostgresQuery, _ connection: PostgresConnection, logger: Logger) async throws -> Int {
        var count = 0
        for try await value in try await connection.query(query, logger: logger).decode(Int.self) { count = value }
        return count
    }
}

/// Channels.
extension PostgresStore {
    public func channels() async throws -> [NotificationChannel] {
        let logger = logger
        return try await read { connection in
            try await NotifyRows.channels("SELECT \(unescaped: NotifyRows.channelColumns) FROM notify_channel ORDER BY id", connection, logger: logger)
        }
    }

    public func channel(id: Int64) async throws -> NotificationChannel? {
        let logger = logger
        return try await read { connection in
            try await NotifyRows.channels(
                "SELECT \(unescaped: NotifyRows.channelColumns) FROM notify_channel WHERE id = \(id)", connection, logger: logger
            ).first
        }
    }

    public func createChannel(_ channel: NotificationChannel) async throws -> NotificationChannel {
        let logger = logger
        var fresh = channel
        fresh.id = 0
        let new = fresh
        return try await quietWrite { connection in try await NotifyRows.save(new, connection, logger: logger) }
    }

    public func updateChannel(id: Int64, _ change: @escaping @Sendable (inout NotificationChannel) throws -> Void) async throws -> NotificationChannel {
        let logger = logger
        return try await quietWrite { connection in
            guard var channel = try await NotifyRows.channels(
                "SELECT \(unescaped: NotifyRows.channelColumns) FROM notify_channel WHERE id = \(id)", connection, logger: logger
            ).first else {
                throw DomainError.notFound(what: "channel", id: String(id))
            }
            try change(&channel)
            channel.id = id
            return try await NotifyRows.save(channel, connection, logger: logger)
        }
    }

    public func deleteChannel(id: Int64) async throws {
        let logger = logger
        try await quietWrite { connection in
            let deleted = try await NotifyRows.count(
                "WITH gone AS (DELETE FROM notify_channel WHERE id = \(id) RETURNING id) SELECT count(*) FROM gone", connection, logger: logger)
            guard deleted > 0 else { throw DomainError.notFound(what: "channel", id: String(id)) }
            // Nothing more goes to a deleted channel; what was sent stays on record.
            try await connection.query(
                """
                UPDATE delivery SET state = 'dead', lastError = 'the channel was deleted', leaseOwner = NULL, leaseUntil = NULL
                WHERE destinationKind = 'channel' AND destinationId = \(id) AND state IN ('pending', 'failed', 'sending')
                """, logger: logger)
        }
    }
}
