import BelayCore
import Foundation
import GRDB

/// The notification tables: channels, subscribers, the outbox cursor, messages, deliveries and attempts.
extension AppDatabase {
    static func createOutbox(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE notify_channel (
              id INTEGER PRIMARY KEY AUTOINCREMENT,
              name TEXT NOT NULL, kind TEXT NOT NULL, url TEXT NOT NULL, recipients TEXT NOT NULL, rule TEXT NOT NULL,
              allowedNetworks TEXT NOT NULL, allowedBy TEXT, isEnabled BOOLEAN NOT NULL, disabledReason TEXT,
              secret TEXT, previousSecret TEXT, previousSecretUntil DOUBLE,
              createdBy TEXT NOT NULL, createdAt DOUBLE NOT NULL, updatedAt DOUBLE NOT NULL);
            CREATE TABLE subscriber (
              id INTEGER PRIMARY KEY AUTOINCREMENT,
              kind TEXT NOT NULL, address TEXT NOT NULL, components TEXT NOT NULL, state TEXT NOT NULL,
              token TEXT NOT NULL UNIQUE, secret TEXT, confirmationSentAt DOUBLE, confirmedAt DOUBLE, stopReason TEXT,
              source TEXT NOT NULL, createdAt DOUBLE NOT NULL, updatedAt DOUBLE NOT NULL,
              UNIQUE (kind, address));
            CREATE INDEX subscriber_state ON subscriber (state);
            CREATE TABLE outbox_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), sequence INTEGER NOT NULL);
            CREATE TABLE notify_message (
              id INTEGER PRIMARY KEY AUTOINCREMENT,
              eventSequence INTEGER NOT NULL, topic TEXT NOT NULL, incidentId INTEGER, body TEXT NOT NULL, createdAt DOUBLE NOT NULL);
            CREATE TABLE delivery (
              id INTEGER PRIMARY KEY AUTOINCREMENT,
              key TEXT NOT NULL UNIQUE, messageId INTEGER NOT NULL REFERENCES notify_message(id),
              destinationKind TEXT NOT NULL, destinationId INTEGER NOT NULL, transport TEXT NOT NULL, topic TEXT NOT NULL,
              incidentId INTEGER, state TEXT NOT NULL, attemptCount INTEGER NOT NULL DEFAULT 0, nextAttemptAt DOUBLE,
              leaseOwner TEXT, leaseUntil DOUBLE, lastError TEXT, createdAt DOUBLE NOT NULL, deliveredAt DOUBLE);
            CREATE INDEX delivery_due ON delivery (nextAttemptAt) WHERE state IN ('pending', 'failed');
            CREATE INDEX delivery_leased ON delivery (leaseUntil) WHERE state = 'sending';
            CREATE INDEX delivery_destination ON delivery (destinationKind, destinationId, id);
            CREATE INDEX delivery_incident ON delivery (incidentId, id) WHERE incidentId IS NOT NULL;
            CREATE INDEX delivery_dead ON delivery (id) WHERE state = 'dead';
            CREATE TABLE delivery_attempt (
              deliveryId INTEGER NOT NULL REFERENCES delivery(id), number INTEGER NOT NULL, startedAt DOUBLE NOT NULL,
              latencyMs INTEGER NOT NULL, statusCode INTEGER, error TEXT, outcome TEXT NOT NULL,
              PRIMARY KEY (deliveryId, number));
            CREATE TABLE subscriber_announcement (
              incidentId INTEGER PRIMARY KEY, components TEXT NOT NULL, at DOUBLE NOT NULL, damped BOOLEAN NOT NULL);
            CREATE INDEX subscriber_announcement_at ON subscriber_announcement (at);
            """)
    }
}

/// JSON columns for small lists and the rule.
enum JSONColumn {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try EventCoding.encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try EventCoding.decoder.decode(type, from: Data(text.utf8))
    }
}

extension Row {
    func date(_ column: String) -> Date? { (self[column] as Double?).map(Date.init(timeIntervalSince1970:)) }
}
