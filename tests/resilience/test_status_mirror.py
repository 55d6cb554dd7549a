"""A status page with no shared fate: `belay serve --status-mirror DIR` keeps a copy of the public snapshot in
DIR; nginx serves DIR (index.html for `/`, `$uri.html` for pages, `gzip_static on` for the `.gz` copies) with
the same bytes Belay serves, and keeps serving them after Belay is killed with SIGKILL. A failing
`--status-mirror-command` shows in GET /api/v1/status-mirror and on the app's home page.

nginx comes from Debian (install.sh installs it when missing) and runs from a temporary prefix on a free
loopback port, with its own pid file, logs and temp directories: no root and no system configuration."""
import http.client
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import requests

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MIME_TYPES = "/etc/nginx/mime.types"

NGINX_CONF = r"""daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 64; }}
http {{
    include {mime};
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        index index.html;
        gzip_static on;
        location / {{ try_files $uri $uri.html $uri/ =404; }}
        location ~ /\.belay- {{ deny all; }}
        error_page 404 /404.html;
    }}
}}
"""

PATHS = ["/", "/history", "/api/v2/summary.json", "/api/v2/incidents/unresolved.json", "/history.atom", "/history.rss",
         "/assets/belay.css", "/assets/local-time.js", "/assets/favicon.svg"]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(base, path, gzip):
    """(status, body as sent: no decompression) for GET base+path."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "gzip" if gzip else "identity"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def scratch():
    # World-readable, so nginx's workers read it even when the test runs as root (they then run as nobody).
    folder = tempfile.mkdtemp(prefix="belay-mirror-")
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def nginx_factory(scratch):
    started = []

    def start(root):
        assert os.path.exists(NGINX), "nginx is not installed: run tests/resilience/install.sh"
        prefix = os.path.join(scratch, f"nginx-{len(started)}")
        os.makedirs(prefix)
        port = free_port()
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(prefix=prefix, port=port, root=root, mime=MIME_TYPES))
        process = subprocess.Popen([NGINX, "-p", prefix, "-c", conf, "-e", os.path.join(prefix, "startup.log")],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append(process)
        base = f"http://127.0.0.1:{port}"

        def up():
            if process.poll() is not None:
                raise AssertionError(f"nginx exited with {process.returncode}: {process.stderr.read().decode(errors='replace')}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False

        wait_for(up, 15, "nginx to listen")
        return base

    yield start
    for process in started:
        process.kill()
        process.wait(timeout=10)


def sign_in_home(server):
    """Creates the first admin through the setup link and returns the home page's HTML. Cookies are sent by
    hand: Belay marks them Secure (its public URL is https) and requests would not send those over http."""
    code = server.setup_code()
    session = requests.Session()
    cookies = {}

    def send(method, path, **kwargs):
        header = "; ".join(f"{k}={v}" for k, v in cookies.items())
        response = session.request(method, server.url + path, headers={"Cookie": header} if header else {}, allow_redirects=False,
                                   timeout=30, **kwargs)
        for cookie in response.cookies:
            cookies[cookie.name] = cookie.value
        session.cookies.clear()
        return response

    page = send("GET", f"/app/setup?code={code}")
    assert page.status_code == 200, page.text[:500]
    csrf = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
    created = send("POST", "/app/setup", data={"_csrf": csrf, "name": "Ada", "email": "ada@example.com", "password": "correct horse battery"})
    assert created.status_code == 303, created.text[:500]
    home = send("GET", "/app")
    assert home.status_code == 200, home.text[:500]
    return home.text


def test_nginx_keeps_serving_belays_bytes_after_belay_is_killed(belay_factory, scratch, nginx_factory):
    mirror = os.path.join(scratch, "mirror")
    os.makedirs(mirror, mode=0o755)
    server = belay_factory(args=["--status-mirror", mirror, "--status-mirror-command", 'touch "$BELAY_STATUS_MIRROR/.synced"']).start()
    server.api("POST", "/api/v1/components", {"slug": "api", "name": "Public API"})
    incident = server.api("POST", "/api/v1/incidents", {
        "title": "Elevated error rates", "severity": "sev2", "message": "We are investigating errors on the API.",
        "components": [{"slug": "api", "impact": "major_outage"}]})
    incident_path = f"/incidents/{incident['id']}"
    page_file = os.path.join(mirror, incident_path.lstrip("/") + ".html")

    def mirrored():
        if not os.path.exists(page_file):
            return False
        status, home = fetch(server.url, "/", gzip=False)
        with open(os.path.join(mirror, "index.html"), "rb") as f:
            return status == 200 and f.read() == home and b"Elevated error rates" in home
    wait_for(mirrored, 20, "the mirror to hold the incident")
    # The command ran after that copy.
    wait_for(lambda: os.path.exists(os.path.join(mirror, ".synced")) and
             os.stat(os.path.join(mirror, ".synced")).st_mtime >= os.stat(page_file).st_mtime, 20, "the mirror command to run")
    health = server.api("GET", "/api/v1/status-mirror")
    assert health["status"] == "ok", health
    assert health["command"]["lastRun"]["outcome"] == "succeeded", health

    nginx = nginx_factory(mirror)
    paths = PATHS + [incident_path]
    served = {}
    for path in paths:
        for gzip in (False, True):
            status, body = fetch(server.url, path, gzip)
            assert status == 200, (path, status)
            served[(path, gzip)] = body
            assert fetch(nginx, path, gzip) == (200, body), f"nginx differs from Belay on {path} (gzip={gzip})"
    # The pages Belay compresses reach nginx's clients compressed too, with the very same bytes.
    assert served[("/", True)][:2] == b"\x1f\x8b" and served[("/api/v2/summary.json", True)][:2] == b"\x1f\x8b"
    assert fetch(nginx, "/incidents/no-such-incident", False)[0] == 404
    assert fetch(nginx, "/.belay-mirror-manifest.json", False)[0] == 403

    server.kill()
    with pytest.raises(OSError):
        fetch(server.url, "/", False)
    for (path, gzip), body in served.items():
        assert fetch(nginx, path, gzip) == (200, body), f"after kill -9, nginx no longer serves Belay's last {path} (gzip={gzip})"


def test_a_failing_mirror_command_shows_in_the_api_and_on_the_home_page(belay_factory, scratch):
    mirror = os.path.join(scratch, "mirror")
    os.makedirs(mirror)
    server = belay_factory(args=["--status-mirror", mirror, "--status-mirror-command", 'echo "bucket refused the upload" >&2; exit 7']).start()
    # The first copy (an empty directory becomes a whole page) runs the command at once.
    health = wait_for(lambda: (lambda h: h if h.get("command", {}).get("lastFailure") else None)(server.api("GET", "/api/v1/status-mirror")),
                      20, "the failed command in GET /api/v1/status-mirror")
    assert health["status"] == "failing", health
    failure = health["command"]["lastFailure"]
    assert failure["outcome"] == "failed" and failure["exitStatus"] == 7, failure
    assert "bucket refused the upload" in failure["output"], failure
    assert os.path.exists(os.path.join(mirror, "index.html")), "the copy itself was written"
    assert "exited with status 7" in server.log(), "the failure is logged"

    home = sign_in_home(server)
    assert 'id="status-mirror-problems"' in home, home[:3000]
    assert "the status mirror command exited with status 7" in home
    # The public page is unaffected.
    assert fetch(server.url, "/", False)[0] == 200


def test_a_missing_mirror_directory_never_stops_the_server(belay_factory, scratch):
    missing = os.path.join(scratch, "not-mounted")
    server = belay_factory(args=["--status-mirror", missing]).start()
    health = wait_for(lambda: (lambda h: h if h.get("writeProblem") else None)(server.api("GET", "/api/v1/status-mirror")),
                      20, "the write problem in GET /api/v1/status-mirror")
    assert "no such file or directory" in health["writeProblem"]["message"], health
    assert fetch(server.url, "/", False)[0] == 200
    server.api("POST", "/api/v1/components", {"slug": "api", "name": "Public API"})
    assert not os.path.exists(missing), "the mirror does not make its directory (it may be an unmounted volume)"
    assert server.alive()
