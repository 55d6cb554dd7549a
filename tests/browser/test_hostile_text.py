"""Script and HTML typed into every text field the web app offers must come back as text, everywhere it is
shown: the responder pages, the live war room (the event stream renders through JavaScript), the update
preview, and the public status pages. No dialog may open, no element may be injected."""
import datetime
import time

from selenium.common.exceptions import UnexpectedAlertPresentException

PAYLOADS = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(2)>",
    "'><svg onload=alert(3)>",
    "javascript:alert(4)",
    "</textarea><script>alert(5)</script>",
]
ALL = "".join(PAYLOADS)  # 131 characters: for fields that take 200 or more


def hostile(payload, tag):
    """A payload with a short tag, so each field's text can be found on its own."""
    return f"{payload} ~{tag}"


F = {
    "admin_name": hostile(PAYLOADS[1], "admin"),
    "a_name": hostile(PAYLOADS[0], "a-name"),
    "a_group": hostile(PAYLOADS[2], "a-group"),
    "a_description": hostile(ALL, "a-desc"),
    "b_name": hostile(PAYLOADS[1], "b-name"),
    "b_group": hostile(PAYLOADS[4], "b-group"),
    "b_description": hostile(PAYLOADS[3], "b-desc"),
    "title": hostile(ALL, "title"),
    "message": hostile(ALL, "first"),
    "commander": hostile(PAYLOADS[1], "cmd"),
    "communications": hostile(PAYLOADS[2], "comms"),
    "scribe": hostile(PAYLOADS[4], "scribe"),
    "update": hostile(ALL, "update"),
    "commander2": hostile(PAYLOADS[2], "cmd2"),
    "communications2": hostile(PAYLOADS[4], "comms2"),
    "scribe2": hostile(PAYLOADS[0], "scribe2"),
    "note": hostile(ALL, "note"),
    "live_update": hostile(ALL, "live"),
    "maint_title": hostile(ALL, "m-title"),
    "maint_description": hostile(ALL, "m-desc"),
    "invitee_name": hostile(PAYLOADS[0], "invitee"),
    "token_name": hostile(PAYLOADS[1], "token"),
}
# No whitespace, one @, a dot after it: a valid address by Belay's rules, and markup all the same.
HOSTILE_EMAIL = "\"><img/src=x/onerror=alert(6)>@example.com"
HOSTILE_SIGN_IN = "'><svg/onload=alert(7)>@example.com"

INJECTION_PROBE = r"""
const found = [];
const payload = /alert\(\d\)/;
for (const img of document.querySelectorAll('img')) {
  if (img.getAttribute('src') === 'x') found.push('injected <img src=x>: ' + img.outerHTML.slice(0, 160));
}
for (const svg of document.querySelectorAll('svg[onload]')) found.push('injected <svg onload>: ' + svg.outerHTML.slice(0, 160));
for (const el of document.querySelectorAll('*')) {
  for (const attr of el.attributes) {
    if (/^on/i.test(attr.name) && payload.test(attr.value)) {
      found.push('injected handler ' + attr.name + ' on <' + el.tagName.toLowerCase() + '>: ' + attr.value);
    }
  }
}
for (const script of document.querySelectorAll('script')) {
  if (script.textContent.includes('alert(')) found.push('injected <script>: ' + script.textContent.slice(0, 160));
}
for (const el of document.querySelectorAll('[href], [src], [action], [formaction], [data]')) {
  for (const name of ['href', 'src', 'action', 'formaction', 'data']) {
    const value = (el.getAttribute(name) || '').replace(/[\s\u0000-\u001f]/g, '');
    if (/^javascript:/i.test(value)) found.push('javascript: URL in ' + name + ' of <' + el.tagName.toLowerCase() + '>: ' + value);
  }
}
for (const frame of document.querySelectorAll('iframe, object, embed')) found.push('unexpected <' + frame.tagName.toLowerCase() + '>');
return found;
"""


def utc_local(delta_minutes):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=delta_minutes)
    return moment.strftime("%Y-%m-%dT%H:%M")


class Checker:
    """Looks at pages and collects every problem, so one run reports them all."""

    def __init__(self):
        self.problems = []
        self.pages = 0
        self.current = "start"

    def step(self, name):
        self.current = name

    def dialogs(self, p, where):
        for _ in range(10):  # more than one payload may have fired
            dialog = p.alert_text()
            if dialog is None:
                return
            self.problems.append(f"{where}: a dialog opened with {dialog!r}")
            p.d.switch_to.alert.accept()
            time.sleep(0.1)

    def page(self, p, where, expect=(), label=None):
        self.pages += 1
        self.current = where
        time.sleep(0.3)  # onerror and onload handlers run after the page has loaded
        self.dialogs(p, where)
        p.wait_ready()
        time.sleep(0.2)
        self.dialogs(p, where)
        p.shot(label or where)
        for finding in p.d.execute_script(INJECTION_PROBE):
            self.problems.append(f"{where}: {finding}")
        visible = p.visible_text()
        for key in expect:
            if F.get(key, key) not in visible:
                self.problems.append(f"{where}: the text of {key} ({F.get(key, key)!r}) is not shown as text")
        return visible

    def assert_clean(self):
        assert not self.problems, f"{len(self.problems)} problems on {self.pages} page views:\n" + "\n".join(self.problems)


def test_hostile_text_is_shown_as_text_everywhere(belay, browsers, ui):
    check = Checker()
    try:
        type_and_look_everywhere(check, browsers, ui)
    except UnexpectedAlertPresentException as error:  # a dialog stopped the walk: report it with the rest
        check.problems.append(f"at or right after {check.current!r}: a dialog opened with {error.alert_text!r}; "
                              "the walk stopped there")
    check.assert_clean()


def type_and_look_everywhere(check, browsers, ui):
    a = ui(browsers())

    # Everything an admin can type, through the UI.
    a.complete_setup(name=F["admin_name"])
    check.page(a, "app after setup")
    check.step("adding components")
    a.add_component("alpha", F["a_name"], group=F["a_group"], description=F["a_description"])
    check.page(a, "components after first")
    a.add_component("beta", F["b_name"], group=F["b_group"], description=F["b_description"], depends_on=["alpha"])
    check.page(a, "components after second", expect=["a_name", "b_name"])

    check.step("declaring the incident")
    incident_id = a.declare(F["title"], severity="sev1", components=["alpha"], impact="major_outage",
                            message=F["message"], commander=F["commander"], communications=F["communications"],
                            scribe=F["scribe"])
    war_room = a.path
    check.page(a, "war room after declaring", expect=["title", "message"])

    # The preview renders what is typed: as text.
    check.step("typing an update")
    form = a.el("#update-form")
    a.choose("status", "identified", within=form)
    box = a.el("#update-message")
    box.clear()
    box.send_keys(F["update"])
    a.wait_for(lambda: F["update"] in a.text("#update-preview"), "the preview shows the hostile update as text")
    check.page(a, "update preview", expect=["update"])
    check.step("posting the update")
    a.submit("Post update", form, navigates=False)
    a.wait_for(lambda: F["update"] in a.el("#timeline").text, "the hostile update reaches the timeline")
    check.page(a, "war room after update", expect=["update"])

    check.step("saving roles")
    a.go(war_room)
    form = a.el("#roles-form")
    a.fill("commander", F["commander2"], form)
    a.fill("communications", F["communications2"], form)
    a.fill("scribe", F["scribe2"], form)
    a.submit("Save roles", form)
    check.page(a, "war room after roles", expect=["commander2", "communications2", "scribe2"])

    # A second browser: a hostile address on the sign-in form comes back safely, then the war room, live.
    check.step("signing in with a hostile address")
    b = ui(browsers())
    b.go("/app/sign-in")
    sign_in = b.form_of("Sign in")
    b.d.execute_script("arguments[0].noValidate = true;", sign_in)
    b.fill("email", HOSTILE_SIGN_IN, sign_in)
    b.fill("password", "wrong password here", sign_in)
    b.submit("Sign in", sign_in)
    check.page(b, "sign-in failure with hostile email")
    b.sign_in("admin@example.com", "correct horse battery")
    b.go(war_room)
    check.page(b, "second browser war room", expect=["title", "update"])
    b.d.execute_script("window.__belayMarker = 'no reload';")
    time.sleep(1.0)  # let the event stream connect

    check.step("adding a note and a live update")
    a.go(war_room)
    form = a.el("#note-form")
    a.fill("text", F["note"], form)
    a.submit("Add note", form, navigates=False)
    a.wait_for(lambda: F["note"] in a.el("#timeline").text, "the hostile note reaches the timeline")
    a.go(war_room)
    a.post_update(F["live_update"], status="monitoring")
    b.wait_for(lambda: F["note"] in b.el("#timeline").text and F["live_update"] in b.el("#timeline").text,
               "the note and the update arrive live in the second browser", timeout=5)
    assert b.d.execute_script("return window.__belayMarker") == "no reload", "the second browser reloaded"
    check.page(b, "second browser after live events", expect=["note", "live_update"])

    # Maintenance, an invitation, a token.
    check.step("scheduling maintenance")
    a.go("/app/maintenance")
    form = a.el("#maintenance-form")
    a.fill("title", F["maint_title"], form)
    a.fill("description", F["maint_description"], form)
    a.check(a.option_input("components", "beta", form))
    a.set_value("start", utc_local(60), form)
    a.set_value("end", utc_local(120), form)
    a.submit("Schedule", form)
    check.page(a, "maintenance after scheduling", expect=["maint_title"])

    check.step("inviting a user")
    invite_link = a.invite(F["invitee_name"], HOSTILE_EMAIL, role="responder", allow_invalid_email=True)
    invitee_email = HOSTILE_EMAIL
    if not invite_link:  # refusing such an address is fair; the page that says so must be safe too
        check.page(a, "invite refused")
        invitee_email = "invitee@example.com"
        invite_link = a.invite(F["invitee_name"], invitee_email, role="responder")
    assert invite_link, "inviting shows a link in #invite-link"
    check.page(a, "users after invite", expect=["invitee_name"])

    check.step("creating a token")
    a.go("/app/tokens")
    form = a.el("#token-form")
    a.fill("name", F["token_name"], form)
    a.choose("role", "viewer", within=form)
    a.submit("Create token", form)
    check.page(a, "tokens after create", expect=["token_name"])

    # Every page, as the admin.
    pages = [
        ("/app", ["title", "a_name", "maint_title"]),
        ("/app/components", ["a_name", "b_name", "a_group", "b_group", "a_description", "b_description"]),
        # The edit form puts the texts in input values and option labels; the heading and list show them as text.
        ("/app/components/beta", ["b_name", "a_name"]),
        ("/app/incidents/new", ["a_name", "b_name"]),
        (war_room, ["title", "message", "update", "live_update", "note", "commander2", "communications2", "scribe2"]),
        ("/app/maintenance", ["maint_title", "maint_description", "b_name"]),
        ("/app/users", ["admin_name", "invitee_name", invitee_email]),
        ("/app/tokens", ["token_name"]),
    ]
    for path, expect in pages:
        check.step(f"opening {path}")
        a.go(path)
        check.page(a, f"admin {path}", expect=expect)

    # The invitation page, before it is used.
    check.step("opening the invitation")
    c = ui(browsers())
    c.go(c.on_server(invite_link))
    check.page(c, "invitation page", expect=["invitee_name"])

    # The public pages.
    public = {
        "/": ["a_name", "b_name", "a_group", "b_group", "a_description", "b_description", "title", "message",
              "update", "live_update", "maint_title"],
        "/history": ["title", "live_update"],
        f"/incidents/{incident_id}": ["title", "message", "update", "live_update"],
    }
    for path, expect in public.items():
        check.step(f"opening {path}")
        try:
            a.reload_until(path, lambda: all(F[k] in a.visible_text() for k in expect),
                           f"{path} shows every hostile text")
        except Exception:  # a dialog or missing text: reported below, one by one
            pass
        check.page(a, f"public {path}", expect=expect)

