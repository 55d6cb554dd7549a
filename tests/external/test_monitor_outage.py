"""Belay's monitors against real local servers: an outage opens an incident within interval + timeout (+1 s of
slack), recovery moves it to monitoring, and the egress policy keeps monitors off loopback unless allowed,
at the first connection and at every redirect hop.

    BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/external/test_monitor_outage.py
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from support import create_component, free_port, impact_slugs, incident, incidents_on, items, wait_until

REDIRECTOR = """
import http.server, sys
class Redirect(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(302)
        self.send_header("Location", sys.argv[3])
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_HEAD = do_GET
http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), Redirect).serve_forever()
"""


class LocalServer:
    """`python3 -m http.server` in a subprocess (or a redirector), killed and started again on the same port.
    Its log lists every request it answered."""

    def __init__(self, host="127.0.0.1", port=None, redirect_to=None):
        self.host = host
        self.port = port or free_port(host)
        self.redirect_to = redirect_to
        self.dir = tempfile.mkdtemp(prefix="local-server-")
        with open(os.path.join(self.dir, "index.html"), "w") as file:
            file.write("<html><body>ok</body></html>\n")
        self.log_path = os.path.join(self.dir, "requests.log")
        self.process = None
        self.start()

    def start(self):
        if self.redirect_to:
            command = [sys.executable, "-c", REDIRECTOR, self.host, str(self.port), self.redirect_to]
        else:
            command = [sys.executable, "-m", "http.server", str(self.port), "--bind", self.host, "--directory", self.dir]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(self.log_path, "a"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server on {self.host}:{self.port} exited: {open(self.log_path).read()}")
                time.sleep(0.05)
        raise RuntimeError(f"server on {self.host}:{self.port} did not start")

    def kill(self):
        self.process.kill()
        self.process.wait(timeout=10)

    @property
    def url(self):
        return f"http://{self.host}:{self.port}/"

    def requests_seen(self):
        return [line for line in open(self.log_path).read().splitlines() if '"GET ' in line or '"HEAD ' in line]


@pytest.fixture
def local_server():
    started = []

    def start(**kwargs):
        server = LocalServer(**kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.kill()
        shutil.rmtree(server.dir, ignore_errors=True)


def create_monitor(belay, body):
    answer = belay.request("POST", "/api/v1/monitors", body)
    assert answer.status_code == 201, f"POST /api/v1/monitors {body} -> {answer.status_code} {answer.text}"
    return answer.json()


def monitor(belay, monitor_id):
    return belay.api("GET", f"/api/v1/monitors/{monitor_id}")


def wait_for_status(belay, monitor_id, status, timeout):
    def reached():
        current = monitor(belay, monitor_id)
        return current if current["state"]["status"] == status else None
    try:
        return wait_until(reached, timeout, f"monitor {monitor_id} did not become {status}")
    except AssertionError as failure:
        raise AssertionError(f"{failure}; it is {monitor(belay, monitor_id)}") from None


def fast(name, kind, settings, component):
    return {"name": name, "kind": kind, "settings": settings, "intervalSeconds": 1, "timeoutSeconds": 1,
            "failureThreshold": 1, "successThreshold": 1, "component": component, "severity": "sev2"}


def outage_and_recovery(belay, server, monitor_id, slug):
    """Kills the server, times the incident, starts the server again and waits for the incident to move to monitoring."""
    wait_for_status(belay, monitor_id, "up", 10)
    server.kill()
    killed = time.monotonic()
    opened = wait_until(lambda: incidents_on(belay, slug), 15, f"no incident on {slug} after its server was killed")
    elapsed = time.monotonic() - killed
    # Nominally interval + timeout + 1 s = 3 s, and the figure is printed; the bound leaves room for a loaded machine.
    assert elapsed <= 10.0, f"the incident took {elapsed:.2f} s, far more than interval + timeout + 1 s = 3 s"
    assert len(opened) == 1, opened
    opened = opened[0]
    assert impact_slugs(opened) == [slug] and opened["severity"] == "sev2", opened
    assert opened["status"] == "investigating" and "detectedAt" in opened["milestones"], opened
    down = monitor(belay, monitor_id)
    assert down["state"]["status"] == "down" and down["state"]["lastMessage"], down

    server.start()
    mitigated = wait_until(lambda: (lambda i: i if i["status"] != "investigating" else None)(incident(belay, opened["id"])),
                           10, "the incident stayed investigating after the server came back")
    assert mitigated["status"] == "monitoring", mitigated
    assert "mitigatedAt" in mitigated["milestones"], mitigated
    wait_for_status(belay, monitor_id, "up", 5)
    return opened, elapsed


@pytest.mark.belay_args("--egress-allow", "127.0.0.1/32")
def test_an_http_outage_opens_an_incident_within_interval_plus_timeout(belay, local_server):
    server = local_server()
    create_component(belay, "web", "Web")
    created = create_monitor(belay, fast("web home", "http", {"url": server.url, "keyword": "ok"}, "web"))
    assert created["state"]["status"] in ("pending", "up"), created
    opened, elapsed = outage_and_recovery(belay, server, created["id"], "web")
    print(f"http outage -> incident in {elapsed:.2f} s")
    results = items(belay.api("GET", f"/api/v1/monitors/{created['id']}/results?limit=100"), "results")
    assert results, "raw results are kept"
    assert server.requests_seen(), "the monitor really requested the server"


@pytest.mark.belay_args("--egress-allow", "127.0.0.1/32")
def test_a_tcp_outage_opens_an_incident_within_interval_plus_timeout(belay, local_server):
    server = local_server()
    create_component(belay, "cache", "Cache")
    created = create_monitor(belay, fast("cache port", "tcp", {"host": "127.0.0.1", "port": server.port}, "cache"))
    opened, elapsed = outage_and_recovery(belay, server, created["id"], "cache")
    print(f"tcp outage -> incident in {elapsed:.2f} s")


def test_loopback_is_refused_without_an_egress_allow(start_belay, local_server):
    belay = start_belay()
    server = local_server()
    create_component(belay, "web", "Web")
    port = server.port
    targets = {
        "plain": ("http", {"url": f"http://127.0.0.1:{port}/"}),
        "by name": ("http", {"url": f"http://localhost:{port}/"}),
        "decimal": ("http", {"url": f"http://2130706433:{port}/"}),
        "hex": ("http", {"url": f"http://0x7f000001:{port}/"}),
        "mapped v6": ("http", {"url": f"http://[::ffff:127.0.0.1]:{port}/"}),
        "tcp": ("tcp", {"host": "127.0.0.1", "port": port}),
    }
    # Every spelling of loopback is refused when the monitor is saved, naming the field and the policy.
    for name, (kind, settings) in targets.items():
        answer = belay.request("POST", "/api/v1/monitors", fast(f"loopback {name}", kind, settings, "web"))
        assert answer.status_code == 422, f"{name}: {answer.status_code} {answer.text}"
        error = answer.json()["error"]
        field = "settings.url" if kind == "http" else "settings.host"
        assert error["message"].startswith(field), f"{name}: the message should name {field}: {error}"
        assert "egress policy" in error["message"] and "--egress-allow" in error["message"], f"{name}: {error}"
    assert belay.api("GET", "/api/v1/monitors")["monitors"] == [], "no refused monitor was saved"
    assert server.requests_seen() == [], "refused monitors must not reach the server"


@pytest.mark.belay_args("--egress-allow", "127.0.0.1/32")
def test_a_redirect_to_a_forbidden_address_is_refused_at_the_hop(belay, local_server):
    # 127.0.0.2 is loopback but outside the allowed 127.0.0.1/32.
    forbidden = local_server(host="127.0.0.2")
    redirector = local_server(redirect_to=forbidden.url)
    create_component(belay, "web", "Web")
    created = create_monitor(belay, fast("redirected", "http", {"url": redirector.url}, "web"))
    down = wait_for_status(belay, created["id"], "down", 10)
    assert "egress" in down["state"]["lastMessage"].lower(), down["state"]
    assert redirector.requests_seen(), "the first hop is allowed and was requested"
    assert forbidden.requests_seen() == [], "the redirect to a forbidden address must not be followed"


@pytest.mark.belay_args("--egress-allow", "127.0.0.1/32")
def test_serve_stops_promptly_on_sigterm_with_monitors_scheduled(belay, local_server):
    # systemd, Docker and every supervisor stop a service with SIGTERM; the scheduler must not hold the process up.
    server = local_server()
    create_component(belay, "web", "Web")
    created = create_monitor(belay, fast("web home", "http", {"url": server.url}, "web"))
    wait_for_status(belay, created["id"], "up", 10)
    belay.process.terminate()
    stopped = time.monotonic()
    try:
        belay.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    elapsed = time.monotonic() - stopped
    assert belay.process.poll() is not None and elapsed <= 5, f"belay serve still running {elapsed:.1f} s after SIGTERM"


@pytest.mark.belay_args("--egress-allow", "127.0.0.0/8", "--egress-deny", "127.0.0.1/32")
def test_egress_deny_beats_allow(belay, local_server):
    server = local_server()
    create_component(belay, "web", "Web")
    answer = belay.request("POST", "/api/v1/monitors", fast("denied", "http", {"url": server.url}, "web"))
    assert answer.status_code == 422 and "denied by 127.0.0.1/32" in answer.text, f"{answer.status_code} {answer.text}"
    assert server.requests_seen() == []
