"""Starts real `belay serve` processes for tests that treat Belay as hostile clients would: slow and idle
connections, oversized and pathological bodies, and secrets provoked into error paths.

Same pattern as tests/external/conftest.py: every server is a fresh `belay serve --port 0` on 127.0.0.1 in its own
data directory, with an admin token made by `belay admin create-token` first. Differences:

- stdout and stderr are both kept in files (the secrets tests grep all of it; stdout carries the setup link);
- `--public-url` is plain http, so cookies are not Secure and plain-HTTP clients send them back;
- RLIMIT_NOFILE is raised for this process on import, before any server starts, so the servers (which inherit
  it) and the tests can hold a few thousand sockets;
- a flag the binary does not know yet is reported as exactly that, not as an obscure start failure.

    BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/hostile

Without BELAY_BIN the binary is <repo>/.build/debug/belay (nothing is built); it is copied to a temp dir once
per run, so a rebuild meanwhile does not disturb the run. Tests that need more than one server, or flags, call
`start_belay(*args)`.
"""
import errno
import http.client
import os
import re
import resource
import select
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import requests

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _raise_nofile(want=20000):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


NOFILE = _raise_nofile()


_SNAPSHOT = {}


def belay_binary():
    """The binary under test. It is copied once per session (with the resource bundles beside it) into a temp
    dir, so a rebuild during the run neither breaks it (ETXTBSY, a half-written file) nor mixes two versions.
    HOSTILE_COPY_BIN=0 uses it in place. A missing binary is waited for up to 3 minutes (it may be relinking)."""
    if "path" in _SNAPSHOT:
        return _SNAPSHOT["path"]
    path = os.environ.get("BELAY_BIN") or os.path.join(REPO, ".build", "debug", "belay")
    if not os.path.isabs(path):
        path = os.path.join(REPO, path)
    deadline = time.time() + 180
    while True:
        try:
            before = os.stat(path)
            settled = os.access(path, os.X_OK) and time.time() - before.st_mtime > 5
        except OSError:
            settled = False
        if settled:
            break
        if time.time() > deadline:
            pytest.exit(f"no settled belay binary at {path} after 3 minutes: build it (swift build) or set BELAY_BIN",
                        returncode=4)
        time.sleep(5)
    if os.environ.get("HOSTILE_COPY_BIN", "1") == "0":
        _SNAPSHOT["path"] = path
        return path
    for _ in range(10):
        folder = tempfile.mkdtemp(prefix="belay-hostile-bin-")
        copy = os.path.join(folder, "belay")
        shutil.copy2(path, copy)
        source_dir = os.path.dirname(os.path.realpath(path))
        for name in os.listdir(source_dir):
            if name.endswith(".resources"):
                shutil.copytree(os.path.join(source_dir, name), os.path.join(folder, name), symlinks=True)
        after = os.stat(path)
        if (after.st_size, after.st_mtime) == (before.st_size, before.st_mtime) and os.path.getsize(copy) == after.st_size:
            _SNAPSHOT.update(path=copy, folder=folder, source=path)
            return copy
        shutil.rmtree(folder, ignore_errors=True)  # rebuilt while copying: again
        time.sleep(5)
        before = os.stat(path)
    pytest.exit(f"{path} kept changing while it was copied", returncode=4)


def pytest_unconfigure(config):
    if "folder" in _SNAPSHOT:
        shutil.rmtree(_SNAPSHOT["folder"], ignore_errors=True)


def pytest_report_header(config):
    path = os.environ.get("BELAY_BIN") or os.path.join(REPO, ".build", "debug", "belay")
    return f"belay under test: {path} (copied to a temp dir at the first server start unless HOSTILE_COPY_BIN=0)"


class BelayFlagMissing(RuntimeError):
    pass


class Belay:
    """One running `belay serve`. `log()` is everything it wrote to stderr, `stdout()` to stdout."""

    def __init__(self, binary, data, extra_args=(), public_url="http://belay.test"):
        self.binary = binary
        self.data = data
        self.args = list(extra_args)
        created = subprocess.run([binary, "admin", "create-token", "--role", "admin", "--data", data],
                                 check=True, capture_output=True, text=True, timeout=60)
        self.token = created.stdout.strip().splitlines()[-1]
        self.stdout_path = os.path.join(data, "serve.stdout")
        self.stderr_path = os.path.join(data, "serve.stderr")
        command = [binary, "serve", "--port", "0", "--data", data]
        if public_url:
            command += ["--public-url", public_url]
        self.command = command + self.args
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            # Belay's own line, not Hummingbird's "listening on", which both listeners print.
            match = re.search(r'"msg":"serving",[^}]*"url":"http://127\.0\.0\.1:(\d+)"', self.log())
            # With --public-listen, both listeners must be up; the second one's port is `public_port`.
            public = re.search(r'"msg":"serving public pages",[^}]*"url":"http://[^"]*:(\d+)"', self.log())
            if match and (public or "--public-listen" not in self.args):
                self.port = int(match.group(1))
                self.url = f"http://127.0.0.1:{self.port}"
                self.public_port = int(public.group(1)) if public else None
                return
            if self.process.poll() is not None:
                log = self.log()
                unknown = re.search(r"Unknown option '([^']+)'", log)
                if unknown:
                    raise BelayFlagMissing(f"this belay binary does not know {unknown.group(1)} yet "
                                           f"(`{' '.join(self.command[1:])}`): {log.strip()[-600:]}")
                raise RuntimeError(f"belay serve exited with {self.process.returncode}: {log[-2000:]}")
            time.sleep(0.05)
        self.process.kill()
        raise RuntimeError("belay serve did not start within 60 s: " + self.log()[-2000:])

    # ---- output
    def log(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def stdout(self):
        with open(self.stdout_path, errors="replace") as f:
            return f.read()

    def alive(self):
        return self.process.poll() is None

    def death_note(self):
        return f"belay serve exited with status {self.process.returncode}; stderr ends with:\n{self.log()[-3000:]}"

    # ---- HTTP
    def request(self, method, path, body=None, auth=True, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        url = path if path.startswith("http") else self.url + path
        if body is not None:
            kwargs["json"] = body
        return requests.request(method, url, headers=headers, timeout=kwargs.pop("timeout", 15),
                                allow_redirects=kwargs.pop("allow_redirects", False), **kwargs)

    def api(self, method, path, body=None):
        response = self.request(method, path, body)
        assert response.status_code < 300, f"{method} {path} -> {response.status_code} {response.text}"
        return response.json() if response.content else None

    def assert_serving(self, within=10.0, what=""):
        """The process is alive and GET / answers 200 (on a new connection) within `within` seconds."""
        assert self.alive(), f"{what}: " + self.death_note()
        started = time.monotonic()
        try:
            status, _, _ = raw_request(self.port, "GET", "/", timeout=within)
        except OSError as error:
            raise AssertionError(f"{what}: GET / failed after {time.monotonic() - started:.1f} s: {error!r}; "
                                 f"alive={self.alive()}") from None
        assert status == 200, f"{what}: GET / -> {status}"
        assert self.alive(), f"{what}: " + self.death_note()

    def stop(self, timeout=10):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)


def new_server(args=(), public_url="http://belay.test", prefix="belay-hostile-"):
    data = tempfile.mkdtemp(prefix=prefix)
    try:
        return Belay(belay_binary(), data, args, public_url=public_url)
    except BelayFlagMissing as missing:
        shutil.rmtree(data, ignore_errors=True)
        pytest.fail(str(missing), pytrace=False)
    except BaseException:
        shutil.rmtree(data, ignore_errors=True)
        raise


def finish(server, failed):
    if failed:
        print(f"--- belay serve {' '.join(server.args)} ({getattr(server, 'url', '?')}) stderr, last 4000 characters:\n"
              f"{server.log()[-4000:]}")
    try:
        server.stop()
    except Exception:
        server.process.kill()
        server.process.wait()
    shutil.rmtree(server.data, ignore_errors=True)


def pytest_configure(config):
    config.addinivalue_line("markers", "belay_args(*args): extra arguments for the `belay serve` the `belay` fixture starts")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.belay_call_failed = report.failed
    return report


@pytest.fixture
def start_belay(request):
    started = []

    def start(*args, public_url="http://belay.test"):
        server = new_server(args, public_url=public_url)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            finish(server, getattr(request.node, "belay_call_failed", False))


@pytest.fixture
def belay(request, start_belay):
    marker = request.node.get_closest_marker("belay_args")
    return start_belay(*(marker.args if marker else ()))


# ---------------------------------------------------------------- raw sockets and HTTP

def connect(port, source=None, timeout=10.0):
    """A TCP connection to 127.0.0.1:port, from `source` (another loopback address, e.g. 127.0.0.2) if given."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if source:
        sock.bind((source, 0))
    sock.settimeout(timeout)
    try:
        sock.connect(("127.0.0.1", port))
    except BaseException:
        sock.close()
        raise
    return sock


def raw_request(port, method, path, headers=None, body=b"", source=None, timeout=10.0):
    """One request on its own connection (http.client, optionally from another loopback address).
    Returns (status, headers as a lower-cased dict, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()


def wait_closed(sock, deadline, keep_sending=None, interval=1.0):
    """Reads (and throws away) whatever the server sends until it closes the connection or `deadline`
    (time.monotonic()) passes. `keep_sending`, if given, is a bytes iterator: one item is sent every `interval`
    seconds meanwhile (a trickling client). Returns (closed, data received, monotonic time of the close)."""
    sock.setblocking(False)
    data = b""
    next_send = time.monotonic()
    try:
        while True:
            now = time.monotonic()
            if now >= deadline:
                return False, data, None
            if keep_sending is not None and now >= next_send:
                chunk = next(keep_sending, None)
                if chunk is not None:
                    try:
                        sock.send(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        return True, data, time.monotonic()
                    except BlockingIOError:
                        pass
                next_send = now + interval
            wait = max(0.0, min(deadline, next_send if keep_sending is not None else deadline) - now)
            readable, _, _ = select.select([sock], [], [], min(wait, 0.5))
            if readable:
                try:
                    chunk = sock.recv(65536)
                except (ConnectionResetError, BrokenPipeError):
                    return True, data, time.monotonic()
                except BlockingIOError:
                    continue
                except OSError as error:
                    if error.errno in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN):
                        return True, data, time.monotonic()
                    raise
                if not chunk:
                    return True, data, time.monotonic()
                data += chunk
    finally:
        try:
            sock.setblocking(True)
        except OSError:
            pass


def status_of(data):
    """The status code of the first HTTP response in `data`, or None."""
    match = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return int(match.group(1)) if match else None


def read_response(sock, timeout=10.0):
    """Reads one HTTP/1.1 response (head and a Content-Length or chunked body) from a blocking socket.
    Returns (status, head text, body bytes); status None when the connection ended before a response."""
    deadline = time.monotonic() + timeout
    data = b""

    def more():
        nonlocal data
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no complete response within %.1f s (got %r)" % (timeout, data[:300]))
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            return False
        data += chunk
        return True

    while b"\r\n\r\n" not in data:
        if not more():
            return (status_of(data), data.decode("latin-1"), b"") if data else (None, "", b"")
    head, _, rest = data.partition(b"\r\n\r\n")
    head_text = head.decode("latin-1")
    length = re.search(r"(?im)^content-length:\s*(\d+)", head_text)
    if length:
        need = int(length.group(1))
        data = rest
        while len(data) < need and more():
            pass
        return status_of(head), head_text, data[:need]
    if re.search(r"(?im)^transfer-encoding:\s*chunked", head_text):
        data = rest
        body = b""
        while True:
            while b"\r\n" not in data:
                if not more():
                    return status_of(head), head_text, body
            size_line, _, data = data.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(data) < size + 2:
                if not more():
                    return status_of(head), head_text, body + data
            body += data[:size]
            data = data[size + 2:]
            if size == 0:
                return status_of(head), head_text, body
    return status_of(head), head_text, rest


def form_token(belay, path="/app/sign-in", source=None):
    """GETs a form page and returns the double-submit form token its `belay_form` cookie carries."""
    status, headers, body = raw_request(belay.port, "GET", path, source=source)
    assert status == 200, f"GET {path} -> {status}: {body[:300]!r}"
    match = re.search(r"belay_form=([^;]+)", headers.get("set-cookie", ""))
    assert match, f"GET {path} set no belay_form cookie: {headers}"
    return match.group(1)
