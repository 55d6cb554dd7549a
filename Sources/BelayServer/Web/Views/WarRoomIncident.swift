import BelayCore

/// The incident as the war room's headings and forms name it.
struct WarRoomIncident {
    var id: String
    var title: String
    var status: String
    var severity: String
    var severityName: String
    var urgency: String
    var isPublic: Bool
    var isResolved: Bool
    var publicURL: String
    var impacts: [ImpactTag]

    struct ImpactTag {
        var name: String
        var impact: String
    }
}

extension WarRoomIncident {
    /// `names` maps component slugs to names.
    init(_ incident: Incident, definitions: [SeverityDefinition], names: [String: String]) {
        let definition = definitions.first { $0.level == incident.severity }
        self.init(
            id: String(incident.id), title: incident.title, status: incident.status.label,
            severity: incident.severity.rawValue, severityName: definition?.name ?? "", urgency: (definition?.urgency ?? .high).rawValue,
            isPublic: incident.isPublic, isResolved: !incident.isOpen, publicURL: "/incidents/\(incident.id)",
            impacts: incident.impacts.map { ImpactTag(name: names[$0.slug] ?? $0.slug, impact: $0.impact.componentStatus.label) })
    }
}
