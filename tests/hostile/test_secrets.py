"""No secret ever reaches the server's output or an error response.

One `belay serve` run creates every kind of secret Belay has: API tokens (`belay admin create-token`, before and
while serving; `POST /api/v1/tokens`; the web app's API tokens page), integration keys (API and web app, one of
them rotated, one disabled), heartbeat monitor tokens, the first-run setup code printed on startup, invitation
links, web session cookies, and user passwords. Then it provokes errors around them: wrong and right keys on
the ingestion routes with bad bodies, a rotated and a disabled key, secrets where ids belong (404s), bad and
revoked bearer tokens, bad web forms, an expired and a signed-out session, heartbeat pings right and wrong.

Afterwards the server is stopped and its complete stdout and stderr, and every error response (status >= 400:
status line, headers and body; and the Location of every redirect), are searched for each secret, and for any
16-character piece of one (a truncated secret is still a leak; the 6-character hints Belay shows on purpose are
shorter). The only hit allowed is the setup link in the startup banner on stdout, exactly once. A hit in a
response to a request that itself carried the secret is still a hit (clients such as Alertmanager log error
bodies); the report marks those "reflected".

    BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/hostile/test_secrets.py
"""
import hashlib
import html
import json
import os
import re
import secrets as pysecrets
import sqlite3
import subprocess
import time
import urllib.parse

import pytest
import requests

from conftest import finish, new_server

FRAGMENT = 16


class Run:
    def __init__(self, belay):
        self.belay = belay
        self.secrets = {}  # label -> value
        self.responses = []  # (label, request text, status, response text)
        self.notes = []

    # ---- bookkeeping
    def secret(self, label, value):
        assert value and isinstance(value, str), f"{label}: no secret ({value!r})"
        self.secrets[label] = value
        return value

    def record(self, label, response):
        request = response.request
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        request_text = f"{request.method} {request.url}\n" + "\n".join(f"{k}: {v}" for k, v in request.headers.items()) \
                       + "\n\n" + body.decode("latin-1")
        if response.status_code >= 400:
            text = f"HTTP {response.status_code} {response.reason}\n"
            text += "\n".join(f"{k}: {v}" for k, v in response.headers.items()) + "\n\n"
            text += response.content.decode("utf-8", errors="replace")
            self.responses.append((label, request_text, response.status_code, text))
        elif response.is_redirect:  # where it sends the browser (a redirect may set the new session's cookie)
            text = f"HTTP {response.status_code} {response.reason}\nLocation: {response.headers.get('location', '')}"
            self.responses.append((label, request_text, response.status_code, text))
        return response

    # ---- HTTP
    def call(self, label, method, path, session=None, token=None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        client = session or requests
        response = client.request(method, self.belay.url + path, headers=headers, timeout=30,
                                  allow_redirects=False, **kwargs)
        return self.record(label, response)

    def api(self, method, path, body=None, token=None, expect=(200, 201, 202, 204)):
        response = self.call(f"{method} {path}", method, path, token=token or self.belay.token, json=body)
        assert response.status_code in expect, f"{method} {path} -> {response.status_code} {response.text[:300]}"
        return response.json() if response.content else None


def csrf_of(page):
    match = re.search(r'name="_csrf" value="([^"]*)"', page)
    assert match and match.group(1), f"no CSRF token on the page: {page[:500]}"
    return html.unescape(match.group(1))


def form_cookie(run, session, path):
    response = run.call(f"GET {path}", "GET", path, session=session)
    assert response.status_code == 200, f"GET {path} -> {response.status_code}: {response.text[:300]}"
    return session.cookies.get("belay_form") or csrf_of(response.text)


def session_cookie(response, what):
    match = re.search(r"belay_session=([^;]+)", response.headers.get("set-cookie", ""))
    assert response.status_code == 303 and match, f"{what}: expected 303 with a session cookie, got " \
                                                  f"{response.status_code} {response.headers} {response.text[:300]}"
    return match.group(1)


def web_session(run, cookie):
    session = requests.Session()
    session.cookies.set("belay_session", cookie)
    return session


def signed_in_csrf(run, session, path="/app/users"):
    response = run.call(f"GET {path}", "GET", path, session=session)
    assert response.status_code == 200, f"GET {path} -> {response.status_code} {response.text[:300]}"
    return csrf_of(response.text)


def rand_password(tag):
    return f"{tag}Pw{pysecrets.token_hex(12)}"


def alertmanager_body(name="SecretsTest", fingerprint="abc123"):
    return {"version": "4", "groupKey": "g", "status": "firing", "receiver": "belay", "groupLabels": {},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am",
            "alerts": [{"status": "firing", "labels": {"alertname": name}, "annotations": {"summary": name},
                        "startsAt": "2026-01-01T00:00:00Z", "fingerprint": fingerprint}]}


def pagerduty_event(key, **extra):
    return {"routing_key": key, "event_action": "trigger",
            "payload": {"summary": "disk full", "source": "db1", "severity": "critical"}, **extra}


def create_secrets(run):
    belay = run.belay
    run.secret("admin API token (belay admin create-token, before serving)", belay.token)

    # The setup code is printed once on stdout at startup.
    deadline = time.time() + 15
    code = None
    while time.time() < deadline and not code:
        match = re.search(r"/app/setup\?code=([A-Za-z0-9_\-]+)", belay.stdout())
        code = match and match.group(1)
        time.sleep(0.1)
    assert code, f"no setup link on stdout: {belay.stdout()[-1000:]!r}"
    run.secret("first-run setup code", code)

    created = subprocess.run([belay.binary, "admin", "create-token", "--role", "viewer", "--data", belay.data],
                             check=True, capture_output=True, text=True, timeout=60)
    viewer = run.secret("viewer API token (belay admin create-token, while serving)", created.stdout.strip().splitlines()[-1])
    run.viewer = viewer

    responder = run.api("POST", "/api/v1/tokens", {"name": "ci-bot", "role": "responder"})
    run.responder = run.secret("responder API token (POST /api/v1/tokens)", responder["token"])
    doomed = run.api("POST", "/api/v1/tokens", {"name": "doomed", "role": "admin"})
    run.revoked = run.secret("revoked API token", doomed["token"])
    run.api("DELETE", f"/api/v1/tokens/{doomed['id']}")

    run.api("POST", "/api/v1/components", {"slug": "api", "name": "API"}, expect=(200, 201))
    keys = {}
    for kind in ("alertmanager", "generic", "pagerduty"):
        made = run.api("POST", "/api/v1/integrations", {"name": f"int-{kind}", "kind": kind,
                                                         "routing": {"defaultComponents": ["api"]}})
        keys[kind] = run.secret(f"integration key ({kind})", made["key"])
        keys[kind + "-id"] = made["integration"]["id"]
    rotating = run.api("POST", "/api/v1/integrations", {"name": "rotating", "kind": "alertmanager"})
    run.old_key = run.secret("integration key before rotation", rotating["key"])
    rotated = run.api("POST", f"/api/v1/integrations/{rotating['integration']['id']}/rotate-key")
    run.new_key = run.secret("integration key after rotation", rotated["key"])
    disabled = run.api("POST", "/api/v1/integrations", {"name": "disabled", "kind": "generic"})
    run.disabled_key = run.secret("integration key of a disabled integration", disabled["key"])
    run.api("PATCH", f"/api/v1/integrations/{disabled['integration']['id']}", {"enabled": False})
    run.keys = keys

    beats = []
    for name in ("nightly-backup", "deleted-job"):
        monitor = run.api("POST", "/api/v1/monitors", {"name": name, "kind": "heartbeat", "intervalSeconds": 3600,
                                                        "settings": {"graceSeconds": 600}})
        url = monitor.get("heartbeatURL") or ""
        match = re.search(r"/api/v1/heartbeats/([^/?#]+)$", url)
        assert match, f"heartbeat monitor without a ping URL: {monitor}"
        beats.append((monitor["id"], run.secret(f"heartbeat token ({name})", match.group(1))))
    run.heartbeats = beats

    # ---- the web app: setup, invitations, sessions, passwords, web-made tokens and keys
    browser = requests.Session()
    form_cookie(run, browser, f"/app/setup?code={code}")
    run.admin_password = run.secret("admin password", rand_password("Admin"))
    short = run.call("POST /app/setup (password too short)", "POST", "/app/setup", session=browser,
                     data={"_csrf": browser.cookies.get("belay_form"), "code": code, "name": "Ada",
                           "email": "ada@example.com", "password": "short"})
    assert short.status_code == 422, f"setup with a short password: {short.status_code}"
    done = run.call("POST /app/setup", "POST", "/app/setup", session=browser,
                    data={"_csrf": browser.cookies.get("belay_form"), "code": code, "name": "Ada",
                          "email": "ada@example.com", "password": run.admin_password})
    admin_cookie = run.secret("session cookie (admin, from setup)", session_cookie(done, "setup"))
    admin = web_session(run, admin_cookie)
    csrf = signed_in_csrf(run, admin)

    invites = []
    for name in ("Grace", "Linus"):
        page = run.call("POST /app/users (invite)", "POST", "/app/users", session=admin,
                        data={"_csrf": csrf, "name": name, "email": f"{name.lower()}@example.com", "role": "responder"})
        assert page.status_code == 201, f"invite: {page.status_code} {page.text[:300]}"
        match = re.search(r"/app/invite/([A-Za-z0-9_\-]+)", html.unescape(page.text))
        assert match, f"no invitation link on the page: {page.text[:1000]}"
        invites.append(run.secret(f"invitation token ({name})", match.group(1)))
    run.accepted_invite, run.pending_invite = invites

    guest = requests.Session()
    form_cookie(run, guest, f"/app/invite/{run.accepted_invite}")
    bad = run.call("POST /app/invite/TOKEN (password too short)", "POST", f"/app/invite/{run.accepted_invite}",
                   session=guest, data={"_csrf": guest.cookies.get("belay_form"), "password": "short"})
    assert bad.status_code == 422, f"accepting an invitation with a short password: {bad.status_code}"
    run.user_password = run.secret("invited user's password", rand_password("Grace"))
    accepted = run.call("POST /app/invite/TOKEN", "POST", f"/app/invite/{run.accepted_invite}", session=guest,
                        data={"_csrf": guest.cookies.get("belay_form"), "password": run.user_password})
    grace_cookie = run.secret("session cookie (invited user)", session_cookie(accepted, "accepting an invitation"))
    grace = web_session(run, grace_cookie)

    page = run.call("POST /app/tokens", "POST", "/app/tokens", session=admin,
                    data={"_csrf": csrf, "name": "web-made", "role": "viewer"})
    assert page.status_code == 201, f"creating a token in the web app: {page.status_code} {page.text[:300]}"
    match = re.search(r'id="new-token">([^<]+)<', page.text)
    assert match, f"no new token on the page: {page.text[:1000]}"
    run.secret("API token made in the web app", html.unescape(match.group(1)))

    page = run.call("POST /app/integrations", "POST", "/app/integrations", session=admin,
                    data={"_csrf": csrf, "name": "web-int", "kind": "generic", "severity": "sev3"})
    assert page.status_code == 201, f"creating an integration in the web app: {page.status_code} {page.text[:300]}"
    match = re.search(r'id="new-key">([^<]+)<', page.text)
    assert match, f"no new key on the page: {page.text[:1000]}"
    run.web_key = run.secret("integration key made in the web app", html.unescape(match.group(1)))

    signer = requests.Session()
    form_cookie(run, signer, "/app/sign-in")
    signed = run.call("POST /app/sign-in", "POST", "/app/sign-in", session=signer,
                      data={"_csrf": signer.cookies.get("belay_form"), "email": "ada@example.com",
                            "password": run.admin_password, "next": "/app"})
    run.expiring_cookie = run.secret("session cookie (admin, from sign-in; expired later)", session_cookie(signed, "sign-in"))

    run.grace_csrf = signed_in_csrf(run, grace, "/app/account")
    run.user_password_2 = run.secret("invited user's new password", rand_password("Grace2"))
    changed = run.call("POST /app/account/password", "POST", "/app/account/password", session=grace,
                       data={"_csrf": run.grace_csrf, "current": run.user_password, "password": run.user_password_2})
    assert changed.status_code == 303, f"changing a password: {changed.status_code} {changed.text[:300]}"
    run.admin, run.admin_csrf, run.grace, run.code = admin, csrf, grace, code


def provoke(run):
    belay = run.belay
    wrongs = {}
    for label, value in list(run.secrets.items()):
        wrongs[label] = value[:-1] + ("A" if value[-1] != "A" else "B")  # one character off

    # ---- ingestion: right keys with bad bodies, wrong keys, rotated and disabled keys, tokens as keys
    for kind, key in (("alertmanager", run.keys["alertmanager"]), ("generic", run.keys["generic"]),
                      ("pagerduty", run.keys["pagerduty"]), ("web", run.web_key)):
        for route in ("alertmanager", "events"):
            path = f"/api/v1/integrations/{key}/{route}"
            run.call(f"{route} with the {kind} key, body '{{'", "POST", path, data="{",
                     headers={"Content-Type": "application/json"})
            run.call(f"{route} with the {kind} key, wrong shape", "POST", path, json={"alerts": "no", "action": "explode"})
            run.call(f"{route} with the {kind} key, empty body", "POST", path, data=b"",
                     headers={"Content-Type": "application/json"})
            run.call(f"{route} with the {kind} key, GET", "GET", path)
            run.call(f"{route} with the {kind} key plus a character", "POST", f"/api/v1/integrations/{key}x/{route}",
                     json=alertmanager_body())
            run.call(f"{route} with the {kind} key in upper case", "POST",
                     f"/api/v1/integrations/{key.upper()}/{route}", json=alertmanager_body())
            run.call(f"{route} with the {kind} key, JSON nested 10,000 deep", "POST", path, data="[" * 10000 + "]" * 10000,
                     headers={"Content-Type": "application/json"})
        run.call(f"/v2/enqueue with the {kind} key, bad action", "POST", "/v2/enqueue",
                 json=pagerduty_event(key, event_action="explode"))
        run.call(f"/v2/enqueue with the {kind} key, no payload", "POST", "/v2/enqueue",
                 json={"routing_key": key, "event_action": "trigger"})
        run.call(f"/v2/enqueue with the {kind} key one character off", "POST", "/v2/enqueue",
                 json=pagerduty_event(key[:-1] + ("0" if key[-1] != "0" else "1")))
        run.call(f"/v2/enqueue with the {kind} key, custom_details nested deep", "POST", "/v2/enqueue",
                 data='{"routing_key":"' + key + '","event_action":"trigger","payload":{"summary":"s","source":"s",'
                      '"severity":"critical","custom_details":' + "[" * 10000 + "]" * 10000 + "}}",
                 headers={"Content-Type": "application/json"})
    ok = run.call("alertmanager with the right key", "POST", f"/api/v1/integrations/{run.keys['alertmanager']}/alertmanager",
                  json=alertmanager_body())
    assert ok.status_code == 200, f"a good delivery failed: {ok.status_code} {ok.text[:300]}"
    for route in ("alertmanager", "events"):
        run.call(f"{route} with the rotated-out key", "POST", f"/api/v1/integrations/{run.old_key}/{route}",
                 json=alertmanager_body())
        run.call(f"{route} with the disabled key", "POST", f"/api/v1/integrations/{run.disabled_key}/{route}",
                 json=alertmanager_body())
    for label in ("integration key before rotation", "integration key of a disabled integration"):
        run.call(f"/v2/enqueue with the {label}", "POST", "/v2/enqueue", json=pagerduty_event(run.secrets[label]))
    for label in ("admin API token (belay admin create-token, before serving)", "first-run setup code",
                  "heartbeat token (nightly-backup)", "invitation token (Linus)"):
        value = run.secrets[label]
        run.call(f"alertmanager with the {label} as key", "POST", f"/api/v1/integrations/{value}/alertmanager",
                 json=alertmanager_body())
        run.call(f"/v2/enqueue with the {label} as routing_key", "POST", "/v2/enqueue", json=pagerduty_event(value))

    # ---- secrets where ids belong, and unknown routes
    for label, value in list(run.secrets.items()):
        quoted = urllib.parse.quote(value, safe="")
        for path in (f"/api/v1/integrations/{quoted}", f"/api/v1/tokens/{quoted}", f"/api/v1/monitors/{quoted}",
                     f"/api/v1/incidents/{quoted}", f"/api/v1/components/{quoted}", f"/incidents/{quoted}",
                     f"/nope/{quoted}", f"/app/incidents/{quoted}", f"/api/v1/integrations/{quoted}/rotate-key"):
            method = "DELETE" if path.startswith("/api/v1/tokens/") else ("POST" if path.endswith("rotate-key") else "GET")
            run.call(f"{method} {path.replace(quoted, '<' + label + '>')}", method, path, token=belay.token,
                     session=run.admin if path.startswith("/app/") else None)

    # ---- bearer tokens: wrong, revoked, malformed, too weak
    for label in ("admin API token (belay admin create-token, before serving)", "responder API token (POST /api/v1/tokens)"):
        run.call(f"API with {label} one character off", "GET", "/api/v1/incidents", token=wrongs[label])
    run.call("API with the revoked token", "GET", "/api/v1/incidents", token=run.revoked)
    run.call("API with a token but no Bearer", "GET", "/api/v1/incidents", headers={"Authorization": belay.token})
    run.call("API with a Basic header", "GET", "/api/v1/incidents", headers={"Authorization": f"Basic {belay.token}"})
    run.call("API with the token twice", "GET", "/api/v1/incidents", headers={"Authorization": f"Bearer {belay.token} {belay.token}"})
    run.call("viewer token on an admin route", "POST", "/api/v1/tokens", token=run.viewer, json={"name": "x", "role": "admin"})
    run.call("viewer token on a responder route", "POST", "/api/v1/incidents", token=run.viewer,
             json={"title": "x", "severity": "sev2"})
    run.call("an integration key as bearer token", "GET", "/api/v1/incidents", token=run.keys["alertmanager"])
    run.call("a session cookie as bearer token", "GET", "/api/v1/incidents", token=run.expiring_cookie)
    run.call("bad token role", "POST", "/api/v1/tokens", token=belay.token, json={"name": "x", "role": "root"})
    run.call("bad integration body", "POST", "/api/v1/integrations", token=belay.token, data="{",
             headers={"Content-Type": "application/json"})
    run.call("bad incident body", "POST", "/api/v1/incidents", token=run.responder, json={"title": 5})

    # ---- heartbeats: right, wrong, too long, after the monitor is gone
    (_, beat), (doomed_id, doomed_beat) = run.heartbeats
    assert run.call("heartbeat ping", "POST", f"/api/v1/heartbeats/{beat}").status_code == 200
    assert run.call("heartbeat ping (GET)", "GET", f"/api/v1/heartbeats/{beat}").status_code == 200
    run.call("heartbeat one character off", "POST", f"/api/v1/heartbeats/{wrongs['heartbeat token (nightly-backup)']}")
    run.call("heartbeat token twice over (too long)", "POST", f"/api/v1/heartbeats/{beat * 6}")
    run.call("heartbeat token with a suffix", "POST", f"/api/v1/heartbeats/{beat}/extra")
    run.call("heartbeat with a bad body", "POST", f"/api/v1/heartbeats/{beat}x", data="{",
             headers={"Content-Type": "application/json"})
    run.api("DELETE", f"/api/v1/monitors/{doomed_id}")
    run.call("heartbeat of a deleted monitor", "POST", f"/api/v1/heartbeats/{doomed_beat}")
    run.call("heartbeat with another secret", "POST", f"/api/v1/heartbeats/{run.responder}")

    # ---- web: bad sign-ins, used setup code and invitation, CSRF, expired and signed-out sessions
    signer = requests.Session()
    form_cookie(run, signer, "/app/sign-in")
    token = signer.cookies.get("belay_form")
    run.call("sign-in with a wrong password", "POST", "/app/sign-in", session=signer,
             data={"_csrf": token, "email": "ada@example.com", "password": run.admin_password + "x"})
    run.call("sign-in with the right password, wrong email", "POST", "/app/sign-in", session=signer,
             data={"_csrf": token, "email": "nobody@example.com", "password": run.admin_password})
    run.call("sign-in with the old password", "POST", "/app/sign-in", session=signer,
             data={"_csrf": token, "email": "grace@example.com", "password": run.user_password})
    run.call("sign-in without CSRF", "POST", "/app/sign-in",
             data={"email": "ada@example.com", "password": run.admin_password})
    run.call("setup with the used code", "POST", "/app/setup", session=signer,
             data={"_csrf": token, "code": run.code, "name": "Eve", "email": "eve@example.com",
                   "password": rand_password("Eve")})
    run.call("GET setup with the used code", "GET", f"/app/setup?code={run.code}", session=signer)
    run.call("GET a used invitation", "GET", f"/app/invite/{run.accepted_invite}", session=signer)
    run.call("POST a used invitation", "POST", f"/app/invite/{run.accepted_invite}", session=signer,
             data={"_csrf": token, "password": rand_password("Again")})
    run.call("invitation one character off", "GET", f"/app/invite/{wrongs['invitation token (Linus)']}")
    run.call("invite with a bad CSRF token", "POST", "/app/users", session=run.admin,
             data={"_csrf": "nope", "name": "Mallory", "email": "m@example.com", "role": "admin"})
    run.call("invite with a bad email", "POST", "/app/users", session=run.admin,
             data={"_csrf": run.admin_csrf, "name": "", "email": "", "role": "wizard"})
    run.call("password change with a wrong current password", "POST", "/app/account/password", session=run.grace,
             data={"_csrf": run.grace_csrf, "current": run.user_password, "password": rand_password("X")})
    run.call("responder on an admin page", "GET", "/app/users", session=run.grace)
    run.call("responder posting an admin form", "POST", "/app/tokens", session=run.grace,
             data={"_csrf": run.grace_csrf, "name": "x", "role": "admin"})

    # An expired session: moved 13 hours into the past (idle limit 12 h), as if nobody had used it since.
    db = sqlite3.connect(os.path.join(belay.data, "belay.sqlite"), timeout=30)
    try:
        token_hash = hashlib.sha256(run.expiring_cookie.encode()).hexdigest()
        changed = db.execute("UPDATE web_session SET lastSeenAt = lastSeenAt - 46800, createdAt = createdAt - 46800 "
                             "WHERE tokenHash = ?", (token_hash,)).rowcount
        db.commit()
    finally:
        db.close()
    assert changed == 1, "could not find the session to expire in belay.sqlite"
    expired = web_session(run, run.expiring_cookie)
    run.call("expired session: GET /app", "GET", "/app", session=expired)
    run.call("expired session: GET /app/users", "GET", "/app/users", session=expired)
    run.call("expired session: POST /app/users", "POST", "/app/users", session=expired,
             data={"_csrf": run.admin_csrf, "name": "Late", "email": "late@example.com", "role": "viewer"})

    out = run.call("sign out", "POST", "/app/sign-out", session=run.admin, data={"_csrf": run.admin_csrf})
    assert out.status_code == 303, f"sign-out: {out.status_code}"
    run.call("signed-out session: GET /app/tokens", "GET", "/app/tokens", session=web_session(run, run.secrets["session cookie (admin, from setup)"]))
    run.call("signed-out session: POST /app/tokens", "POST", "/app/tokens",
             session=web_session(run, run.secrets["session cookie (admin, from setup)"]),
             data={"_csrf": run.admin_csrf, "name": "late", "role": "admin"})
    run.call("session cookie one character off", "GET", "/app/users",
             session=web_session(run, wrongs["session cookie (invited user)"]))


@pytest.fixture(scope="module")
def run(request):
    belay = new_server(prefix="belay-secrets-")
    state = Run(belay)
    try:
        create_secrets(state)
        provoke(state)
        assert belay.alive(), "the server died during the provocations: " + belay.death_note()
    except BaseException:
        finish(belay, True)
        raise
    belay.stop()
    state.stdout, state.stderr = belay.stdout(), belay.log()
    yield state
    finish(belay, False)


KINDS = ["API token", "integration key", "heartbeat token", "setup code", "invitation token", "session cookie", "password"]


def test_every_kind_of_secret_was_made(run):
    missing = [kind for kind in KINDS if not any(kind in label for label in run.secrets)]
    assert not missing, f"no secret of these kinds was created: {missing}"
    assert len(run.responses) > 200, f"only {len(run.responses)} error responses were provoked"


def hits(text, value):
    """Where `value`, or a FRAGMENT-long piece of it, occurs in `text`: [(offset, what matched)]."""
    found = []
    variants = {value, urllib.parse.quote(value, safe=""), html.escape(value), json.dumps(value)[1:-1]}
    for variant in variants:
        start = text.find(variant)
        if start >= 0:
            found.append((start, "the whole secret"))
    if not found and len(value) > FRAGMENT:
        for i in range(len(value) - FRAGMENT + 1):
            piece = value[i:i + FRAGMENT]
            start = text.find(piece)
            if start >= 0:
                found.append((start, f"{FRAGMENT} characters of it ({piece!r})"))
                break
    return found


def excerpt(text, offset, width=90):
    return text[max(0, offset - width):offset + width].replace("\n", "\\n")


def test_no_secret_in_the_server_output(run):
    leaks = []
    for label, value in run.secrets.items():
        for stream, text in (("stdout", run.stdout), ("stderr", run.stderr)):
            found = hits(text, value)
            if label == "first-run setup code" and stream == "stdout":
                banner = text.count(f"/app/setup?code={value}")
                if banner == 1 and text.count(value) == 1:
                    continue
                leaks.append(f"the setup code is on stdout {text.count(value)} times (once in the banner expected)")
                continue
            for offset, what in found:
                leaks.append(f"{label}: {what} in {stream}: ...{excerpt(text, offset)}...")
    assert not leaks, f"{len(leaks)} secret(s) in the server's output:\n  " + "\n  ".join(leaks)


def test_no_secret_in_an_error_response(run):
    """Grouped by request: each request (the secret in it written <...>) with the secrets its answer carried."""
    groups = {}
    for label, value in run.secrets.items():
        for request_label, request_text, status, text in run.responses:
            found = hits(text, value)
            if not found:
                continue
            offset, what = found[0]
            how = "reflected" if hits(request_text, value) else "LEAKED: the request did not carry it"
            where = re.sub(r"<[^>]*>", "<secret>", request_label)
            group = groups.setdefault((where, status, how), {"secrets": [], "example": None})
            group["secrets"].append(label if what == "the whole secret" else f"{label} ({what})")
            if group["example"] is None:
                group["example"] = excerpt(text, offset)
    lines = [f"  {status} to '{where}' ({how}): {len(group['secrets'])} secret(s): {', '.join(group['secrets'][:6])}"
             f"{', ...' if len(group['secrets']) > 6 else ''}\n      e.g. ...{group['example']}..."
             for (where, status, how), group in sorted(groups.items(), key=lambda item: (item[0][2] != "reflected", item[0]))]
    assert not groups, f"{len(groups)} kinds of error response carry secrets:\n" + "\n".join(reversed(lines))
