"""Starts, kills and restarts real `belay serve` processes for the resilience tests (the fixtures are in conftest.py).

Unlike tests/external, a server here outlives one process: `BelayProcess` keeps its data directory and its
admin token across `kill()` (SIGKILL, no shutdown at all) and `start()` again on the same directory, and
writes each start's log to its own file outside the data directory (so a full data volume cannot swallow
the log that explains a failure).

The binary is `$BELAY_BIN`, else `.build/debug/belay` in this checkout. Nothing here skips: a missing
binary or tool fails the test with a message that says what to do."""
import functools
import os
import re
import signal
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0


@functools.lru_cache(maxsize=None)
def belay_binary():
    path = os.environ.get("BELAY_BIN") or str(REPO / ".build" / "debug" / "belay")
    # The binary may be relinked while tests start; give a rebuild a moment before failing.
    deadline = time.monotonic() + float(os.environ.get("BELAY_BIN_WAIT", "120"))
    while not (os.path.isfile(path) and os.access(path, os.X_OK)):
        if time.monotonic() > deadline:
            pytest.fail(f"no belay binary at {path}: build it (swift build) or set BELAY_BIN", pytrace=False)
        time.sleep(2)
    return path


def create_admin_token(binary, data, database=None):
    created = subprocess.run([binary, "admin", "create-token", "--role", "admin", "--data", data,
                              *(["--database", database] if database else [])],
                             capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, f"belay admin create-token failed ({created.returncode}): {created.stderr}"
    return created.stdout.strip().splitlines()[-1]


class BelayProcess:
    """One data directory and the `belay serve` currently running on it (if any)."""

    def __init__(self, binary, data, log_dir, args=(), database=None, token=None):
        """With `database` (a PostgreSQL URL) the server is a replica on it; `token` reuses another replica's."""
        self.binary = binary
        self.data = data
        self.log_dir = log_dir
        self.args = (["--database", database] if database else []) + list(args)
        self.token = token or create_admin_token(binary, data, database)
        self.process = None
        self.url = None
        self.starts = 0
        self.log_path = None

    def start(self):
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        self.log_path = os.path.join(self.log_dir, f"serve-{self.starts}.stderr")
        log = open(self.log_path, "w")
        # stdout carries the first-run setup link (see setup_code()).
        out = open(self.log_path[:-len(".stderr")] + ".stdout", "w")
        self.process = subprocess.Popen(
            [self.binary, "serve", "--port", "0", "--data", self.data, "--public-url", "https://status.example.com", *self.args],
            stdin=subprocess.DEVNULL, stdout=out, stderr=log, start_new_session=True)
        log.close()
        out.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log())
            if match:
                self.url = f"http://127.0.0.1:{match.group(1)}"
                return self
            if self.process.poll() is not None:
                raise AssertionError(f"belay serve exited with {self.process.returncode} on start {self.starts}:\n{self.log()[-4000:]}")
            time.sleep(0.05)
        raise AssertionError(f"belay serve did not print 'listening on' within {START_TIMEOUT} s:\n{self.log()[-4000:]}")

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def kill(self):
        """SIGKILL: no signal handler, no drain, no checkpoint."""
        if self.alive():
            os.kill(self.process.pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=30)

    def stop(self, timeout=30):
        """SIGTERM and wait for the graceful shutdown; a server that does not exit in time is killed and the test fails."""
        if not self.alive():
            return self.process.returncode if self.process else None
        self.process.terminate()
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"belay serve did not exit within {timeout} s of SIGTERM:\n{self.log()[-4000:]}")

    def log(self):
        return open(self.log_path, errors="replace").read() if self.log_path else ""

    def setup_code(self):
        """The one-time code of the setup link this start printed (only while Belay has no users)."""
        deadline = time.monotonic() + 10
        while True:
            # Printed once the listener is bound, which may be a moment after Hummingbird logs it.
            text = open(self.log_path[:-len(".stderr")] + ".stdout", errors="replace").read()
            match = re.search(r"/app/setup\?code=([^\s]+)", text)
            if match or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert match, f"no setup link on belay's stdout:\n{text[-2000:]}"
        return match.group(1)

    def all_logs(self):
        out = []
        for n in range(1, self.starts + 1):
            path = os.path.join(self.log_dir, f"serve-{n}.stderr")
            if os.path.exists(path):
                out.append(f"--- start {n} ---\n" + open(path, errors="replace").read())
        return "\n".join(out)

    def request(self, method, path, body=None, auth=True, session=None, **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            kwargs["json"] = body
        return (session or requests).request(method, self.url + path, headers=headers, timeout=kwargs.pop("timeout", 30), **kwargs)

    def api(self, method, path, body=None, expect=None):
        response = self.request(method, path, body)
        ok = response.status_code == expect if expect else response.status_code < 300
        assert ok, f"{method} {path} -> {response.status_code} {response.text[:2000]}"
        return response.json() if response.content else None

    def database_path(self):
        return find_database(self.data)


def find_database(data):
    """The SQLite file in a data directory (belay.sqlite today; any single *.sqlite / *.db file)."""
    candidates = sorted(p for p in Path(data).iterdir() if p.suffix in (".sqlite", ".db", ".sqlite3") and p.is_file())
    assert len(candidates) == 1, f"expected one SQLite file in {data}, found {[p.name for p in candidates]}"
    return str(candidates[0])


def integrity_check(path):
    """PRAGMA integrity_check and foreign_key_check on a database file; returns the problems (empty when fine)."""
    connection = sqlite3.connect(path, timeout=30)
    try:
        rows = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        problems = [] if rows == ["ok"] else [f"integrity_check: {r}" for r in rows]
        problems += [f"foreign_key_check: {tuple(r)}" for r in connection.execute("PRAGMA foreign_key_check")]
        return problems
    finally:
        connection.close()


def copy_database(data, destination):
    """Copies the database file with its -wal and -shm as they are on disk (for checking a crash image without
    letting sqlite3 recover the original)."""
    source = find_database(data)
    os.makedirs(destination, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(source + suffix):
            shutil.copy2(source + suffix, os.path.join(destination, os.path.basename(source) + suffix))
    return os.path.join(destination, os.path.basename(source))
