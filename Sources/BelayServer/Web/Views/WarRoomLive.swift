/// The part of the war room that changes while responders work: the status line and the timeline.
/// The page embeds it, and its script fetches it again whenever the event stream says so.
struct WarRoomLive: TemplateView {
    static let template = "war-room-live"
    var incident: WarRoomIncident
    /// Newest first.
    var timeline: [TimelineLine]
}
