import Foundation

/// Settings for the HTTP server and the public status page. Every field has a default that works out of the box.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The name shown at the top of the status page and in feeds.
    public var pageName: String
    /// The address people reach the page at; used in feeds and the Statuspage JSON. Defaults to http://host:port.
    public var publicURL: String?
    /// The largest request body accepted, in bytes.
    public var maxBodyBytes: Int
    /// Days of history drawn on the status page.
    public var historyDays: Int
    /// How often the status page checks whether time alone has changed it (a maintenance window starting
    /// or ending, a new day); it rebuilds only then, or every five minutes at the least.
    public var refreshInterval: Duration

    public init(
        host: String = "127.0.0.1", port: Int = 8080, pageName: String = "Belay Status", publicURL: String? = nil,
        maxBodyBytes: Int = 1 << 20, historyDays: Int = 90, refreshInterval: Duration = .seconds(5)
    ) {
        self.host = host
        self.port = port
        self.pageName = pageName
        self.publicURL = publicURL
        self.maxBodyBytes = maxBodyBytes
        self.historyDays = historyDays
        self.refreshInterval = refreshInterval
    }

    public var baseURL: String {
        let url = publicURL ?? "http://\(host):\(port)"
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }
}
