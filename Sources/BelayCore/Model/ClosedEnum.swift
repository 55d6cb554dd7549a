import Foundation

/// A string enum whose decoding failure names the values it accepts, so API callers get a usable message.
public protocol ClosedStringEnum: RawRepresentable, CaseIterable, Codable where RawValue == String {}

extension ClosedStringEnum {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        guard let value = Self(rawValue: raw) else {
            let allowed = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected one of \(allowed); got '\(raw.prefix(64))'")
        }
        self = value
    }
}

extension Severity: ClosedStringEnum {}
extension Urgency: ClosedStringEnum {}
extension Impact: ClosedStringEnum {}
extension ComponentStatus: ClosedStringEnum {}
extension IncidentStatus: ClosedStringEnum {}
extension Milestone: ClosedStringEnum {}
extension Role: ClosedStringEnum {}
extension MaintenanceStatus: ClosedStringEnum {}
extension AccessRole: ClosedStringEnum {}
extension TimelineKind: ClosedStringEnum {}
