import BelayCore
import Foundation
import GRDB

/// Channels and subscribers.
extension AppDatabase {
    static func channel(_ row: Row) throws -> NotificationChannel {
        NotificationChannel(
            id: row["id"], name: row["name"], kind: try decode(NotificationChannel.Kind.self, row["kind"]), url: row["url"],
            recipients: try JSONColumn.decode([String].self, row["recipients"]), rule: try JSONColumn.decode(NotificationRule.self, row["rule"]),
            allowedNetworks: try JSONColumn.decode([String].self, row["allowedNetworks"]), allowedBy: row["allowedBy"], isEnabled: row["isEnabled"],
            disabledReason: row["disabledReason"], secret: row["secret"], previousSecret: row["previousSecret"],
            previousSecretUntil: row.date("previousSecretUntil"), createdBy: row["createdBy"], createdAt: row.date("createdAt") ?? .distantPast,
            updatedAt: row.date("updatedAt"))
    }

    static func save(_ channel: NotificationChannel, _ db: Database) throws -> NotificationChannel {
        let arguments: StatementArguments = [
            channel.name, channel.kind.rawValue, channel.url, try JSONColumn.encode(channel.recipients), try JSONColumn.encode(channel.rule),
            try JSONColumn.encode(channel.allowedNetworks), channel.allowedBy, channel.isEnabled, channel.disabledReason, channel.secret, channel.previousSecret,
            channel.previousSecretUntil?.timeIntervalSince1970, channel.createdBy, channel.createdAt.timeIntervalSince1970,
            channel.updatedAt.timeIntervalSince1970,
        ]
        var saved = channel
        if channel.id == 0 {
            try db.execute(sql: """
                INSERT INTO notify_channel (name, kind, url, recipients, rule, allowedNetworks, allowedBy, isEnabled, disabledReason, secret,
                  previousSecret, previousSecretUntil, createdBy, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: arguments)
            saved.id = db.lastInsertedRowID
        } else {
            try db.execute(sql: """
                UPDATE notify_channel SET name = ?, kind = ?, url = ?, recipients = ?, rule = ?, allowedNetworks = ?, allowedBy = ?, isEnabled = ?,
                  disabledReason = ?, secret = ?, previousSecret = ?, previousSecretUntil = ?, createdBy = ?, createdAt = ?, updatedAt = ?
                WHERE id = ?
                """, arguments: arguments + [channel.id])
        }
        return saved
    }

    public func channels() async throws -> [NotificationChannel] {
        try await read { db in try Row.fetchAll(db, sql: "SELECT * FROM notify_channel ORDER BY id").map(Self.channel) }
    }

    public func channel(id: Int64) async throws -> NotificationChannel? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM notify_channel WHERE id = ?", arguments: [id]).map(Self.channel) }
    }

    public func createChannel(_ channel: NotificationChannel) async throws -> NotificationChannel {
        var fresh = channel
        fresh.id = 0
        let new = fresh
        return try await quietWrite { db in try Self.save(new, db) }
    }

    public func updateChannel(id: Int64, _ change: @escaping @Sendable (inout NotificationChannel) throws -> Void) async throws -> NotificationChannel {
        try await quietWrite { db in
            guard var channel = try Row.fetchOne(db, sql: "SELECT * FROM notify_channel WHERE id = ?", arguments: [id]).map(Self.channel) else {
                throw DomainError.notFound(what: "channel", id: String(id))
            }
            try change(&channel)
            channel.id = id
            return try Self.save(channel, db)
        }
    }

    public func deleteChannel(id: Int64) async throws {
        try await quietWrite { db in
            try db.execute(sql: "DELETE FROM notify_channel WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else { throw DomainError.notFound(what: "channel", id: String(id)) }
            // Nothing more goes to a deleted channel; what was sent stays on record.
            try db.execute(sql: """
                UPDATE delivery SET state = 'dead', lastError = 'the channel was deleted', leaseOwner = NULL, leaseUntil = NULL
                WHERE destinationKind = 'channel' AND destinationId = ? AND state IN ('pending', 'failed', 'sending')
                """, arguments: [id])
        }
    }

    static func subscriber(_ row: Row) throws -> Subscriber {
        Subscriber(
            id: row["id"], kind: try decode(Subscriber.Kind.self, row["kind"]), address: row["address"],
            components: try JSONColumn.decode([String].self, row["components"]), state: try decode(Subscriber.State.self, row["state"]),
            token: row["token"], secret: row["secret"], confirmationSentAt: row.date("confirmationSentAt"), confirmedAt: row.date("confirmedAt"),
            stopReason: row["stopReason"], source: row["source"], createdAt: row.date("createdAt") ?? .distantPast, updatedAt: row.date("updatedAt"))
    }

    public func subscribers(_ query: SubscriberQuery) async throws -> [Subscriber] {
        try await read { db in
            var sql = "SELECT * FROM subscriber WHERE id > ?"
            var arguments: StatementArguments = [query.afterID ?? 0]
            if let state = query.state {
                sql += " AND state = ?"
                arguments += [state.rawValue]
            }
            if let kind = query.kind {
                sql += " AND kind = ?"
                arguments += [kind.rawValue]
            }
            if let ids = query.ids {
                guard !ids.isEmpty else { return [] }
                sql += " AND id IN (\(databaseQuestionMarks(count: ids.count)))"
                arguments += StatementArguments(ids)
            }
            sql += " ORDER BY id"
            if let limit = query.limit {
                sql += " LIMIT ?"
                arguments += [max(0, limit)]
            }
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.subscriber)
        }
    }

    public func subscriber(id: Int64) async throws -> Subscriber? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM subscriber WHERE id = ?", arguments: [id]).map(Self.subscriber) }
    }

    public func subscriber(token: String) async throws -> Subscriber? {
        try await read { db in try Row.fetchOne(db, sql: "SELECT * FROM subscriber WHERE token = ?", arguments: [token]).map(Self.subscriber) }
    }

    public func subscriber(kind: Subscriber.Kind, address: String) async throws -> Subscriber? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM subscriber WHERE kind = ? AND address = ?", arguments: [kind.rawValue, address]).map(Self.subscriber)
        }
    }

    public func saveSubscribers(_ subscribers: [Subscriber]) async throws -> [Subscriber] {
        try await quietWrite { db in
            try subscribers.map { subscriber in
                let arguments: StatementArguments = [
                    subscriber.kind.rawValue, subscriber.address, try JSONColumn.encode(subscriber.components), subscriber.state.rawValue,
                    subscriber.token, subscriber.secret, subscriber.confirmationSentAt?.timeIntervalSince1970,
                    subscriber.confirmedAt?.timeIntervalSince1970, subscriber.stopReason, subscriber.source,
                    subscriber.createdAt.timeIntervalSince1970, subscriber.updatedAt.timeIntervalSince1970,
                ]
                var saved = subscriber
                if subscriber.id == 0 {
                    do {
                        try db.execute(sql: """
                            INSERT INTO subscriber (kind, address, components, state, token, secret, confirmationSentAt, confirmedAt, stopReason,
                              source, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """, arguments: arguments)
                    } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE {
                        throw DomainError.conflict(code: "subscriber_exists", message: "that address is already subscribed")
                    }
                    saved.id = db.lastInsertedRowID
                } else {
                    try db.execute(sql: """
                        UPDATE subscriber SET kind = ?, address = ?, components = ?, state = ?, token = ?, secret = ?, confirmationSentAt = ?,
                          confirmedAt = ?, stopReason = ?, source = ?, createdAt = ?, updatedAt = ? WHERE id = ?
                        """, arguments: arguments + [subscriber.id])
                    guard db.changesCount > 0 else { throw DomainError.notFound(what: "subscriber", id: String(subscriber.id)) }
                }
                return saved
            }
        }
    }

    public func deleteSubscriber(id: Int64) async throws {
        try await quietWrite { db in
            try db.execute(sql: "DELETE FROM subscriber WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else { throw DomainError.notFound(what: "subscriber", id: String(id)) }
            try db.execute(sql: """
                UPDATE delivery SET state = 'dead', lastError = 'the subscriber was removed', leaseOwner = NULL, leaseUntil = NULL
                WHERE destinationKind = 'subscriber' AND destinationId = ? AND state IN ('pending', 'failed', 'sending')
                """, arguments: [id])
        }
    }

    public func prunePendingSubscribers(before: Date) async throws -> Int {
        try await quietWrite { db in
            try db.execute(
                sql: "DELETE FROM subscriber WHERE state = 'pending' AND coalesce(confirmationSentAt, createdAt) < ?",
                arguments: [before.timeIntervalSince1970])
            return db.changesCount
        }
    }

    public func subscriberCounts() async throws -> [Subscriber.State: Int] {
        try await read { db in
            var counts: [Subscriber.State: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, count(*) AS n FROM subscriber GROUP BY state") {
                if let state = Subscriber.State(rawValue: row["state"]) { counts[state] = row["n"] }
            }
            return counts
        }
    }
}
