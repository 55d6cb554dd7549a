"""A responder's day in the web app, in a real browser against a real server: first-run setup, sign-in,
components, declaring and working an incident in the war room, what the public sees, and a second responder
watching the same war room update live."""
import datetime
import re
import time
import urllib.parse

import requests
from selenium.webdriver.common.by import By

ADMIN_LINKS = [("Users", "/app/users"), ("API tokens", "/app/tokens")]
LINKS = [
    ("Incidents", "/app"),
    ("Declare incident", "/app/incidents/new"),
    ("Components", "/app/components"),
    ("Maintenance", "/app/maintenance"),
    ("Status page", "/"),
]


def utc_local(delta_minutes=0):
    """A `datetime-local` value (YYYY-MM-DDTHH:MM) in UTC, `delta_minutes` from now."""
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=delta_minutes)
    return moment.strftime("%Y-%m-%dT%H:%M")


def assert_header(p, admin):
    for text, path in LINKS:
        p.link(text, path)
    for text, path in ADMIN_LINKS:
        shown = [a for a in p.d.find_elements(By.XPATH, f"//a[normalize-space()='{text}']")
                 if urllib.parse.urlsplit(a.get_attribute("href") or "").path.rstrip("/") == path]
        assert bool(shown) == admin, f"link {text!r} should {'' if admin else 'not '}be shown to this user"
    assert p.has_button("Sign out"), "no 'Sign out' button"


def active_incidents_text(p):
    sections = p.els("section[aria-labelledby=active-h]")
    return sections[0].text if sections else ""


def test_public_status_page_renders(belay, browsers, ui):
    """The harness itself: server, browser and screenshots work against the public page that already exists."""
    p = ui(browsers())
    p.go("/", "public-status-page")
    assert p.d.title, "the status page has a <title>"
    assert p.els("section.banner h1"), "the status page shows the overall banner"
    assert p.text("section.banner h1"), "the banner says something"
    p.link("Incident history", "/history").click()
    p.wait_path("/history")
    p.shot("public-history")
    assert p.text("h1") == "Incident history"


def test_responder_flow(belay, browsers, ui):
    d = browsers()
    p = ui(d)

    # First run: the printed link is the real address, and it creates the first admin.
    assert urllib.parse.urlsplit(belay.setup_url).netloc == urllib.parse.urlsplit(belay.url).netloc, \
        f"setup link {belay.setup_url} does not point at the server on {belay.url}"
    email, password = p.complete_setup()
    assert p.text("h1") == "Incidents"
    assert_header(p, admin=True)

    # Sign out; the app is closed; a wrong password is a 401 with an alert; the right one signs in.
    p.sign_out()
    p.go("/app", "app-after-sign-out")
    assert not p.has_button("Sign out"), "still signed in after 'Sign out'"
    p.drain_network_log()
    p.sign_in(email, "not the password at all", expect_path=None)
    statuses = p.document_statuses()
    assert statuses and statuses[-1][1] == 401, f"a wrong password should answer 401, got {statuses}"
    assert p.els("[role=alert]"), "a failed sign-in shows an element with role=alert"
    assert not p.has_button("Sign out")
    p.sign_in(email, password)
    assert p.text("h1") == "Incidents"

    # Two components through the UI, reached from the header.
    p.link("Components", "/app/components").click()
    p.wait_path("/app/components")
    p.wait_ready()
    p.shot("components-empty")
    p.add_component("database", "Database", group="Core", description="Primary PostgreSQL cluster")
    p.add_component("api", "API", group="Core", description="Public REST API", depends_on=["database"])
    rows = [r.text for r in p.els("table tr")]
    api_rows = [r for r in rows if re.search(r"\bAPI\b", r)]
    assert api_rows, f"the components table lists API: {rows}"
    assert "Database" in api_rows[0], f"API's row shows it depends on Database: {api_rows[0]!r}"
    assert "operational" in api_rows[0].lower(), f"API's row shows its status: {api_rows[0]!r}"
    assert any("Database" in r and not re.search(r"\bAPI\b", r) for r in rows), f"the table lists Database: {rows}"

    # The severity choices explain themselves.
    p.link("Declare incident", "/app/incidents/new").click()
    p.wait_path("/app/incidents/new")
    p.wait_ready()
    labels = {}
    for sev in ("sev1", "sev2", "sev3", "sev4"):
        labels[sev] = p.label_of(p.option_input("severity", sev))
        assert len(labels[sev]) > len(sev) + 5, f"{sev}'s label should show its definition, shows {labels[sev]!r}"
    assert len(set(labels.values())) == 4, f"each severity has its own definition: {labels}"
    assert {o.get_attribute("value") for o in p.d.find_elements(By.CSS_SELECTOR, "select[name=impact] option")} >= \
        {"major_outage", "partial_outage", "degraded_performance"}

    title = "Elevated API errors"
    first = "We are investigating elevated error rates on the API."
    incident_id = p.declare(title, severity="sev2", components=["api"], impact="partial_outage", message=first,
                            commander="Dana")
    war_room = p.path
    assert p.text("h1") == title
    assert p.text("#incident-status") == "Investigating"
    assert re.search(r"sev\s*-?\s*2", p.text("#incident-severity"), re.I), p.text("#incident-severity")
    assert first in p.el("#timeline").text

    # The home page lists it, and the component it hurts.
    p.link("Incidents", "/app").click()
    p.wait_path(r"/app/?")
    p.wait_ready()
    p.shot("home-with-incident")
    assert p.text("h1") == "Incidents"
    open_section = p.section("Open incidents")
    links = [a for a in open_section.find_elements(By.TAG_NAME, "a") if a.text.strip() == title]
    assert links, f"'Open incidents' links to {title!r}: {open_section.text!r}"
    assert urllib.parse.urlsplit(links[0].get_attribute("href")).path == war_room
    assert "API" in p.section("Components not operational").text
    p.section("Upcoming maintenance")
    links[0].click()
    p.wait_path(re.escape(war_room))
    p.wait_ready()

    # An update: the preview shows what the public will read, as it is typed.
    message = "The cause is an expired client certificate; a new one is being issued."
    form = p.el("#update-form")
    p.choose("status", "", within=form)
    box = p.el("#update-message")
    box.clear()
    box.send_keys(message[:20])
    p.wait_for(lambda: message[:20] in p.text("#update-preview"), "the preview follows the typing")
    p.wait_for(lambda: "Investigating" in p.text("#update-preview"),
               f"with status kept, the preview shows 'Investigating': {p.text('#update-preview')!r}")
    box.send_keys(message[20:])
    p.choose("status", "identified", within=form)
    p.wait_for(lambda: message in p.text("#update-preview") and "Identified" in p.text("#update-preview"),
               "the preview shows 'Identified' and the whole message")
    preview = p.text("#update-preview")
    assert preview.index("Identified") < preview.index(message), f"status label comes first: {preview!r}"
    p.shot("update-preview")
    p.submit("Post update", form, navigates=False)
    p.wait_text("#incident-status", "Identified")
    p.wait_for(lambda: any(message in e.text for e in p.els("#timeline li.entry.kind-update")),
               "the update is a kind-update entry in the timeline")
    p.wait_ready()
    p.shot("update-posted")

    # The public sees the incident and the update.
    p.reload_until("/", lambda: message in active_incidents_text(p),
                   "the public page lists the incident under active incidents with the update")
    public = active_incidents_text(p)
    assert title in public and "Identified" in public
    p.shot("public-page-with-incident")

    # Resolve from the war room: gone from the public page's active incidents.
    p.go(war_room)
    p.submit("Resolve", navigates=False, accept_dialog=True)
    p.wait_text("#incident-status", "Resolved")
    p.wait_ready()
    p.shot("resolved")
    assert p.has_button("Reopen"), "a resolved incident offers 'Reopen'"
    p.reload_until("/", lambda: title not in active_incidents_text(p),
                   "a resolved incident leaves the public page's active incidents")
    p.shot("public-page-after-resolve")
    p.go(f"/incidents/{incident_id}", "public-incident-page")
    assert title in p.body_text() and "Resolved" in p.body_text()


def test_live_updates_reach_another_responder(belay, browsers, ui):
    a = ui(browsers())
    a.complete_setup()
    a.add_component("api", "API")
    incident_id = a.declare("Checkout failing", components=["api"], message="Investigating checkout failures.")
    war_room = a.path

    # A second responder, invited by the admin, in a browser of their own.
    link = a.invite("Lee Responder", "lee@example.com", role="responder")
    assert link, "inviting shows an invitation link in #invite-link"
    b = ui(browsers())
    b.accept_invite(link, "lee's long password")
    if b.path.startswith("/app/sign-in") or b.has_button("Sign in"):
        b.sign_in("lee@example.com", "lee's long password")
    assert_header(b, admin=False)
    b.go(war_room, "second-responder-war-room")
    assert b.text("#incident-status") == "Investigating"
    b.d.execute_script("window.__belayMarker = 'no reload';")
    time.sleep(1.0)  # let the page's event stream connect

    def still_same_page():
        assert b.d.execute_script("return window.__belayMarker") == "no reload", "the second browser reloaded the page"

    a.go(war_room)
    message = "Payment provider timeouts; failing over to the secondary provider."
    a.post_update(message, status="identified")
    b.wait_for(lambda: message in b.el("#timeline").text, "the other responder's update appears live", timeout=5)
    b.wait_text("#incident-status", "Identified", timeout=5)
    still_same_page()
    b.shot("update-arrived-live")

    note = "Lee: secondary provider is healthy."
    a.go(war_room)
    form = a.el("#note-form")
    a.fill("text", note, form)
    a.submit("Add note", form, navigates=False)
    b.wait_for(lambda: note in b.el("#timeline").text, "a note appears live", timeout=5)
    still_same_page()

    # And the other way round: the invited responder posts, the admin's open page follows.
    a.go(war_room)
    a.d.execute_script("window.__belayMarker = 'no reload';")
    time.sleep(1.0)
    reply = "Failover complete; error rate back to normal."
    b.post_update(reply, status="monitoring")
    a.wait_for(lambda: reply in a.el("#timeline").text, "the invited responder's update appears live", timeout=5)
    a.wait_text("#incident-status", "Monitoring", timeout=5)
    assert a.d.execute_script("return window.__belayMarker") == "no reload", "the admin's browser reloaded the page"
    a.shot("reply-arrived-live")

    b.go(war_room)
    b.d.execute_script("window.__belayMarker = 'no reload';")
    time.sleep(1.0)
    a.submit("Resolve", navigates=False, accept_dialog=True)
    b.wait_text("#incident-status", "Resolved", timeout=5)
    still_same_page()
    b.shot("resolved-live")
    assert incident_id


def test_war_room_milestones_roles_notes_and_filters(belay, browsers, ui):
    p = ui(browsers())
    p.complete_setup()
    p.add_component("api", "API")
    p.declare("Slow dashboards", severity="sev3", components=["api"], impact="degraded_performance",
              message="Dashboards load slowly.")
    war_room = p.path

    # Milestones, in UTC, survive a reload.
    started = utc_local(-45)
    form = p.el("#milestones-form")
    for name in ("impactStartedAt", "detectedAt", "acknowledgedAt", "mitigatedAt", "resolvedAt"):
        assert p.field(name, form).get_attribute("type") == "datetime-local", f"{name} is a datetime-local input"
    p.set_value("impactStartedAt", started, form)
    p.submit("Save milestones", form, label="milestones-saved")
    p.go(war_room)
    assert p.field("impactStartedAt", p.el("#milestones-form")).get_attribute("value")[:16] == started

    # Roles.
    form = p.el("#roles-form")
    p.fill("commander", "Kim", form)
    p.fill("communications", "Lee", form)
    p.fill("scribe", "Sam", form)
    p.submit("Save roles", form, label="roles-saved")
    p.go(war_room)
    form = p.el("#roles-form")
    assert [p.field(n, form).get_attribute("value") for n in ("commander", "communications", "scribe")] == ["Kim", "Lee", "Sam"]

    # A note, then the timeline filter hides and shows notes.
    note = "Query planner switched to a sequential scan."
    form = p.el("#note-form")
    p.fill("text", note, form)
    p.submit("Add note", form, navigates=False)
    p.wait_for(lambda: any(note in e.text for e in p.els("#timeline li.entry.kind-note")), "the note is a kind-note entry")
    p.go(war_room, "timeline-with-note")
    filters = p.els("input[name=kind-filter]")
    assert filters, "the timeline has kind-filter checkboxes"
    note_filter = [f for f in filters if f.get_attribute("value") == "note"] or \
                  [f for f in filters if "note" in p.label_of(f).lower()]
    assert note_filter, f"a filter for notes: {[f.get_attribute('value') for f in filters]}"
    note_filter = note_filter[0]
    notes = lambda: p.els("#timeline li.entry.kind-note")
    others = lambda: [e for e in p.els("#timeline li.entry") if "kind-note" not in e.get_attribute("class").split()]
    assert others(), "the timeline has entries other than notes"
    p.check(note_filter, on=not note_filter.is_selected())  # toggle: hide notes
    p.wait_for(lambda: not any(e.is_displayed() for e in notes()), "unticking the notes filter hides notes", timeout=2)
    assert all(e.is_displayed() for e in others()), "hiding notes leaves other entries shown"
    p.shot("notes-hidden")
    p.check(note_filter, on=not note_filter.is_selected())
    p.wait_for(lambda: all(e.is_displayed() for e in notes()), "ticking it again shows notes", timeout=2)

    # The one-click status buttons walk the lifecycle, and a resolved incident can be reopened.
    for button, status in (("Mark identified", "Identified"), ("Mark monitoring", "Monitoring"), ("Resolve", "Resolved")):
        p.go(war_room)
        p.submit(button, navigates=False, accept_dialog=True)
        p.wait_text("#incident-status", status)
        p.wait_ready()
    p.shot("resolved")
    reopen_form = p.form_of("Reopen")
    for box in reopen_form.find_elements(By.CSS_SELECTOR, "input[type=text], input:not([type]), textarea"):
        if box.is_displayed():
            box.send_keys("Dashboards are slow again.")
    p.submit("Reopen", reopen_form, navigates=False, accept_dialog=True)
    p.wait_for(lambda: p.text("#incident-status") not in ("Resolved", ""), "'Reopen' reopens the incident")
    p.wait_ready()
    p.shot("reopened")
    assert p.has_button("Resolve")
    assert p.els("#timeline li.entry.kind-status_change"), "status changes are kind-status_change timeline entries"


def test_maintenance_windows(belay, browsers, ui):
    p = ui(browsers())
    p.complete_setup()
    p.add_component("database", "Database", group="Core")

    def schedule(title, description):
        p.go("/app/maintenance")
        form = p.el("#maintenance-form")
        p.fill("title", title, form)
        p.fill("description", description, form)
        p.check(p.option_input("components", "database", form))
        p.set_value("start", utc_local(60), form)
        p.set_value("end", utc_local(120), form)
        p.submit("Schedule", form, label=f"scheduled-{title}")
        p.wait_path("/app/maintenance")
        assert p.has_button("Cancel", p.row(title, "Start")), f"the scheduled window {title!r} offers 'Start' and 'Cancel'"

    schedule("Database subnet change", "Moving the primary to a new subnet.")
    p.go("/app", "home-upcoming-maintenance")
    assert "Database subnet change" in p.section("Upcoming maintenance").text
    p.reload_until("/", lambda: "Database subnet change" in p.body_text(), "the public page shows scheduled maintenance")
    p.shot("public-scheduled")

    p.go("/app/maintenance")
    p.submit("Start", p.row("Database subnet change", "Start"), accept_dialog=True, label="started")
    p.reload_until("/", lambda: bool(p.els("#maint-active-h")) and "Database subnet change" in
                   p.el("section[aria-labelledby=maint-active-h]").text,
                   "a started window is under 'Maintenance in progress'")
    p.shot("public-in-progress")

    p.go("/app/maintenance")
    p.submit("Complete", p.row("Database subnet change", "Complete"), accept_dialog=True, label="completed")
    p.reload_until("/", lambda: "Database subnet change" not in p.body_text(), "a completed window leaves the status page")
    p.reload_until("/history", lambda: "Database subnet change" in p.body_text(), "a completed window is in the history")
    p.shot("history-completed")

    schedule("Cache flush", "Flushing the cache.")
    p.reload_until("/", lambda: "Cache flush" in p.body_text(), "the second window is shown")
    p.go("/app/maintenance")
    p.submit("Cancel", p.row("Cache flush", "Cancel"), accept_dialog=True, label="cancelled")
    p.reload_until("/", lambda: "Cache flush" not in p.body_text(), "a cancelled window leaves the status page")


def test_users_invite_role_and_disable(belay, browsers, ui):
    admin = ui(browsers())
    admin.complete_setup()
    link = admin.invite("Lee Responder", "lee@example.com", role="responder")
    assert link and "/app/invite/" in link
    admin.shot("invite-link")
    link_origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(link))  # checked at the end

    lee = ui(browsers())
    lee.accept_invite(link, "lee's long password")
    if lee.path.startswith("/app/sign-in") or lee.has_button("Sign in"):
        lee.sign_in("lee@example.com", "lee's long password")
    assert lee.has_button("Sign out"), "the invited user is signed in"
    assert_header(lee, admin=False)

    # The link is single-use.
    other = ui(browsers())
    other.go(other.on_server(link), "used-invite-link")
    assert not other.has_button("Set password"), "an invitation link works once"

    # Change role.
    admin.go("/app/users")
    row = admin.row("lee@example.com", "Change role")
    admin.choose("role", "viewer", within=row)
    admin.submit("Change role", row, label="role-changed")
    row = admin.row("lee@example.com", "Change role")
    assert admin.field("role", row).get_attribute("value") == "viewer"

    # Disable: the open session ends and signing in fails; Enable lets them back in.
    admin.submit("Disable", admin.row("lee@example.com", "Disable"), accept_dialog=True, label="disabled")
    admin.row("lee@example.com", "Enable")
    lee.go("/app", "disabled-user-session")
    assert not lee.has_button("Sign out"), "a disabled user's session no longer works"
    lee.d.delete_all_cookies()
    lee.sign_in("lee@example.com", "lee's long password", expect_path=None)
    assert lee.els("[role=alert]") and not lee.has_button("Sign out"), "a disabled user cannot sign in"
    admin.submit("Enable", admin.row("lee@example.com", "Enable"), accept_dialog=True, label="enabled")
    lee.sign_in("lee@example.com", "lee's long password")

    assert link_origin == belay.url, f"the invitation link {link} should point at the server, {belay.url}"


def test_api_tokens(belay, browsers, ui):
    p = ui(browsers())
    p.complete_setup()
    p.go("/app/tokens")
    form = p.el("#token-form")
    p.fill("name", "ci-bot", form)
    p.choose("role", "responder", within=form)
    p.submit("Create token", form)
    secret = p.text("#new-token")
    p.d.execute_script("document.querySelector('#new-token').style.filter = 'blur(6px)';")  # keep it out of the PNG
    p.shot("token-created")
    assert secret, "#new-token shows the secret"
    match = re.search(r"\S{20,}", secret)
    assert match, f"#new-token holds a token: {secret!r}"
    secret = match.group(0)
    headers = {"Authorization": f"Bearer {secret}"}
    assert requests.get(belay.url + "/api/v1/incidents", headers=headers, timeout=10).status_code == 200

    p.go("/app/tokens", "token-list")
    assert secret not in p.d.page_source, "the secret is shown once only"
    p.submit("Revoke", p.row("ci-bot", "Revoke"), accept_dialog=True, label="revoked")
    assert requests.get(belay.url + "/api/v1/incidents", headers=headers, timeout=10).status_code == 401


def test_sign_in_failures_are_limited(belay, browsers, ui):
    setup = ui(browsers())
    email, _ = setup.complete_setup()
    p = ui(browsers())
    p.go("/app/sign-in")
    p.drain_network_log()
    statuses = []
    for attempt in range(11):
        p.sign_in(email, f"wrong password {attempt}", expect_path=None)
        page = [s for u, s in p.document_statuses() if "/app/sign-in" in u or "/app" in u]
        statuses.append(page[-1] if page else None)
        if statuses[-1] == 429:
            break
    p.shot("limited")
    assert statuses[0] == 401, statuses
    assert statuses[-1] == 429, f"ten failures in a row are rate limited (429); statuses: {statuses}"
    assert len(statuses) >= 10, f"the limit should allow ten tries, not {len(statuses) - 1}: {statuses}"
    assert set(statuses[:-1]) == {401}, statuses


def test_forms_without_csrf_are_refused(belay, browsers, ui):
    p = ui(browsers())
    p.complete_setup()
    p.go("/app/components")
    session = requests.Session()
    for cookie in p.d.get_cookies():
        session.cookies.set(cookie["name"], cookie["value"])
    form = p.el("#component-form")
    csrf = p.field("_csrf", form).get_attribute("value")
    action = urllib.parse.urljoin(p.d.current_url, form.get_attribute("action") or p.d.current_url)
    assert csrf, "the form carries a filled-in _csrf field"

    refused = session.post(action, data={"slug": "no-token", "name": "No token"}, allow_redirects=False, timeout=10)
    assert 400 <= refused.status_code < 500, f"a POST without _csrf is refused, got {refused.status_code}"
    wrong = session.post(action, data={"_csrf": csrf[::-1] + "x", "slug": "bad-token", "name": "Bad token"},
                         allow_redirects=False, timeout=10)
    assert 400 <= wrong.status_code < 500, f"a POST with a wrong _csrf is refused, got {wrong.status_code}"
    accepted = session.post(action, data={"_csrf": csrf, "slug": "with-token", "name": "With token"},
                            allow_redirects=False, timeout=10)
    assert accepted.status_code == 303, f"the same POST with _csrf is accepted with a 303, got {accepted.status_code}"
    p.go("/app/components", "components-after-csrf")
    text = p.body_text()
    assert "With token" in text and "No token" not in text and "Bad token" not in text
