"""Starts a real `belay serve` for tests that check Belay against the real clients of its formats.

`belay` is a fresh server on a free port with an admin token. A test that needs serve flags marks itself
`@pytest.mark.belay_args("--egress-allow", "127.0.0.1/32", "--quiet-period", "2s")`; a test that needs more
than one server, or servers with different flags, asks for `start_belay` and calls `start_belay(*args)`.

`start_belay(*args, isolated=True)` runs the server in a network namespace of its own that has nothing but a
loopback interface, for tests that let generated data reach the server: whatever hosts a monitor is given, its
checks (and their DNS lookups) cannot leave the machine. `belay.request` and `belay.api` reach such a server
from inside its namespace, and `belay.inside(command)` wraps a command to run there (for clients in another
process).

`receiver` (an HTTP server recording what it is sent) and `smtp_relay` (an SMTP relay with STARTTLS and AUTH) are
the peers of the notification tests, from notify_peers.py."""
import concurrent.futures
import ctypes
import functools
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest
import requests

from notify_peers import receiver, smtp_relay  # noqa: F401  (fixtures: the notification tests' HTTP receiver and SMTP relay)


@functools.lru_cache(maxsize=None)
def belay_binary():
    path = os.environ.get("BELAY_BIN")
    if path:
        return path
    bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(bin_dir, "belay")


CLONE_NEWNET = 0x40000000


def postgres_database(always=False):
    """With BELAY_TEST_BACKEND=postgres (or `always`), a new empty database on BELAY_TEST_POSTGRES_URL's server,
    as a URL; else None."""
    if not always and os.environ.get("BELAY_TEST_BACKEND") != "postgres":
        return None
    if "BELAY_TEST_POSTGRES_URL" not in os.environ:
        pytest.fail("BELAY_TEST_POSTGRES_URL is not set: run through scripts/test or scripts/postgres run", pytrace=False)
    server = os.environ["BELAY_TEST_POSTGRES_URL"]
    name = f"belay_{os.getpid()}_{int(time.time() * 1000)}_{os.urandom(3).hex()}"
    subprocess.run(["psql", server, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    # Through the Unix socket when there is one: a server in a network namespace of its own still reaches it.
    url = os.environ.get("BELAY_TEST_POSTGRES_SOCKET_URL") or server
    return re.sub(r"/[^/?]*\?", f"/{name}?", url, count=1)


class Belay:
    def __init__(self, binary, data, extra_args=(), isolated=False, env=None, database=None):
        self.binary = binary
        self.data = data
        # The same tests run on both backends: SQLite in `data`, or PostgreSQL (`database`, or a fresh one when
        # the suite asks for it).
        self.database = database or postgres_database()
        if self.database:
            extra_args = ["--database", self.database, *extra_args]
        self.args = list(extra_args)
        self.isolated = isolated
        self._inside = None
        self.token_id, self.token = self.create_token("admin")
        self.stderr_path = os.path.join(data, "serve.stderr")
        command = [binary, "serve", "--port", "0", "--data", data, "--public-url", "https://status.example.com", *self.args]
        if isolated:
            # unshare and sh exec in place, so the process is the server itself, in a namespace whose only
            # interface is loopback (brought up first: a new namespace starts with it down).
            command = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', *command]
        # `env` adds to (never replaces) this process's environment, for settings Belay reads only from there.
        environment = {**os.environ, **env} if env else None
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(self.stderr_path, "w"), env=environment)
        if isolated:
            self.netns = f"/proc/{self.process.pid}/ns/net"
            self._inside = concurrent.futures.ThreadPoolExecutor(max_workers=1, initializer=self._enter_namespace)
        deadline = time.time() + 30
        while time.time() < deadline:
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", open(self.stderr_path).read())
            if match:
                self.url = f"http://127.0.0.1:{match.group(1)}"
                return
            if self.process.poll() is not None:
                raise RuntimeError("belay serve exited: " + open(self.stderr_path).read())
            time.sleep(0.05)
        raise RuntimeError("belay serve did not start")

    def create_token(self, role, name=None):
        """`belay admin create-token` on the data directory: (id, secret)."""
        command = [self.binary, "admin", "create-token", "--role", role, "--data", self.data, *(["--name", name] if name else [])]
        if self.database:
            command += ["--database", self.database]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()
        return re.search(r"\(id (\w+)\)", output[0]).group(1), output[-1]

    def _enter_namespace(self):
        """Moves the calling thread (only it: network namespaces are per thread) into the server's."""
        libc = ctypes.CDLL(None, use_errno=True)
        descriptor = os.open(self.netns, os.O_RDONLY)
        try:
            if libc.setns(descriptor, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns into the server's network namespace")
        finally:
            os.close(descriptor)

    def inside(self, command):
        """`command` run inside the server's network namespace (as is for a server that is not isolated)."""
        return ["nsenter", f"--net={self.netns}", "--", *command] if self.isolated else list(command)

    def _http(self, method, url, **kwargs):
        if self._inside is None:
            return requests.request(method, url, **kwargs)
        return self._inside.submit(requests.request, method, url, **kwargs).result()

    def request(self, method, path, body=None, auth=True, **kwargs):
        """One request, whatever its answer; `path` may also be a full URL."""
        headers = dict(kwargs.pop("headers", {}))
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        url = path if path.startswith("http") else self.url + path
        if body is not None:
            kwargs["json"] = body
        return self._http(method, url, headers=headers, timeout=kwargs.pop("timeout", 10), **kwargs)

    def api(self, method, path, body=None):
        response = self.request(method, path, body)
        assert response.status_code < 300, f"{method} {path} -> {response.status_code} {response.text}"
        return response.json() if response.content else None

    def wait_for(self, path, text, timeout=2.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            body = self._http("GET", self.url + path, timeout=10).text
            if text in body:
                return body
            time.sleep(0.05)
        raise AssertionError(f"{text!r} did not appear on {path}")

    def log(self):
        return open(self.stderr_path).read()

    def stop(self, timeout=5):
        if self._inside is not None:
            self._inside.shutdown()
        self.process.terminate()
        self.process.wait(timeout=timeout)


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
    """Starts `belay serve` with extra arguments (`isolated=True`: in a loopback-only network namespace; `env`: extra
    environment variables, such as BELAY_SMTP_PASSWORD; `database`: a PostgreSQL URL, so that several servers are
    replicas on one database), each in its own data directory; all are stopped after the test. A failed test
    prints the end of each server's log."""
    started = []

    def start(*args, isolated=False, env=None, database=None):
        data = tempfile.mkdtemp(prefix="belay-external-")
        try:
            server = Belay(belay_binary(), data, args, isolated=isolated, env=env, database=database)
        except BaseException:
            shutil.rmtree(data, ignore_errors=True)
            raise
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            if getattr(request.node, "belay_call_failed", False):
                print(f"--- belay serve {' '.join(server.args)} ({server.url}) log, last 4000 characters:\n{server.log()[-4000:]}")
            try:
                server.stop()
            except Exception:
                server.process.kill()
                server.process.wait()
            shutil.rmtree(server.data, ignore_errors=True)


@pytest.fixture
def belay(request, start_belay):
    marker = request.node.get_closest_marker("belay_args")
    return start_belay(*(marker.args if marker else ()))
