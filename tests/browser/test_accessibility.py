"""Every page of the responder app and the public status page, through axe-core in a real Chromium: at 390 px in
dark mode and at 1280 px in light mode, no WCAG 2.0/2.1 A or AA violation and no sideways scroll, with a screenshot
of each page at each size in the run's screenshots folder (`<root>/test_accessibility/`).

One server (the demo data plus a monitor of each kind, a channel, an integration, a maintenance window and a token)
and one browser serve the whole module, so the run takes about as long as the pages take to analyse.
axe-core must be 4.4 or newer (`nested-interactive` came with it): tests/browser/install.sh installs
axe-selenium-python 3, which bundles axe-core 4.10."""
import datetime
import os
import re
import shutil
import tempfile
import urllib.parse

import pytest
import requests
from axe_selenium_python import Axe

from conftest import WAIT, BelayServer, Page, Shooter, _test_folder, belay_binary, new_chrome

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# (label, width, height, colour scheme)
VIEWS = [("390-dark", 390, 844, "dark"), ("1280-light", 1280, 900, "light")]


def utc(minutes):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def site(screenshot_root):
    """(server, page helper): the demo, with one browser for every page of the module."""
    logs = tempfile.mkdtemp(prefix="belay-a11y-")
    server = BelayServer(belay_binary(), logs, ["--demo", "--data", os.path.join(logs, "store"),
                                                "--public-url", "https://status.example.com",
                                                "--egress-allow", "127.0.0.1/32"])
    driver = new_chrome()

    class Node:  # the folder named after the module, as `shot` would name a test's
        name = "test_accessibility"
    page = Page(driver, server, Shooter(_test_folder(screenshot_root, Node)))
    try:
        yield server, page
    finally:
        driver.quit()
        server.stop()
        shutil.rmtree(logs, ignore_errors=True)


def view(page, width, height, scheme):
    page.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    page.d.execute_cdp_cmd("Emulation.setEmulatedMedia",
                           {"features": [{"name": "prefers-color-scheme", "value": scheme}]})


def audit(page, path, label):
    """Opens `path` at each size; returns the problems found (empty when the page passes)."""
    problems = []
    for name, width, height, scheme in VIEWS:
        view(page, width, height, scheme)
        page.go(path)
        if name == VIEWS[0][0]:  # what does not depend on the size, once
            if re.search(r'href=(""|\'\')', page.d.page_source):
                problems.append(f'{path}: a link with href="" (it reloads the page it is on)')
            title = page.d.title.strip()
            if not title or title.startswith("·") or title.startswith("-"):
                problems.append(f"{path}: the page's title {title!r} does not name the page")
            icons = page.d.execute_script("return Array.from(document.querySelectorAll('link[rel~=icon]')).map(l => l.href)")
            if not icons or any(icon.startswith("data:") for icon in icons):
                problems.append(f"{path}: no favicon linked ({icons})")
        axe = Axe(page.d)
        axe.inject()
        version = page.d.execute_script("return axe.version")
        major, minor = (int(part) for part in version.split(".")[:2])
        assert (major, minor) >= (4, 4), f"axe-core {version} is too old (no nested-interactive); run tests/browser/install.sh"
        results = axe.run(options=f'{{"runOnly": {{"type": "tag", "values": {TAGS!r}}}}}'.replace("'", '"'))
        for violation in results["violations"]:
            nodes = "; ".join(f"{' '.join(n['target'])}: {n.get('failureSummary', '').splitlines()[-1:]}"
                              for n in violation["nodes"][:5])
            problems.append(f"{path} at {name}: {violation['id']} ({violation['impact']}) {violation['help']} -> {nodes}")
        if width >= 1280:  # the sections sit on one row, none hidden past the edge
            nav = page.d.execute_script(
                "const nav = document.querySelector('nav[aria-label=Main]'); if (!nav) return null; const row = nav.querySelector('.wrap') || nav;"
                "return {tops: new Set(Array.from(row.querySelectorAll('a')).map(a => a.getBoundingClientRect().top)).size,"
                "        overflow: row.scrollWidth - row.clientWidth};")
            if nav and (nav["tops"] != 1 or nav["overflow"] > 0):
                problems.append(f"{path} at {name}: the navigation wraps or overflows ({nav})")
        # The whole page in one picture (up to 4000 px tall), then the viewport as it was.
        full = min(4000, page.d.execute_script("return document.documentElement.scrollHeight"))
        view(page, width, max(height, full), scheme)
        page.shot(f"{label}-{name}")
        view(page, width, height, scheme)
        scroll = page.d.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if scroll[0] > scroll[1]:
            wide = page.d.execute_script(
                "const w = document.documentElement.clientWidth; return Array.from(document.querySelectorAll('body *'))"
                ".filter(e => e.getBoundingClientRect().right > w + 1)"
                ".filter(e => { for (let p = e.parentElement; p; p = p.parentElement) { if (getComputedStyle(p).overflowX !== 'visible') return false; } return true; })"
                ".slice(0, 5)"
                ".map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && e.className.baseVal === undefined ? '.' + e.className : ''))")
            problems.append(f"{path} at {name}: scrolls sideways ({scroll[0]} > {scroll[1]} px): {wide}")
    return problems


CONTRAST = """
function rgb(text) { const m = text.match(/[\\d.]+/g).map(Number); return m.slice(0, 3); }
function lum(c) { const v = c.map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; }
const field = document.querySelector(arguments[0]);
field.focus();
const ring = getComputedStyle(field).outlineColor, style = getComputedStyle(field).outlineStyle;
let node = field, back = 'rgba(0, 0, 0, 0)';
while (node && (back === 'rgba(0, 0, 0, 0)' || back === 'transparent')) { back = getComputedStyle(node).backgroundColor; node = node.parentElement; }
const [a, b] = [lum(rgb(ring)), lum(rgb(back))];
return {ring, style, back, ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05),
        scheme: getComputedStyle(document.documentElement).colorScheme};
"""


def focus_ring_problems(page):
    """WCAG 1.4.11: a focused field's ring has at least 3:1 against what is behind it, in both schemes; dark mode
    declares `color-scheme` so the browser's own controls and scrollbars are dark too."""
    problems = []
    for name, width, height, scheme in VIEWS:
        view(page, width, height, scheme)
        page.go("/app/account")
        for selector in ("#current", "#password"):
            found = page.d.execute_script(CONTRAST, selector)
            if found["style"] == "none" or found["ratio"] < 3:
                problems.append(f"focus ring of {selector} at {name}: {found}")
        if "dark" not in found["scheme"]:
            problems.append(f"no dark color-scheme declared: {found['scheme']!r}")
    return problems


def test_every_page_is_accessible_at_both_sizes(site):
    server, p = site
    problems = []
    # The setup link names the --public-url host; the same path on the server under test.
    server._setup_url = p.on_server(server.setup_url)
    problems += audit(p, server.setup_url, "setup")
    p.complete_setup()

    # A token for the API, then what the demo lacks: monitors of two kinds, a channel, an integration, maintenance.
    p.go("/app/tokens")
    form = p.el("#token-form")
    p.fill("name", "a11y", form)
    p.choose("role", "admin", within=form)
    p.submit("Create token", form)
    token = p.text("#new-token")
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token}"

    def post(path, body):
        response = api.post(server.url + path, json=body, timeout=WAIT)
        assert response.status_code < 300, f"POST {path} {body} -> {response.status_code} {response.text}"
        body = response.json()
        return body.get("monitor") or body.get("integration") or body.get("channel") or body

    http = post("/api/v1/monitors", {"name": "Status JSON", "kind": "http", "intervalSeconds": 60,
                                     "settings": {"url": server.url + "/api/v2/status.json"}})
    beat = post("/api/v1/monitors", {"name": "Nightly backup", "kind": "heartbeat", "intervalSeconds": 3600,
                                     "settings": {"graceSeconds": 600}})
    post("/api/v1/channels", {"name": "team hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook",
                              "allowedNetworks": ["127.0.0.1/32"]})
    post("/api/v1/integrations", {"name": "Alertmanager", "kind": "alertmanager"})
    post("/api/v1/maintenance", {"title": "Database upgrade", "description": "Minor version", "scheduledStart": utc(60),
                                 "scheduledEnd": utc(120)})

    incidents = api.get(server.url + "/api/v1/incidents", timeout=WAIT).json()
    incidents = incidents.get("incidents", incidents) if isinstance(incidents, dict) else incidents
    incident = incidents[0]["id"]
    public_incident = next(i["id"] for i in incidents if i.get("isPublic", True))
    components = api.get(server.url + "/api/v1/components", timeout=WAIT).json()
    components = components.get("components", components) if isinstance(components, dict) else components
    component = components[0]["slug"]

    icon = requests.get(server.url + "/assets/favicon.svg", timeout=WAIT)
    assert icon.status_code == 200 and icon.headers["Content-Type"].startswith("image/svg+xml"), icon.status_code

    pages = [
        ("/app", "home"), (f"/app/incidents/{incident}", "war-room"), ("/app/incidents/new", "declare"),
        ("/app/changes", "changes"), ("/app/components", "components"), (f"/app/components/{component}", "component-edit"),
        ("/app/map", "map"), ("/app/map?node=api-servers", "map-blast"), ("/app/monitors", "monitors"),
        (f"/app/monitors/{http['id']}", "monitor-http"), (f"/app/monitors/{beat['id']}", "monitor-heartbeat"),
        ("/app/maintenance", "maintenance"), ("/app/integrations", "integrations"), ("/app/notifications", "notifications"),
        ("/app/tokens", "tokens"), ("/app/users", "users"), ("/app/account", "account"),
        ("/", "public-home"), ("/history", "public-history"), (f"/incidents/{public_incident}", "public-incident"),
        ("/subscriptions/confirm?token=unknown", "subscribe-confirm"), ("/subscriptions/manage?token=unknown", "subscribe-manage"),
        ("/subscriptions/unsubscribe?token=unknown", "subscribe-unsubscribe"),
    ]
    for path, label in pages:
        problems += audit(p, path, label)
    problems += focus_ring_problems(p)
    view(p, *VIEWS[1][1:])
    p.go("/app")
    p.sign_out()
    problems += audit(p, "/app/sign-in", "sign-in")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)

