"""A new user's first hour, as issue 12 found it: the README tour through the CLI with what it shows in the browser,
then each thing that tripped a new user up, checked where the user meets it: a monitor with a refused target, a
reopen the public page must show, an internal incident made public, a heartbeat that must leave pending, and
create-token run from another folder."""
import json
import os
import urllib.parse
import subprocess
import tempfile

import requests

from conftest import belay_binary


class CLI:
    """The `belay` binary with BELAY_URL and BELAY_TOKEN set, as the README's tour exports them."""

    def __init__(self, url, token):
        self.env = {**os.environ, "BELAY_URL": url, "BELAY_TOKEN": token}

    def run(self, *args, ok=True, cwd=None):
        result = subprocess.run([belay_binary(), *args], env=self.env, capture_output=True, text=True, timeout=60, cwd=cwd)
        if ok:
            assert result.returncode == 0, f"belay {' '.join(args)} failed ({result.returncode}): {result.stderr}"
        return result

    def json(self, *args):
        out = self.run(*args, "--json").stdout
        return json.loads(out)  # one document, or this raises


def admin_token(belay):
    """`belay admin create-token` against the server's data directory, as the tour does; the token is the last line."""
    result = subprocess.run([belay_binary(), "admin", "create-token", "--role", "admin", "--data", belay.data],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_readme_tour_and_the_new_user_path(belay, browsers, ui):
    p = ui(browsers())
    p.complete_setup()
    cli = CLI(belay.url, admin_token(belay))

    # The tour: components with dependencies, an incident declared with --json piped to a JSON reader.
    cli.run("component", "add", "--slug", "database", "--name", "Database", "--group", "Core")
    cli.run("component", "add", "--slug", "api", "--name", "API", "--group", "Core", "--depends-on", "database")
    declared = cli.json("incident", "declare", "--title", "Elevated errors", "--severity", "sev2", "--component", "api",
                        "--impact", "partial_outage", "--message", "Investigating: elevated errors.")
    incident = declared["id"]
    cli.run("incident", "update", incident, "--status", "identified", "--message", "Identified: an expired client certificate.")
    roles = cli.json("incident", "assign", incident, "--commander", "Dana", "--scribe", "Lee")
    assert roles["roles"]["commander"] == "Dana", roles
    cli.run("incident", "milestone", incident, "impact-started", "--at", "2026-11-21T16:21:00Z")
    cli.run("incident", "update", incident, "--status", "resolved", "--message", "Resolved: service is stable.")
    p.reload_until(f"/incidents/{incident}", lambda: "Resolved: service is stable." in p.body_text(),
                   "the public incident page should show the resolution")

    # Reopening says so in public, with the status it returns to, above the old "Resolved".
    cli.run("incident", "reopen", incident, "--reason", "Errors are back on the API")
    p.reload_until(f"/incidents/{incident}", lambda: "Errors are back on the API" in p.body_text(),
                   "the public incident page should show why it was reopened")
    p.shot("public-incident-reopened")
    text = p.body_text()
    assert text.index("Errors are back on the API") < text.index("Resolved: service is stable."), \
        "the reopening is the newest update, shown first"
    p.reload_until("/", lambda: "Errors are back on the API" in p.body_text(), "the home page lists the reopened incident")

    # A monitor whose target the egress policy refuses is refused when saved, in the app and in the CLI.
    p.go("/app/monitors")
    form = p.el("#monitor-form")
    p.fill("name", "local api", form)
    p.choose("kind", "http", within=form)
    p.fill("target", "http://127.0.0.1:9/health", form)
    p.submit("Add monitor", form, label="monitor-refused")
    alert = p.text("[role=alert]")
    assert "refused by the egress policy" in alert and "--egress-allow" in alert, alert
    refused = cli.run("monitor", "add", "--name", "local api", "--kind", "http", "--check-url", "http://127.0.0.1:9/",
                      ok=False)
    assert refused.returncode != 0 and "egress policy" in refused.stderr, refused.stderr
    assert cli.json("monitor", "list")["monitors"] == [], "no refused monitor was saved"

    # A heartbeat leaves pending at its first ping, not at its next check an hour away.
    beat = cli.json("monitor", "add", "--name", "nightly backup", "--kind", "heartbeat", "--interval", "3600", "--grace", "60")
    assert beat["state"]["status"] == "pending"
    ping = requests.post(belay.url + urllib.parse.urlsplit(beat["heartbeatURL"]).path, timeout=10)
    assert ping.status_code == 200, ping.text
    p.reload_until(f"/app/monitors/{beat['id']}", lambda: p.text("#monitor-status") == "up",
                   "the heartbeat monitor should be up after its ping")
    assert "The public sees" in p.body_text()
    p.shot("heartbeat-up")

    # An internal incident offers no public update; making it public posts its first public words.
    internal = cli.json("incident", "declare", "--title", "Disk filling on db-2", "--severity", "sev3", "--internal")
    assert internal["isPublic"] is False
    p.go(f"/app/incidents/{internal['id']}", "internal-war-room")
    assert "Post a public update" not in p.body_text()
    form = p.el("#publish-form")
    p.fill("message", "Uploads may be slow while we add disk space.", form)
    p.submit("Make public and post", form, label="made-public")
    assert p.has_button("Make internal")
    p.reload_until("/", lambda: "Uploads may be slow while we add disk space." in p.body_text(),
                   "the incident made public should reach the status page")

    # create-token from another folder refuses to invent an empty ./belay-data.
    elsewhere = tempfile.mkdtemp(prefix="belay-elsewhere-")
    stray = cli.run("admin", "create-token", "--role", "admin", ok=False, cwd=elsewhere)
    assert stray.returncode != 0, stray.stdout
    assert "belay-data" in stray.stderr and "--create" in stray.stderr, stray.stderr
    assert not os.path.exists(os.path.join(elsewhere, "belay-data")), "no empty data directory was made"
