/// Belay's icon, for the browser tab of the status page and the web app alike: a rope's belay loop on the
/// app's blue, served by `PublicController`; SVG, so one file is sharp at every size.
enum Favicon {
    static let path = "/assets/favicon.svg"

    static let svg = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">\
        <rect width="32" height="32" rx="7" fill="#1849a9"/>\
        <path d="M16 5a6 6 0 0 1 6 6c0 3.2-2.5 5.2-6 8.5C12.5 16.2 10 14.2 10 11a6 6 0 0 1 6-6z" fill="none" stroke="#fff" stroke-width="3"/>\
        <path d="M16 19.5V27M11.5 27h9" stroke="#fff" stroke-width="3" stroke-linecap="round"/>\
        </svg>
        """

    static let page = CachedPage(bytes: Array(svg.utf8), contentType: "image/svg+xml", cacheControl: "public, max-age=86400")
}
