"""Starts a real `belay serve` for tests that check Belay against the real clients of its formats.

`belay` is a fresh server on a free port with an admin token. A test that needs serve flags marks itself
`@pytest.mark.belay_args("--egress-allow", "127.0.0.1/32", "--quiet-period", "2s")`; a test that needs more
than one server, or servers with different flags, asks for `start_belay` and calls `start_belay(*args)`."""
import functools
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest
import requests


@functools.lru_cache(maxsize=None)
def belay_binary():
    path = os.environ.get("BELAY_BIN")
    if path:
        return path
    bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(bin_dir, "belay")


class Belay:
    def __init__(self, binary, data, extra_args=()):
        self.binary = binary
        self.data = data
        self.args = list(extra_args)
        created = subprocess.run([binary, "admin", "create-token", "--role", "admin", "--data", data], check=True, capture_output=True, text=True)
        self.token = created.stdout.strip().splitlines()[-1]
        self.stderr_path = os.path.join(data, "serve.stderr")
        self.process = subprocess.Popen(
            [binary, "serve", "--port", "0", "--data", data, "--public-url", "https://status.example.com", *self.args],
            stdout=subprocess.DEVNULL, stderr=open(self.stderr_path, "w"))
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

    def request(self, method, path, body=None, auth=True, **kwargs):
        """One request, whatever its answer; `path` may also be a full URL."""
        headers = dict(kwargs.pop("headers", {}))
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        url = path if path.startswith("http") else self.url + path
        if body is not None:
            kwargs["json"] = body
        return requests.request(method, url, headers=headers, timeout=kwargs.pop("timeout", 10), **kwargs)

    def api(self, method, path, body=None):
        response = self.request(method, path, body)
        assert response.status_code < 300, f"{method} {path} -> {response.status_code} {response.text}"
        return response.json() if response.content else None

    def wait_for(self, path, text, timeout=2.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            body = requests.get(self.url + path, timeout=10).text
            if text in body:
                return body
            time.sleep(0.05)
        raise AssertionError(f"{text!r} did not appear on {path}")

    def log(self):
        return open(self.stderr_path).read()

    def stop(self, timeout=5):
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
    """Starts `belay serve` with extra arguments, each in its own data directory; all are stopped after the
    test. A failed test prints the end of each server's log."""
    started = []

    def start(*args):
        data = tempfile.mkdtemp(prefix="belay-external-")
        try:
            server = Belay(belay_binary(), data, args)
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
