import Foundation

/// What `belay migrate-data` moves from one backend to another: tables of plain values, copied in an order
/// that respects their foreign keys, each verified by its row count and a checksum.

/// One stored value, as both backends can read and write it.
public enum TableValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// A column's type on the target, which decides how a source value is written and compared.
public enum ColumnKind: Sendable, Equatable {
    case integer, real, boolean, text

    /// The source value as the target stores it, or nil when it cannot be (text in an integer column).
    /// SQLite keeps booleans as 0 and 1 and may keep a whole number in a REAL column as an integer.
    public func convert(_ value: TableValue) -> TableValue? {
        switch (self, value) {
        case (_, .null): return .null
        case (.integer, .integer), (.real, .real), (.text, .text): return value
        case (.boolean, .integer(let number)): return number == 0 || number == 1 ? value : nil
        case (.real, .integer(let number)): return .real(Double(number))
        case (.integer, .real(let number)):
            guard number.rounded() == number, let whole = Int64(exactly: number) else { return nil }
            return .integer(whole)
        default: return nil
        }
    }
}

/// Reads a whole install table by table (the SQLite backend implements it).
public protocol TableSource: Sendable {
    /// The migrations applied to the source, so a copy only runs between equal schemas.
    func appliedMigrationNames() async throws -> [String]
    /// The table's column names, in the source's order.
    func columnNames(table: String) async throws -> [String]
    /// Hands every row of `table` (values in `columnNames` order) to `body`, a page at a time.
    func readRows(table: String, pageSize: Int, _ body: @escaping @Sendable ([[TableValue]]) async throws -> Void) async throws
}

/// A table's row count and an order-independent checksum of its rows: the wrapping sum of each row's
/// FNV-1a 64 over its values tagged by kind. Not a defence against tampering, a check that nothing was
/// lost, repeated or changed in the copy.
public struct TableChecksum: Sendable, Equatable, Codable {
    public private(set) var rows: Int = 0
    public private(set) var sum: UInt64 = 0

    public init() {}

    public var hex: String {
        let digits = String(sum, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Adds one row, its values in a fixed column order (the same on both sides).
    public mutating func add(_ row: [TableValue]) {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
            for byte in bytes {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
        }
        for value in row {
            switch value {
            case .null: mix([0])
            case .integer(let number): mix([1]); mix(withUnsafeBytes(of: number.littleEndian, Array.init))
            case .real(let number): mix([2]); mix(withUnsafeBytes(of: number.bitPattern.littleEndian, Array.init))
            case .text(let text):
                mix([3]); mix(withUnsafeBytes(of: UInt64(text.utf8.count).littleEndian, Array.init)); mix(text.utf8)
            }
        }
        rows += 1
        sum = sum &+ hash
    }
}

/// One table's result in a copy.
public struct TableCopyReport: Sendable, Equatable, Codable {
    public var table: String
    public var rows: Int
    public var checksum: String

    public init(table: String, rows: Int, checksum: String) {
        self.table = table
        self.rows = rows
        self.checksum = checksum
    }
}

public enum TableCopy {
    /// Every table holding data, parents before children. Runtime state a fresh start rebuilds (replica
    /// membership, job leases) is not copied.
    public static let tables = [
        "severity_level", "component", "component_dependency", "map_node", "component_node_dependency",
        "incident", "incident_component", "incident_update", "timeline_entry",
        "maintenance", "maintenance_component", "maintenance_update",
        "api_token", "user", "web_session", "invitation",
        "monitor", "check_result", "check_rollup", "integration", "signal",
        "change", "change_freeze", "event", "event_pruned",
        "notify_channel", "subscriber", "outbox_cursor", "notify_message", "delivery", "delivery_attempt", "subscriber_announcement",
        "sign_in_failure",
    ]

    /// Tables that hold rows in a freshly migrated database (the default severity definitions), replaced by the copy.
    public static let seeded: Set<String> = ["severity_level"]

    /// Tables the copy leaves out: state each running replica recreates.
    public static let runtime: Set<String> = ["replica", "job_lease"]
}
