import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Renders the web app's pages from its own templates (`Templates/app`). Every page is served with the
/// same strict policy as the status page and is never cached, since it shows one person's view.
struct WebRenderer: Sendable {
    let templates: TemplateLibrary
    let assets: AppAssets

    /// Every view the app draws; each must have its template before the server starts.
    static var views: [any TemplateView.Type] {
        [
            AppHomePage.self, ComponentsPage.self, ComponentEditPage.self, MaintenancePage.self, UsersPage.self, TokensPage.self,
            DeclarePage.self, WarRoomPage.self, WarRoomLive.self, MonitorsPage.self, MonitorPage.self, IntegrationsPage.self, MapPage.self,
            ChangesPage.self, NotificationsPage.self, ErrorPage.self, SetupPage.self, SignInPage.self, InvitePage.self, AccountPage.self,
        ]
    }

    static func load(assets: AppAssets) async throws -> WebRenderer {
        let folder = try ServerResources.directory().appendingPathComponent("Templates/app")
        return WebRenderer(templates: try await TemplateLibrary.load(folder, views: views), assets: assets)
    }

    static let headers: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .contentSecurityPolicy: StatusPageBuilder.contentSecurityPolicy,
        .cacheControl: "no-store",
        .xContentTypeOptions: "nosniff",
        .referrerPolicy: "same-origin",
        .xFrameOptions: "DENY",
    ]

    func page<Page: AppPage>(_ page: Page, status: HTTPResponse.Status = .ok) throws -> Response {
        var page = page
        page.chrome.assets = assets
        (page.chrome.nav, page.chrome.adminNav) = NavLink.sections(for: page.chrome.user, template: Page.template)
        return try fragment(page, status: status)
    }

    /// A part of a page, fetched by the page's script; it has no chrome of its own.
    func fragment<View: TemplateView>(_ view: View, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: Self.headers, body: .init(byteBuffer: ByteBuffer(string: try templates.render(view))))
    }
}
