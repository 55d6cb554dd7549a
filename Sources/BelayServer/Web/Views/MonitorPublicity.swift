import BelayCore

/// What the public will see when a monitor opens an incident, said on the monitor's page so nobody learns
/// during an outage that the status page stayed green.
enum MonitorPublicity {
    static func note(component: Component?) -> String {
        guard let component else {
            return "nothing: a monitor with no component opens an internal incident, which the status page does not show."
        }
        guard component.isPublic else {
            return "nothing: \(component.name) is internal, so its incidents never reach the status page."
        }
        guard component.automaticIncidentsPublic else {
            return "nothing until a responder makes the incident public: \(component.name) keeps automatic incidents internal. "
                + "An admin can change that on the component's page."
        }
        return "the incident at once, with \(component.name) shown as impaired, and subscribers are told."
    }
}
