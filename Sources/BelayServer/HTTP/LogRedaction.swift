/// Paths as they may appear in log lines: the segments that are secrets (integration keys, heartbeat
/// tokens, invitation tokens) are replaced, so a log shipped elsewhere gives nobody a way in. Query
/// strings never reach a log line (the setup code travels in one).
enum LogRedaction {
    static let placeholder = "[redacted]"

    static func path(_ path: String) -> String {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        func redact(after prefix: [String], count: Int = 1) {
            guard parts.count > prefix.count + 1 else { return }
            // parts[0] is the empty string before the leading slash.
            guard Array(parts[1...prefix.count]) == prefix else { return }
            for index in (prefix.count + 1)..<min(parts.count, prefix.count + 1 + count) { parts[index] = placeholder }
        }
        // /api/v1/integrations/{key}/alertmanager|events|changes hold a key; /api/v1/integrations/{id} does not.
        if parts.count > 5, parts[1...3] == ["api", "v1", "integrations"], ["alertmanager", "events", "changes"].contains(parts[5]) {
            parts[4] = placeholder
        }
        redact(after: ["api", "v1", "heartbeats"])
        redact(after: ["app", "invite"])
        return parts.joined(separator: "/")
    }
}
