"""One `belay serve` on a fresh data directory: start, stop, HTTP calls, and its database afterwards."""

import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import urllib.parse

from .common import BenchError, json_of, log, need
from .procs import PROCS, listening_ports


class Belay:
    """One `belay serve --port 0` on a fresh data directory, with an admin token.

    With `database` (a PostgreSQL URL) it is a replica on that database (`--database`); `token` reuses
    another replica's admin token instead of creating one (bench/replicas)."""

    def __init__(self, binary, workdir, name, extra_args=(), settings=None, database=None, token=None):
        self.binary = binary
        self.name = name
        self.database = database
        self.dir = os.path.join(workdir, name)
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.data)
        self.extra_args = list(extra_args) + (settings.belay_args if settings else [])
        self.proc = None
        self.port = None
        self.token = token
        self.log_path = os.path.join(self.dir, "belay.log")

    def start(self):
        store = ["--data", self.data] + (["--database", self.database] if self.database else [])
        if self.token is None:
            out = subprocess.run([self.binary, "admin", "create-token", "--role", "admin"] + store,
                                 capture_output=True, text=True, timeout=120)
            lines = [l.strip() for l in out.stdout.splitlines() if l.strip()]
            if out.returncode != 0 or not lines:
                raise BenchError("belay admin create-token failed (exit %d): %s %s"
                                 % (out.returncode, out.stdout[-500:], out.stderr[-500:]))
            self.token = lines[-1]
        argv = [self.binary, "serve", "--host", "127.0.0.1", "--port", "0"] + store + self.extra_args
        self.argv = argv
        self.proc = PROCS.start(argv, stdout=open(os.path.join(self.dir, "belay.stdout"), "wb"),
                                stderr=open(self.log_path, "wb"))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError("belay serve exited with status %s: %s" % (self.proc.returncode, self.tail()))
            if self.port is None:
                self.port = self._find_port()
            if self.port is not None:
                try:
                    status, _ = self.request("GET", "/api/v1/health", auth=False, timeout=2)
                    if status == 200:
                        log("[%s] belay serve (pid %d) is up on 127.0.0.1:%d (%s)"
                            % (self.name, self.proc.pid, self.port, " ".join(argv[1:])))
                        return self
                except OSError:
                    pass
            time.sleep(0.2)
        raise BenchError("belay did not become healthy within 120 s: %s" % self.tail())

    def _find_port(self):
        # --port 0: the log line is the normal way to learn the port; /proc covers a missing line.
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            m = re.search(r"listening on [^\s\"]*?:(\d+)", text)
            if m and int(m.group(1)) != 0:
                return int(m.group(1))
        except OSError:
            pass
        ports = listening_ports(self.proc.pid)
        return ports[0] if len(ports) == 1 else None

    def tail(self, n=20):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return "(no log)"

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.port

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def request(self, method, path, body=None, auth=True, timeout=60, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            h = {"Accept": "application/json"}
            if auth:
                h["Authorization"] = "Bearer " + self.token
            if body is not None:
                if not isinstance(body, (bytes, bytearray)):
                    body = json.dumps(body).encode()
                h["Content-Type"] = "application/json"
            h.update(headers or {})
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def api(self, method, path, body=None, expect=(200, 201), what=None):
        """JSON API call; a status outside `expect` is a BenchError quoting Belay's answer."""
        try:
            status, raw = self.request(method, path, body)
        except OSError as e:
            raise BenchError("%s %s: %r (belay %s)" % (method, path, e, "running" if self.alive() else "exited"))
        if status not in expect:
            raise BenchError("%s %s%s -> HTTP %d (expected %s): %s" % (
                method, path, " (%s)" % what if what else "", status, "/".join(map(str, expect)),
                raw[:600].decode("utf-8", "replace")))
        return json_of(raw, "%s %s -> HTTP %d" % (method, path, status)) if raw else None

    def stop(self):
        rc = PROCS.stop(self.proc, grace=10)
        if rc not in (0, None, -signal.SIGTERM):
            log("[%s] note: belay serve exited with status %s on SIGTERM" % (self.name, rc))
        return rc


def incident_count(belay):
    """Open incidents (IncidentList: {"incidents": [...]}); an HTTP failure is recorded, a wrong shape fails."""
    where = "GET /api/v1/incidents"
    try:
        status, raw = belay.request("GET", "/api/v1/incidents?status=open&limit=1000")
    except OSError as e:
        return {"error": repr(e)}
    if status != 200:
        return {"error": "HTTP %d" % status}
    return {"open": len(need(json_of(raw, where), "incidents", where, list))}


def db_counts(data_dir):
    """Counts read straight from Belay's belay.sqlite (read-only, after Belay has stopped).

    A cross-check of what the API says: GET /api/v1/signals returns at most 1000 signals and has no
    paging or total, so it cannot confirm 20,000 stored signals by itself."""
    path = os.path.join(data_dir, "belay.sqlite")
    out = {"path": path}
    try:
        db = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(path), uri=True, timeout=10)
    except sqlite3.Error as e:
        return {"error": repr(e)}
    try:
        def one(sql):
            try:
                return db.execute(sql).fetchone()[0]
            except sqlite3.Error as e:
                return "error: %s" % e
        out["signals"] = one("SELECT count(*) FROM signal")
        out["signals_firing"] = one("SELECT count(*) FROM signal WHERE status = 'firing'")
        out["signals_event_count_sum"] = one("SELECT sum(eventCount) FROM signal")
        out["incidents_with_signals"] = one("SELECT count(DISTINCT incidentId) FROM signal")
        out["signals_without_incident"] = one("SELECT count(*) FROM signal WHERE incidentId IS NULL")
        out["incidents"] = one("SELECT count(*) FROM incident")
        out["timeline_entries"] = one("SELECT count(*) FROM timeline_entry")
        out["timeline_entries_by_kind"] = dict(db.execute(
            "SELECT kind, count(*) FROM timeline_entry GROUP BY kind").fetchall())
        out["db_bytes"] = sum(os.path.getsize(path + x) for x in ("", "-wal") if os.path.exists(path + x))
    except sqlite3.Error as e:
        out["error"] = repr(e)
    finally:
        db.close()
    return out
