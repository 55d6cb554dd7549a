#!/usr/bin/env python3
"""bench/detect.py - the Detect benchmarks (run it through `bash bench/detect`; see bench/README.md).

Sections (each starts its own fresh `belay serve --port 0 --data TMPDIR`):

  ingest     Alertmanager webhook throughput (wrk, N connections, 2xx only) under the durable
             contract, and in the same run the raw SQLite ceiling (Python sqlite3, WAL,
             synchronous=FULL, one INSERT per transaction) on the same filesystem; ratio.
  latency    open-loop load at a fixed rate (default 500 events/s): acknowledgement latency
             measured from each request's *scheduled* send time (p50/p99/max).
  bulk       one Alertmanager notification carrying 20,000 alerts: time to 2xx, then the
             signals are counted through the API.
  isolation  the ingest throughput run twice (fresh Belay each time): alone, and while wrk
             hammers the public status page `/`; ratio.
  monitors   10,000 HTTP monitors against a private nginx on 127.0.0.1: Belay's CPU and RSS
             over the steady window, the scheduler's lateness, and list-API round trips.

Python standard library plus aiohttp (installed by bench/detect when missing).
Settings come from BENCH_* environment variables (bench/detect documents them).
"""

import argparse
import asyncio
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)
from status_page import parse_wrk  # noqa: E402  (same wrk parsing as bench/status-page)

LUA = os.path.join(BENCH_DIR, "detect_ingest.lua")
SECTIONS = ["ingest", "latency", "bulk", "isolation", "monitors"]

GOALS = {
    "ingest_ratio": 0.5,          # Belay accepted/s over the SQLite ceiling rows/s
    "latency_p99_ms": 25.0,       # at 500 events/s, from the scheduled send time
    "bulk_seconds": 2.0,          # 20,000 alerts in one notification -> 2xx
    "isolation_ratio": 0.5,       # ingest with wrk on / over ingest alone
    "monitor_cpu_cores": 0.5,     # 10,000 monitors at 30 s
    "monitor_rss_mb": 300.0,
    "monitor_lateness_p99_ms": 1000.0,
    "list_p99_ms": 100.0,         # GET /api/v1/monitors?limit=50 (first and a later page)
}


# --------------------------------------------------------------------------- settings

def env(name, default):
    v = os.environ.get(name)
    return default if v is None or v == "" else v


def seconds(text):
    """'10s', '2m', '500ms', '10' -> seconds (float)."""
    m = re.fullmatch(r"\s*([\d.]+)\s*(ms|s|m|h)?\s*", str(text))
    if not m:
        raise SystemExit("detect.py: cannot parse duration %r" % text)
    mult = {"ms": 0.001, "s": 1.0, None: 1.0, "m": 60.0, "h": 3600.0}[m.group(2)]
    return float(m.group(1)) * mult


class Settings:
    def __init__(self):
        self.duration = seconds(env("BENCH_DURATION", "10s"))
        self.connections = int(env("BENCH_CONNECTIONS", "64"))
        self.wrk_threads = int(env("BENCH_WRK_THREADS", "1"))
        self.warmup = seconds(env("BENCH_WARMUP", "2s"))
        self.ingest_mode = env("BENCH_INGEST_MODE", "distinct")
        self.repeat_pool = int(env("BENCH_REPEAT_POOL", "1000"))
        self.ceiling_seconds = seconds(env("BENCH_CEILING_SECONDS", "5s"))
        self.rate = float(env("BENCH_RATE", "500"))
        self.latency_seconds = seconds(env("BENCH_LATENCY_SECONDS", "20s"))
        self.bulk_alerts = int(env("BENCH_BULK_ALERTS", "20000"))
        self.status_components = int(env("BENCH_STATUS_COMPONENTS", "20"))
        self.status_wrk_threads = int(env("BENCH_STATUS_WRK_THREADS", "1"))
        self.status_wrk_connections = int(env("BENCH_STATUS_WRK_CONNECTIONS", "64"))
        self.monitors = int(env("BENCH_MONITORS", "10000"))
        self.monitor_interval = int(env("BENCH_MONITOR_INTERVAL", "30"))
        self.monitor_timeout = int(env("BENCH_MONITOR_TIMEOUT", "5"))
        self.monitor_run = seconds(env("BENCH_MONITOR_RUN", "150s"))
        self.monitor_settle = seconds(env("BENCH_MONITOR_SETTLE", str(self.monitor_interval)))
        self.create_concurrency = int(env("BENCH_CREATE_CONCURRENCY", "32"))
        self.page_requests = int(env("BENCH_PAGE_REQUESTS", "50"))
        self.belay_args = env("BENCH_BELAY_ARGS", "").split()
        self.keep_tmp = env("BENCH_KEEP_TMP", "0") == "1"
        if self.ingest_mode not in ("distinct", "repeat"):
            raise SystemExit("BENCH_INGEST_MODE must be distinct or repeat")
        if self.wrk_threads > self.connections:
            raise SystemExit("BENCH_WRK_THREADS must be <= BENCH_CONNECTIONS")

    def as_dict(self):
        return {k: v for k, v in vars(self).items()}


def log(msg):
    print("[detect] %s" % msg, file=sys.stderr, flush=True)


class BenchError(Exception):
    """A section could not complete; the message says what Belay (or a tool) did."""


# --------------------------------------------------------------------------- payloads

STARTS_AT = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def make_alert(fp, starts_at=STARTS_AT):
    """One firing Alertmanager alert whose fingerprint, instance and summary carry `fp`."""
    return {
        "status": "firing",
        "labels": {"alertname": "BenchHighErrorRate", "team": "bench", "severity": "critical",
                   "job": "bench-api", "instance": "bench-%s.internal:9100" % fp, "env": "bench"},
        "annotations": {"summary": "Error rate above 5%% on bench-%s" % fp,
                        "description": "More than 5% of requests to bench-api on this instance failed "
                                       "during the last 5 minutes.",
                        "runbook_url": "https://runbooks.example/bench-api/high-error-rate"},
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.bench:9090/graph?g0.expr=job%3A5xx_ratio%3Arate5m+%3E+0.05",
        "fingerprint": fp,
    }


def make_notification(alerts):
    """An Alertmanager v4 webhook body around `alerts`."""
    common = {"alertname": "BenchHighErrorRate", "team": "bench", "severity": "critical", "job": "bench-api",
              "env": "bench"}
    return {
        "version": "4",
        "groupKey": "{}/{team=\"bench\"}:{alertname=\"BenchHighErrorRate\"}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "belay",
        "groupLabels": {"alertname": "BenchHighErrorRate"},
        "commonLabels": common if len(alerts) > 0 else {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.bench:9093",
        "alerts": alerts,
    }


def single_body(fp):
    return json.dumps(make_notification([make_alert(fp)]), separators=(",", ":")).encode()


def write_template(path):
    """The one-alert body with @@FP@@ for the fingerprint, for detect_ingest.lua."""
    with open(path, "wb") as f:
        f.write(single_body("@@FP@@"))
    return len(single_body("0" * 16))


def fingerprint(run, n):
    return "%02x%02x%012x" % (run % 256, 0xfe, n)


# --------------------------------------------------------------------------- processes

class Procs:
    """Every child this script starts, so each one is stopped on exit (by its pid)."""

    def __init__(self):
        self.live = []

    def start(self, argv, stdout, stderr, **kw):
        p = subprocess.Popen(argv, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, **kw)
        self.live.append(p)
        return p

    def stop(self, p, grace=5.0):
        if p is None:
            return None
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            except ProcessLookupError:
                pass
        if p in self.live:
            self.live.remove(p)
        return p.returncode

    def stop_all(self):
        for p in list(reversed(self.live)):
            self.stop(p)


PROCS = Procs()


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening_ports(pid):
    """TCP ports in LISTEN state on sockets the process holds (from /proc, no tools needed)."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            m = re.fullmatch(r"socket:\[(\d+)\]", target)
            if m:
                inodes.add(m.group(1))
    except OSError:
        return []
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if len(parts) > 9 and parts[3] == "0A" and parts[9] in inodes:
                        ports.append(int(parts[1].rsplit(":", 1)[1], 16))
        except OSError:
            continue
    return ports


class Belay:
    """One `belay serve --port 0` on a fresh data directory, with an admin token."""

    def __init__(self, binary, workdir, name, extra_args=(), settings=None):
        self.binary = binary
        self.name = name
        self.dir = os.path.join(workdir, name)
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.data)
        self.extra_args = list(extra_args) + (settings.belay_args if settings else [])
        self.proc = None
        self.port = None
        self.token = None
        self.log_path = os.path.join(self.dir, "belay.log")

    def start(self):
        out = subprocess.run([self.binary, "admin", "create-token", "--role", "admin", "--data", self.data],
                             capture_output=True, text=True, timeout=120)
        lines = [l.strip() for l in out.stdout.splitlines() if l.strip()]
        if out.returncode != 0 or not lines:
            raise BenchError("belay admin create-token failed (exit %d): %s %s"
                             % (out.returncode, out.stdout[-500:], out.stderr[-500:]))
        self.token = lines[-1]
        argv = [self.binary, "serve", "--host", "127.0.0.1", "--port", "0", "--data", self.data] + self.extra_args
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
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            raise BenchError("%s %s -> HTTP %d with a body that is not JSON: %r" % (method, path, status, raw[:300]))

    def stop(self):
        rc = PROCS.stop(self.proc, grace=10)
        if rc not in (0, None, -signal.SIGTERM):
            log("[%s] note: belay serve exited with status %s on SIGTERM" % (self.name, rc))
        return rc


def proc_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime is field 14, stime field 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return None


def proc_threads(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return None


# --------------------------------------------------------------------------- setup through the API

def setup_ingestion(belay, component="bench-api"):
    """A component and an alertmanager integration routing everything there; returns the ingest path."""
    belay.api("POST", "/api/v1/components",
              {"slug": component, "name": "Bench API", "description": "Target of the Detect benchmark's alerts."},
              expect=(201,))
    integ = {
        "name": "bench-alertmanager",
        "kind": "alertmanager",
        "routing": {"rules": [{"match": {"team": "bench"}, "components": [component], "severity": "sev2"}],
                    "defaultComponents": [component], "defaultSeverity": "sev2"},
        "publicIncidents": False,
    }
    doc = belay.api("POST", "/api/v1/integrations", integ, expect=(201,), what="docs/detect.md: 201 with key")
    key = doc.get("key") if isinstance(doc, dict) else None
    if not isinstance(key, str) or not re.fullmatch(r"[0-9a-f]{32}", key):
        raise BenchError("POST /api/v1/integrations answered 201 but 'key' is not 32 hex characters: %r"
                         % (json.dumps(doc)[:400]))
    path = "/api/v1/integrations/%s/alertmanager" % key
    am_url = (doc.get("urls") or {}).get("alertmanager") if isinstance(doc.get("urls"), dict) else None
    if am_url and not am_url.endswith(path):
        log("[%s] note: urls.alertmanager is %s (expected to end with %s)" % (belay.name, am_url, path))
    # One real delivery, to check the contract before loading it.
    status, raw = belay.request("POST", path, single_body(fingerprint(255, 0)), auth=False)
    if status // 100 != 2:
        raise BenchError("first Alertmanager delivery to %s -> HTTP %d: %s"
                         % (path, status, raw[:400].decode("utf-8", "replace")))
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = raw[:200].decode("utf-8", "replace")
    if status != 200 or not isinstance(answer, dict) or answer.get("accepted") != 1:
        log("[%s] note: docs say 200 {\"status\":\"success\",\"accepted\":1}; got HTTP %d %s"
            % (belay.name, status, json.dumps(answer)[:200]))
    return {"path": path, "key_prefix": key[:6], "integration": doc.get("integration"),
            "first_delivery": {"status": status, "body": answer}}


# --------------------------------------------------------------------------- wrk

def run_ingest_wrk(belay, path, settings, workdir, run_id, duration, tag):
    """wrk -tT -cC -dD with detect_ingest.lua; returns the parsed counters."""
    tpl = os.path.join(workdir, "alert-template.json")
    body_bytes = write_template(tpl)
    url = belay.base + path
    argv = ["wrk", "-t%d" % settings.wrk_threads, "-c%d" % settings.connections, "-d%ds" % max(1, round(duration)),
            "--timeout", "10s", "--latency", "-s", LUA, url, "--", tpl, str(run_id), settings.ingest_mode,
            str(settings.repeat_pool)]
    out_path = os.path.join(workdir, "wrk-%s.txt" % tag)
    cpu0, t0 = proc_cpu_seconds(belay.proc.pid), time.monotonic()
    with open(out_path, "wb") as out:
        p = PROCS.start(argv, stdout=out, stderr=subprocess.STDOUT)
        p.wait()
        PROCS.stop(p)
    try:
        belay_cores = (proc_cpu_seconds(belay.proc.pid) - cpu0) / (time.monotonic() - t0)
    except OSError:
        belay_cores = None
    with open(out_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    m = re.search(r"^DETECT-WRK (\{.*\})\s*$", text, re.M)
    if p.returncode != 0 or not m:
        raise BenchError("wrk (%s) failed with status %s:\n%s" % (tag, p.returncode, text[-2000:]))
    c = json.loads(m.group(1))
    secs = c["duration_us"] / 1e6
    c.update({
        "seconds": round(secs, 3),
        "accepted_per_sec": round(c["ok"] / secs, 1) if secs else None,
        "requests_per_sec": round(c["requests"] / secs, 1) if secs else None,
        "p50_ms": round(c["p50_us"] / 1000.0, 3), "p99_ms": round(c["p99_us"] / 1000.0, 3),
        "max_ms": round(c["max_us"] / 1000.0, 3),
        "body_bytes": body_bytes,
        "belay_cpu_cores": round(belay_cores, 3) if belay_cores is not None else None,
        "command": " ".join(argv[:-5] + ["URL", "--", "TEMPLATE", str(run_id), settings.ingest_mode,
                                         str(settings.repeat_pool)]),
        "raw": text,
    })
    return c


def ingest_once(belay, path, settings, workdir, run_id, tag):
    """Warm-up (not counted) then the measured wrk run."""
    warm = None
    if settings.warmup > 0:
        warm = run_ingest_wrk(belay, path, settings, workdir, run_id + 100, settings.warmup, tag + "-warmup")
    r = run_ingest_wrk(belay, path, settings, workdir, run_id, settings.duration, tag)
    r["warmup_ok"] = warm["ok"] if warm else 0
    if not belay.alive():
        raise BenchError("belay serve died during the ingest run: %s" % belay.tail())
    return r


def describe_ingest(r):
    s = "%.1f accepted/s (%d x 2xx in %.1f s, %d requests" % (r["accepted_per_sec"], r["ok"], r["seconds"],
                                                              r["requests"])
    bad = []
    if r["s503"]:
        bad.append("%d x 503 (%d with Retry-After)" % (r["s503"], r["retry_after"]))
    if r["s4xx"]:
        bad.append("%d x 4xx" % r["s4xx"])
    if r["s5xx"]:
        bad.append("%d x other 5xx" % r["s5xx"])
    sock = r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
    if sock:
        bad.append("%d socket errors/timeouts" % sock)
    return s + (", " + ", ".join(bad) if bad else "") + "; wrk p50 %.2f ms p99 %.2f ms; Belay CPU %s cores)" % (
        r["p50_ms"], r["p99_ms"], fmt(r.get("belay_cpu_cores"), "%.2f"))


# --------------------------------------------------------------------------- SQLite ceiling

def sqlite_ceiling(directory, seconds_, row_bytes):
    """Rows/s for one INSERT per transaction, WAL, synchronous=FULL, in `directory`."""
    path = os.path.join(directory, "ceiling.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    jm = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    db.execute("PRAGMA synchronous=FULL")
    sync = db.execute("PRAGMA synchronous").fetchone()[0]
    db.execute("""CREATE TABLE signal (
        id INTEGER PRIMARY KEY, integration_id INTEGER NOT NULL, dedup_key TEXT NOT NULL, status TEXT NOT NULL,
        summary TEXT NOT NULL, labels TEXT NOT NULL, payload TEXT NOT NULL, received_at REAL NOT NULL,
        UNIQUE (integration_id, dedup_key))""")
    payload = single_body("0" * 16).decode()
    labels = json.dumps(make_alert("0" * 16)["labels"])
    filler = max(0, row_bytes - len(payload))
    payload = payload + " " * filler
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds_
    while True:
        n += 1
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO signal (integration_id, dedup_key, status, summary, labels, payload, received_at) "
                   "VALUES (1, ?, 'firing', ?, ?, ?, ?)",
                   ("%016x" % n, "Error rate above 5%% on bench-%016x" % n, labels, payload, time.time()))
        db.execute("COMMIT")
        now = time.perf_counter()
        if now >= deadline:
            break
    elapsed = now - t0
    db.close()
    size = sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return {"rows": n, "seconds": round(elapsed, 3), "rows_per_sec": round(n / elapsed, 1),
            "journal_mode": jm, "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(sync, sync),
            "row_payload_bytes": len(payload), "db_bytes": size, "sqlite_version": sqlite3.sqlite_version,
            "directory": directory, "filesystem": fs_type(directory)}


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


def fs_type(path):
    try:
        return subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True).stdout.strip()
    except OSError:
        return None


# --------------------------------------------------------------------------- API helpers

def find_list(doc, keys=("signals", "items", "monitors", "incidents", "data", "results")):
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for k in keys:
            if isinstance(doc.get(k), list):
                return doc[k]
    return None


def find_total(doc):
    if isinstance(doc, dict):
        for k in ("total", "count", "totalCount"):
            if isinstance(doc.get(k), int):
                return doc[k]
    return None


def page_through(belay, path, params, limit_candidates=(1000, 500, 100, 50), max_pages=2000):
    """Follow `nextAfter` pages; returns (items, notes).  Tries big pages first."""
    notes = []
    for limit in limit_candidates:
        q = dict(params, limit=str(limit))
        status, raw = belay.request("GET", path + "?" + urllib.parse.urlencode(q))
        if status == 400:
            notes.append("limit=%d -> 400 %s" % (limit, raw[:160].decode("utf-8", "replace")))
            continue
        break
    else:
        status, raw = belay.request("GET", path + "?" + urllib.parse.urlencode(params))
        limit = None
    if status != 200:
        raise BenchError("GET %s?%s -> HTTP %d: %s" % (path, urllib.parse.urlencode(params), status,
                                                       raw[:400].decode("utf-8", "replace")))
    items = []
    pages = 0
    total = None
    while True:
        doc = json.loads(raw)
        lst = find_list(doc)
        if lst is None:
            raise BenchError("GET %s: no list in the answer: %s" % (path, raw[:300].decode("utf-8", "replace")))
        items.extend(lst)
        total = total if total is not None else find_total(doc)
        pages += 1
        nxt = doc.get("nextAfter") if isinstance(doc, dict) else None
        if nxt is None or not lst or pages >= max_pages:
            if nxt is not None and pages >= max_pages:
                notes.append("stopped after %d pages" % pages)
            break
        q = dict(params, after=str(nxt))
        if limit:
            q["limit"] = str(limit)
        status, raw = belay.request("GET", path + "?" + urllib.parse.urlencode(q))
        if status != 200:
            raise BenchError("GET %s?%s -> HTTP %d: %s" % (path, urllib.parse.urlencode(q), status,
                                                           raw[:300].decode("utf-8", "replace")))
    if pages == 1 and limit and len(items) >= limit:
        notes.append("first page was full (%d) and had no nextAfter: the count may be capped" % len(items))
    return items, {"pages": pages, "limit": limit, "total_field": total, "notes": notes}


def pct(values, p):
    """Nearest-rank percentile of a list (ms or whatever unit it holds)."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


# --------------------------------------------------------------------------- sections

def section_ingest(settings, binary, workdir):
    b = Belay(binary, workdir, "ingest", settings=settings).start()
    try:
        setup = setup_ingestion(b)
        log("[ingest] wrk -t%d -c%d -d%.0fs POST %s (%s fingerprints, after a %.0fs warm-up)"
            % (settings.wrk_threads, settings.connections, settings.duration, "/api/v1/integrations/KEY/alertmanager",
               settings.ingest_mode, settings.warmup))
        r = ingest_once(b, setup["path"], settings, b.dir, 1, "ingest")
        log("[ingest] Belay: " + describe_ingest(r))
        incidents = incident_count(b)
    finally:
        b.stop()
    stored = db_counts(b.data)
    # Every 2xx must be stored (durable contract); requests cut off when wrk stopped may be stored too.
    acked = r["ok"] + r["warmup_ok"] + 1
    if settings.ingest_mode == "distinct" and isinstance(stored.get("signals"), int):
        stored["acknowledged_total"] = acked
        stored["all_acknowledged_stored"] = stored["signals"] >= acked
        log("[ingest] stored: %d signals (%d acknowledged incl. warm-up), %s incident(s), %s timeline entries"
            % (stored["signals"], acked, stored.get("incidents"), stored.get("timeline_entries")))
        if stored["signals"] < acked:
            log("[ingest] WARNING: fewer signals stored than 2xx answers given")
    log("[ingest] SQLite ceiling: %.0fs of one INSERT per transaction (WAL, synchronous=FULL) in %s"
        % (settings.ceiling_seconds, b.dir))
    c = sqlite_ceiling(b.dir, settings.ceiling_seconds, r["body_bytes"])
    log("[ingest] ceiling: %.1f rows/s (%d rows, %s, %s)" % (c["rows_per_sec"], c["rows"], c["journal_mode"],
                                                             c["synchronous"]))
    ratio = r["accepted_per_sec"] / c["rows_per_sec"] if c["rows_per_sec"] else None
    return {"belay": r, "ceiling": c, "ratio": round(ratio, 4) if ratio is not None else None,
            "goal_ratio": GOALS["ingest_ratio"],
            "meets_goal": ratio is not None and ratio >= GOALS["ingest_ratio"] and r["ok"] > 0
            and stored.get("all_acknowledged_stored", True),
            "incidents_after": incidents, "stored": stored, "setup": setup, "data_filesystem": fs_type(b.data)}


def incident_count(belay):
    try:
        status, raw = belay.request("GET", "/api/v1/incidents?status=open&limit=1000")
        if status != 200:
            return {"error": "HTTP %d" % status}
        lst = find_list(json.loads(raw))
        return {"open": len(lst) if lst is not None else None}
    except (OSError, ValueError) as e:
        return {"error": repr(e)}


async def _open_loop(url, rate, duration, run_id, warmup):
    import aiohttp

    loop = asyncio.get_running_loop()
    n_warm = int(rate * warmup)
    n = int(rate * duration)
    bodies = [single_body(fingerprint(run_id, i)) for i in range(n_warm + n)]
    lat = [None] * (n_warm + n)
    lag = [None] * (n_warm + n)
    codes = {}
    errors = {}
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    headers = {"Content-Type": "application/json"}
    inflight_max = 0
    inflight = 0

    async def send(i, scheduled):
        nonlocal inflight, inflight_max
        inflight += 1
        inflight_max = max(inflight_max, inflight)
        lag[i] = loop.time() - scheduled
        try:
            async with session.post(url, data=bodies[i], headers=headers) as resp:
                await resp.read()
                done_at = loop.time()
                if i >= n_warm:
                    codes[resp.status] = codes.get(resp.status, 0) + 1
                if 200 <= resp.status < 300:
                    lat[i] = (done_at - scheduled) * 1000.0
        except Exception as e:  # noqa: BLE001 - count every failure kind
            if i >= n_warm:
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
        finally:
            inflight -= 1

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # Open a handful of connections first so the first scheduled sends do not all connect.
        async def ping():
            async with session.get(url.split("/api/")[0] + "/api/v1/health") as r:
                await r.read()
        await asyncio.gather(*[ping() for _ in range(8)], return_exceptions=True)
        tasks = []
        t0 = loop.time() + 0.2
        for i in range(n_warm + n):
            scheduled = t0 + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(i, scheduled)))
        t_last_sched = loop.time()
        await asyncio.gather(*tasks)
        t_end = loop.time()
    ok_lat = [x for x in lat[n_warm:] if x is not None]
    lags = [x * 1000.0 for x in lag[n_warm:] if x is not None]
    return {
        "requests": n, "warmup_requests": n_warm,
        "ok": len(ok_lat),
        "status_counts": {str(k): v for k, v in sorted(codes.items())},
        "non_2xx": sum(v for k, v in codes.items() if not 200 <= k < 300),
        "client_errors": errors,
        "p50_ms": round(pct(ok_lat, 50), 3) if ok_lat else None,
        "p90_ms": round(pct(ok_lat, 90), 3) if ok_lat else None,
        "p99_ms": round(pct(ok_lat, 99), 3) if ok_lat else None,
        "p999_ms": round(pct(ok_lat, 99.9), 3) if ok_lat else None,
        "max_ms": round(max(ok_lat), 3) if ok_lat else None,
        "mean_ms": round(statistics.fmean(ok_lat), 3) if ok_lat else None,
        "generator_lag_p99_ms": round(pct(lags, 99), 3) if lags else None,
        "generator_lag_max_ms": round(max(lags), 3) if lags else None,
        "max_in_flight": inflight_max,
        "achieved_send_rate": round((n_warm + n) / (t_last_sched - t0), 1) if t_last_sched > t0 else None,
        "drain_seconds": round(t_end - t_last_sched, 3),
    }


def section_latency(settings, binary, workdir):
    b = Belay(binary, workdir, "latency", settings=settings).start()
    try:
        setup = setup_ingestion(b)
        log("[latency] open loop: %.0f events/s for %.0fs (after %.0fs at the same rate, not counted),"
            " latency from the scheduled send time" % (settings.rate, settings.latency_seconds, settings.warmup))
        r = asyncio.run(_open_loop(b.base + setup["path"], settings.rate, settings.latency_seconds, 2,
                                   settings.warmup))
        if not b.alive():
            raise BenchError("belay serve died during the latency run: %s" % b.tail())
        incidents = incident_count(b)
    finally:
        b.stop()
    log("[latency] %d sent, %d x 2xx; p50 %s ms, p99 %s ms, max %s ms; non-2xx %d %s; client errors %s; "
        "generator lag p99 %s ms" % (r["requests"], r["ok"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["non_2xx"],
                                     r["status_counts"], r["client_errors"] or "none", r["generator_lag_p99_ms"]))
    meets = (r["p99_ms"] is not None and r["p99_ms"] < GOALS["latency_p99_ms"] and r["non_2xx"] == 0
             and not r["client_errors"])
    return {"rate": settings.rate, "seconds": settings.latency_seconds, **r,
            "goal_p99_ms": GOALS["latency_p99_ms"], "meets_goal": meets, "incidents_after": incidents,
            "note": "latency = response fully read - scheduled send time (open loop, aiohttp, loopback); "
                    "generator_lag shows how late the client itself started sends"}


def section_bulk(settings, binary, workdir):
    # One delivery is capped at --max-alerts-per-delivery (1,000 by default); this section measures the
    # cost of one far larger notification, so it raises the cap for its own server.
    b = Belay(binary, workdir, "bulk", extra_args=["--max-alerts-per-delivery", str(max(1000, settings.bulk_alerts))],
              settings=settings).start()
    try:
        setup = setup_ingestion(b)
        n = settings.bulk_alerts
        body = json.dumps(make_notification([make_alert(fingerprint(3, i)) for i in range(n)]),
                          separators=(",", ":")).encode()
        log("[bulk] one Alertmanager notification with %d alerts, %.2f MB" % (n, len(body) / 1e6))
        conn = http.client.HTTPConnection("127.0.0.1", b.port, timeout=300)
        t0 = time.perf_counter()
        conn.request("POST", setup["path"], body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        t_status = time.perf_counter()
        raw = resp.read()
        t1 = time.perf_counter()
        conn.close()
        status = resp.status
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = raw[:300].decode("utf-8", "replace")
        log("[bulk] HTTP %d after %.3f s: %s" % (status, t1 - t0, json.dumps(answer)[:200]))
        r = {"alerts": n, "body_bytes": len(body), "status": status, "seconds": round(t1 - t0, 4),
             "seconds_to_status": round(t_status - t0, 4), "answer": answer,
             "goal_seconds": GOALS["bulk_seconds"]}
        if status // 100 == 2:
            t2 = time.perf_counter()
            items, info = page_through(b, "/api/v1/signals", {"status": "firing"}, limit_candidates=(1000, 100))
            t3 = time.perf_counter()
            ours = sum(1 for s in items if isinstance(s, dict)
                       and str(s.get("dedupKey", s.get("fingerprint", ""))).startswith("03fe"))
            r["verify"] = {"firing_signals_listed": len(items), "bench_signals_listed": ours, **info,
                           "seconds": round(t3 - t2, 3)}
            if ours == 0 and items:
                r["verify"]["sample"] = items[0]
            r["incidents_after"] = incident_count(b)
            log("[bulk] GET /api/v1/signals?status=firing: %d firing signals listed (%d from this payload) in %d "
                "page(s), %.2f s%s" % (len(items), ours, info["pages"], t3 - t2,
                                       "; " + "; ".join(info["notes"]) if info["notes"] else ""))
            expected = n + 1  # + the check delivery made by setup_ingestion
            r["verify"]["expected_firing"] = expected
            r["verify"]["api_shows_expected"] = (info["total_field"] or len(items)) >= expected
            r["verify"]["api_listed_min"] = len(items) >= min(expected, info["limit"] or expected)
        r["accepted_matches"] = isinstance(answer, dict) and answer.get("accepted") == n
        if not b.alive():
            raise BenchError("belay serve died after the bulk request: %s" % b.tail())
    finally:
        b.stop()
    if status // 100 == 2:
        stored = db_counts(b.data)
        r["stored"] = stored
        firing = stored.get("signals_firing")
        r["verify"]["stored_firing"] = firing
        r["verify"]["complete"] = isinstance(firing, int) and firing >= n + 1
        log("[bulk] in belay.sqlite after stopping Belay: %s firing signals (expected %d), %s incident(s), "
            "%s timeline entries%s" % (firing, n + 1, stored.get("incidents"), stored.get("timeline_entries"),
                                         "; " + stored["error"] if stored.get("error") else ""))
    r["meets_goal"] = status // 100 == 2 and r["seconds"] < GOALS["bulk_seconds"] and \
        bool(r.get("verify", {}).get("complete")) and r["accepted_matches"]
    return r


def seed_components(belay, n):
    for i in range(n):
        belay.api("POST", "/api/v1/components",
                  {"slug": "status-%02d" % i, "name": "Service %02d" % i, "group": "Group %d" % (i % 4),
                   "description": "Component %d of the isolation benchmark's status page." % i}, expect=(201,))


def section_isolation(settings, binary, workdir):
    runs = {}
    status_wrk = None
    for mode in ("alone", "with_status_load"):
        b = Belay(binary, workdir, "isolation-" + mode, settings=settings).start()
        try:
            seed_components(b, settings.status_components)
            setup = setup_ingestion(b)
            time.sleep(1.0)  # let the status page snapshot rebuild after seeding
            st, page = b.request("GET", "/", auth=False)
            if st != 200:
                raise BenchError("GET / -> HTTP %d" % st)
            if settings.warmup > 0:
                run_ingest_wrk(b, setup["path"], settings, b.dir, 140, settings.warmup, "warmup")
            wrk_out = None
            sp = None
            if mode == "with_status_load":
                wrk_out = os.path.join(b.dir, "wrk-status.txt")
                argv = ["wrk", "-t%d" % settings.status_wrk_threads, "-c%d" % settings.status_wrk_connections,
                        "-d%ds" % max(1, round(settings.duration)), "--latency", b.base + "/"]
                log("[isolation] %s while ingesting" % " ".join(argv[:-1] + ["http://127.0.0.1:PORT/"]))
                sp = PROCS.start(argv, stdout=open(wrk_out, "wb"), stderr=subprocess.STDOUT)
            else:
                log("[isolation] ingest alone (%d components on the status page, fresh Belay)"
                    % settings.status_components)
            r = run_ingest_wrk(b, setup["path"], settings, b.dir, 40 + len(runs), settings.duration, mode)
            if sp is not None:
                sp.wait()
                PROCS.stop(sp)
                with open(wrk_out, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
                status_wrk = parse_wrk(text)
                status_wrk.update({"raw": text, "page_bytes": len(page),
                                   "command": " ".join(argv[:-1] + ["URL"])})
                if sp.returncode != 0 or status_wrk.get("rps") is None:
                    raise BenchError("wrk against / failed (status %s): %s" % (sp.returncode, text[-1500:]))
            if not b.alive():
                raise BenchError("belay serve died during the isolation run: %s" % b.tail())
            log("[isolation] %s: %s" % (mode, describe_ingest(r)))
            runs[mode] = r
        finally:
            b.stop()
    alone, loaded = runs["alone"]["accepted_per_sec"], runs["with_status_load"]["accepted_per_sec"]
    ratio = loaded / alone if alone else None
    log("[isolation] status page under load: %.1f req/s (p99 %s ms, non-2xx/3xx %s, socket errors %s)"
        % (status_wrk["rps"], status_wrk.get("p99_ms"), status_wrk.get("non_2xx_3xx"),
           status_wrk.get("socket_errors")))
    return {"alone": runs["alone"], "with_status_load": runs["with_status_load"], "status_wrk": status_wrk,
            "ratio": round(ratio, 4) if ratio is not None else None, "goal_ratio": GOALS["isolation_ratio"],
            "meets_goal": ratio is not None and ratio >= GOALS["isolation_ratio"]}


NGINX_CONF = """# Private nginx for bench/detect: the monitors' target.
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    server_tokens off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    types {{ }}
    default_type text/plain;
    server {{
        listen 127.0.0.1:{port};
        root {www};
        location = /health {{ try_files /health =404; }}
        location / {{ return 404; }}
    }}
}}
"""


def start_nginx(workdir):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    d = os.path.join(workdir, "nginx")
    www = os.path.join(d, "www")
    os.makedirs(www)
    with open(os.path.join(www, "health"), "w") as f:
        f.write("ok\n")
    for p in (workdir, d, www):
        os.chmod(p, 0o755)
    os.chmod(os.path.join(www, "health"), 0o644)
    port = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=d, port=port, www=www))
    t = subprocess.run([nginx, "-p", d, "-e", os.path.join(d, "error.log"), "-c", conf, "-t"],
                       capture_output=True, text=True)
    if t.returncode != 0:
        raise BenchError("nginx config test failed: %s" % t.stderr)
    p = PROCS.start([nginx, "-p", d, "-e", os.path.join(d, "error.log"), "-c", conf],
                    stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr.log"), "wb"))
    for _ in range(100):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            r = c.getresponse()
            body = r.read()
            c.close()
            if r.status == 200 and body == b"ok\n":
                return p, port
        except OSError:
            pass
        if p.poll() is not None:
            raise BenchError("nginx exited: %s" % open(os.path.join(d, "error.log")).read()[-800:])
        time.sleep(0.1)
    raise BenchError("nginx did not answer within 10 s")


async def _create_monitors(base, token, n, concurrency, settings, target):
    import aiohttp

    ids = []
    codes = {}
    first_error = []
    sem = asyncio.Semaphore(concurrency)
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json", "Accept": "application/json"}
    lat = []

    async def create(i):
        body = {"name": "bench http %05d" % i, "kind": "http",
                "settings": {"url": "%s/health?m=%d" % (target, i)},
                "intervalSeconds": settings.monitor_interval, "timeoutSeconds": settings.monitor_timeout,
                "component": "bench-api", "severity": "sev3"}
        async with sem:
            for attempt in range(5):
                t0 = time.perf_counter()
                try:
                    async with session.post(base + "/api/v1/monitors", json=body, headers=headers) as r:
                        raw = await r.read()
                        lat.append((time.perf_counter() - t0) * 1000.0)
                        codes[r.status] = codes.get(r.status, 0) + 1
                        if r.status == 201:
                            ids.append(int(json.loads(raw)["id"]))
                            return
                        if not first_error:
                            first_error.append("HTTP %d: %s" % (r.status, raw[:400].decode("utf-8", "replace")))
                        if r.status != 503:
                            return
                except (aiohttp.ClientError, asyncio.TimeoutError, KeyError, ValueError) as e:
                    codes[type(e).__name__] = codes.get(type(e).__name__, 0) + 1
                    if not first_error:
                        first_error.append(repr(e))
                await asyncio.sleep(0.5 * (attempt + 1))

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                     timeout=aiohttp.ClientTimeout(total=120)) as session:
        # Fail fast if the very first one is refused.
        await create(0)
        if not ids:
            return ids, codes, first_error, lat
        await asyncio.gather(*[create(i) for i in range(1, n)])
    return ids, codes, first_error, lat


class Sampler(threading.Thread):
    """Belay's CPU seconds and RSS once a second."""

    def __init__(self, pid, interval=1.0):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples = []  # (monotonic, cpu_seconds, rss_mb, threads)
        self.stop_event = threading.Event()

    def run(self):
        while not self.stop_event.is_set():
            try:
                self.samples.append((time.monotonic(), proc_cpu_seconds(self.pid), proc_rss_mb(self.pid),
                                     proc_threads(self.pid)))
            except (OSError, IndexError, ValueError):
                break
            self.stop_event.wait(self.interval)

    def window(self, t_from, t_to):
        s = [x for x in self.samples if t_from <= x[0] <= t_to]
        if len(s) < 2:
            return None
        cores = (s[-1][1] - s[0][1]) / (s[-1][0] - s[0][0])
        rss = [x[2] for x in s if x[2] is not None]
        # busiest 10 s within the window
        peak = 0.0
        j = 0
        for i in range(len(s)):
            while s[i][0] - s[j][0] > 10.0:
                j += 1
            if s[i][0] - s[j][0] >= 5.0:
                peak = max(peak, (s[i][1] - s[j][1]) / (s[i][0] - s[j][0]))
        return {"seconds": round(s[-1][0] - s[0][0], 1), "cpu_cores": round(cores, 4),
                "cpu_cores_peak_10s": round(peak, 4), "rss_mb_max": round(max(rss), 1) if rss else None,
                "rss_mb_end": round(rss[-1], 1) if rss else None, "threads_max": max(x[3] or 0 for x in s)}


def lateness_of(stats):
    """Pull p50/p99/max lateness (ms) and checks run out of /monitoring/stats, whatever the nesting."""
    out = {}
    if isinstance(stats, dict):
        for src, dst in (("latenessP50Ms", "lateness_p50_ms"), ("latenessP99Ms", "lateness_p99_ms"),
                         ("latenessMaxMs", "lateness_max_ms"), ("checksRun", "checks_run"),
                         ("monitors", "monitors_scheduled"), ("inFlight", "in_flight"), ("samples", "samples"),
                         ("pendingResults", "pending_results")):
            if isinstance(stats.get(src), (int, float)) and not isinstance(stats.get(src), bool):
                out[dst] = stats[src]
        if "lateness_p99_ms" in out:
            return out

    def walk(obj, path):
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, path + [k])
        elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
            key = ".".join(path).lower()
            if "late" in key:
                for p in ("p50", "p99", "max"):
                    if key.endswith(p) or key.endswith(p + "ms") or key.endswith(p + "_ms"):
                        out["lateness_%s_ms" % p] = obj
            if "checks" in key and ("run" in key or "total" in key or "completed" in key):
                out.setdefault("checks_run", obj)
            if key.endswith("scheduled") or key.endswith("monitorsscheduled"):
                out.setdefault("monitors_scheduled", obj)
            if "inflight" in key.replace("_", "").replace("-", ""):
                out.setdefault("in_flight", obj)
    walk(stats, [])
    return out


def time_requests(belay, path, n):
    conn = http.client.HTTPConnection("127.0.0.1", belay.port, timeout=30)
    h = {"Authorization": "Bearer " + belay.token, "Accept": "application/json"}
    times = []
    status = None
    size = None
    body = None
    for i in range(n + 1):
        t0 = time.perf_counter()
        conn.request("GET", path, headers=h)
        r = conn.getresponse()
        raw = r.read()
        dt = (time.perf_counter() - t0) * 1000.0
        status, size, body = r.status, len(raw), raw
        if r.status != 200:
            conn.close()
            raise BenchError("GET %s -> HTTP %d: %s" % (path, r.status, raw[:300].decode("utf-8", "replace")))
        if i > 0:  # the first one is a warm-up
            times.append(dt)
    conn.close()
    doc = json.loads(body)
    lst = find_list(doc)
    return {"path": path, "requests": n, "status": status, "bytes": size,
            "items": len(lst) if lst is not None else None,
            "next_after": doc.get("nextAfter") if isinstance(doc, dict) else None,
            "p50_ms": round(pct(times, 50), 3), "p99_ms": round(pct(times, 99), 3), "max_ms": round(max(times), 3)}


def section_monitors(settings, binary, workdir):
    nginx_proc, nport = start_nginx(workdir)
    target = "http://127.0.0.1:%d" % nport
    log("[monitors] target: nginx (pid %d) on %s/health" % (nginx_proc.pid, target))
    b = Belay(binary, workdir, "monitors", extra_args=["--egress-allow", "127.0.0.1/32"], settings=settings).start()
    sampler = None
    try:
        b.api("POST", "/api/v1/components", {"slug": "bench-api", "name": "Bench API"}, expect=(201,))
        rss_idle = proc_rss_mb(b.proc.pid)
        log("[monitors] creating %d http monitors (interval %ds, timeout %ds) with %d concurrent POSTs"
            % (settings.monitors, settings.monitor_interval, settings.monitor_timeout, settings.create_concurrency))
        sampler = Sampler(b.proc.pid)
        sampler.start()
        t_c0 = time.monotonic()
        ids, codes, first_error, clat = asyncio.run(
            _create_monitors(b.base, b.token, settings.monitors, settings.create_concurrency, settings, target))
        t_c1 = time.monotonic()
        create = {"created": len(ids), "seconds": round(t_c1 - t_c0, 2),
                  "per_sec": round(len(ids) / (t_c1 - t_c0), 1) if t_c1 > t_c0 else None,
                  "status_counts": {str(k): v for k, v in codes.items()}, "first_error": first_error[:1],
                  "latency_p50_ms": round(pct(clat, 50), 2) if clat else None,
                  "latency_p99_ms": round(pct(clat, 99), 2) if clat else None,
                  "rss_mb_before": round(rss_idle, 1) if rss_idle else None}
        log("[monitors] created %d in %.1f s (%s/s); statuses %s%s" % (
            len(ids), t_c1 - t_c0, create["per_sec"], create["status_counts"],
            "; first error: " + first_error[0] if first_error else ""))
        if len(ids) < settings.monitors:
            raise BenchError("only %d of %d monitors were created; first error: %s"
                             % (len(ids), settings.monitors, first_error[0] if first_error else "?"))
        log("[monitors] running for %.0f s; the steady window starts %.0f s after creation"
            % (settings.monitor_run, settings.monitor_settle))
        stats_polls = []
        t_end = t_c1 + settings.monitor_run
        next_poll = t_c1 + 15
        while time.monotonic() < t_end:
            if not b.alive():
                raise BenchError("belay serve died while running monitors: %s" % b.tail())
            if time.monotonic() >= next_poll:
                st, raw = b.request("GET", "/api/v1/monitoring/stats")
                if st != 200:
                    raise BenchError("GET /api/v1/monitoring/stats -> HTTP %d: %s"
                                     % (st, raw[:300].decode("utf-8", "replace")))
                doc = json.loads(raw)
                stats_polls.append({"t": round(time.monotonic() - t_c1, 1), "stats": doc,
                                    "parsed": lateness_of(doc)})
                p = stats_polls[-1]["parsed"]
                log("[monitors] t+%3.0fs: stats %s; cpu %.2f cores (last 10 s), rss %.0f MB" % (
                    stats_polls[-1]["t"], json.dumps(p) if p else json.dumps(doc)[:200],
                    (sampler.window(time.monotonic() - 10, time.monotonic()) or {}).get("cpu_cores", -1),
                    proc_rss_mb(b.proc.pid) or -1))
                next_poll += 15
            time.sleep(0.5)
        steady = sampler.window(t_c1 + settings.monitor_settle, t_end)
        whole = sampler.window(t_c1, t_end)
        creation = sampler.window(t_c0, t_c1)
        st, raw = b.request("GET", "/api/v1/monitoring/stats")
        final_stats = json.loads(raw) if st == 200 else {"http_status": st}
        final = lateness_of(final_stats)
        steady_polls = [p["parsed"] for p in stats_polls if p["t"] >= settings.monitor_settle]
        p99s = [p.get("lateness_p99_ms") for p in steady_polls if p.get("lateness_p99_ms") is not None]
        log("[monitors] steady window: %s" % json.dumps(steady))
        log("[monitors] final stats: %s" % json.dumps(final_stats)[:600])

        # List API round trips (while the monitors keep running).
        sids = sorted(ids)
        first = time_requests(b, "/api/v1/monitors?limit=50", settings.page_requests)
        later_after = sids[len(sids) // 2]
        later = time_requests(b, "/api/v1/monitors?limit=50&after=%d" % later_after, settings.page_requests)
        log("[monitors] GET /api/v1/monitors?limit=50: p50 %.2f ms p99 %.2f ms (%s items, %d B);"
            " after=%d: p50 %.2f ms p99 %.2f ms (%s items)" % (
                first["p50_ms"], first["p99_ms"], first["items"], first["bytes"], later_after,
                later["p50_ms"], later["p99_ms"], later["items"]))
        if first["items"] != 50 or later["items"] != 50:
            log("[monitors] note: expected 50 monitors per page, got %s and %s" % (first["items"], later["items"]))
        # Where the monitors stand (all pages).
        items, info = page_through(b, "/api/v1/monitors", {}, limit_candidates=(1000, 200, 50))
        states = {}
        for m in items:
            s = (m.get("state") or {}).get("status") if isinstance(m, dict) else None
            states[str(s)] = states.get(str(s), 0) + 1
        log("[monitors] %d monitors listed; states %s" % (len(items), states))
        stuck = [m for m in items if isinstance(m, dict) and (m.get("state") or {}).get("status") in ("down",)]
        sample_down = (stuck[0].get("state") if stuck else None)
        web = None
        st, _ = b.request("GET", "/app/monitors", auth=False)
        web = {"status_without_session": st,
               "note": "the web page needs a signed-in session; not timed (API times above)"}
    finally:
        if sampler:
            sampler.stop_event.set()
        b.stop()
        PROCS.stop(nginx_proc)

    cpu = steady["cpu_cores"] if steady else None
    rss = steady["rss_mb_max"] if steady else None
    lat_p99 = final.get("lateness_p99_ms")
    goals = {
        "cpu_cores": {"value": cpu, "goal": "<= %.1f" % GOALS["monitor_cpu_cores"],
                      "ok": cpu is not None and cpu <= GOALS["monitor_cpu_cores"]},
        "rss_mb": {"value": rss, "goal": "< %.0f" % GOALS["monitor_rss_mb"],
                   "ok": rss is not None and rss < GOALS["monitor_rss_mb"]},
        "lateness_p99_ms": {"value": lat_p99, "goal": "< %.0f" % GOALS["monitor_lateness_p99_ms"],
                            "ok": lat_p99 is not None and lat_p99 < GOALS["monitor_lateness_p99_ms"]},
        "list_first_page_p99_ms": {"value": first["p99_ms"], "goal": "< %.0f" % GOALS["list_p99_ms"],
                                   "ok": first["p99_ms"] < GOALS["list_p99_ms"]},
        "list_later_page_p99_ms": {"value": later["p99_ms"], "goal": "< %.0f" % GOALS["list_p99_ms"],
                                   "ok": later["p99_ms"] < GOALS["list_p99_ms"]},
    }
    expected_checks = settings.monitors * max(0.0, settings.monitor_run) / settings.monitor_interval
    return {"monitors": settings.monitors, "interval_seconds": settings.monitor_interval,
            "timeout_seconds": settings.monitor_timeout, "run_seconds": settings.monitor_run,
            "settle_seconds": settings.monitor_settle, "target": "nginx /health on 127.0.0.1",
            "create": create, "cpu_rss": {"creation": creation, "whole_run": whole, "steady": steady},
            "stats_final": final_stats, "stats_final_parsed": final, "stats_polls": stats_polls,
            "lateness_p99_ms_max_over_steady_polls": max(p99s) if p99s else None,
            "expected_checks_in_run_approx": round(expected_checks),
            "list_first_page": first, "list_later_page": later, "states": states, "sample_down_state": sample_down,
            "list_all": info, "web_page": web, "goals": goals,
            "meets_goal": all(g["ok"] for g in goals.values())}


# --------------------------------------------------------------------------- report

def fmt(x, spec="%.1f"):
    return spec % x if isinstance(x, (int, float)) and not isinstance(x, bool) else "n/a"


def okmiss(b):
    return "ok" if b else "MISS"


def report(results, meta, out_file, strict):
    rows = []  # (section, measurement, value, goal, verdict)
    r = results
    if "ingest" in r:
        x = r["ingest"]
        if "error" in x:
            rows.append(("ingest", "ERROR", x["error"][:90], "", "FAIL"))
        else:
            b = x["belay"]
            rows.append(("ingest", "Belay accepted/s (wrk -t%d -c%d, %s)" % (meta["settings"]["wrk_threads"],
                         meta["settings"]["connections"], meta["settings"]["ingest_mode"]),
                         fmt(b["accepted_per_sec"]), "", ""))
            if b["requests"] != b["ok"]:
                rows.append(("ingest", "  non-2xx: 503 / 4xx / 5xx", "%d / %d / %d" % (b["s503"], b["s4xx"],
                                                                                      b["s5xx"]), "", ""))
            rows.append(("ingest", "  wrk latency p50 / p99 ms", "%s / %s" % (fmt(b["p50_ms"], "%.2f"),
                                                                           fmt(b["p99_ms"], "%.2f")), "", ""))
            st = x.get("stored") or {}
            if "all_acknowledged_stored" in st:
                rows.append(("ingest", "  signals stored / 2xx incl. warm-up; incidents",
                             "%s / %s; %s" % (st["signals"], st["acknowledged_total"], st.get("incidents")),
                             "stored>=2xx", okmiss(st["all_acknowledged_stored"])))
            rows.append(("ingest", "SQLite ceiling rows/s (WAL, FULL, 1 row/txn)",
                         fmt(x["ceiling"]["rows_per_sec"]), "", ""))
            rows.append(("ingest", "Belay / ceiling", fmt(x["ratio"], "%.3f"), ">= %.2f" % GOALS["ingest_ratio"],
                         okmiss(x["meets_goal"])))
    if "latency" in r:
        x = r["latency"]
        if "error" in x:
            rows.append(("latency", "ERROR", x["error"][:90], "", "FAIL"))
        else:
            rows.append(("latency", "open loop %.0f/s for %.0fs: p50 / p99 / max ms" % (x["rate"], x["seconds"]),
                         "%s / %s / %s" % (fmt(x["p50_ms"], "%.2f"), fmt(x["p99_ms"], "%.2f"),
                                           fmt(x["max_ms"], "%.1f")),
                         "p99 < %.0f" % GOALS["latency_p99_ms"], okmiss(x["meets_goal"])))
            rows.append(("latency", "  non-2xx / client errors / generator lag p99 ms",
                         "%d / %d / %s" % (x["non_2xx"], sum(x["client_errors"].values()),
                                           fmt(x["generator_lag_p99_ms"], "%.2f")), "0 / 0", ""))
    if "bulk" in r:
        x = r["bulk"]
        if "error" in x:
            rows.append(("bulk", "ERROR", x["error"][:90], "", "FAIL"))
        else:
            rows.append(("bulk", "%d alerts (%.1f MB) -> HTTP %d, seconds" % (x["alerts"], x["body_bytes"] / 1e6,
                                                                              x["status"]),
                         fmt(x["seconds"], "%.3f"), "< %.0f" % GOALS["bulk_seconds"], okmiss(x["meets_goal"])))
            rows.append(("bulk", "  answer 'accepted'", str(x["answer"].get("accepted") if isinstance(
                x["answer"], dict) else x["answer"])[:22], str(x["alerts"]), okmiss(x["accepted_matches"])))
            v = x.get("verify")
            if v:
                rows.append(("bulk", "  GET /signals?status=firing lists (limit %s)" % v.get("limit"),
                             "%d" % v["firing_signals_listed"], "", ""))
                rows.append(("bulk", "  firing signals in belay.sqlite (expected %d)" % v["expected_firing"],
                             str(v.get("stored_firing")), "all", okmiss(v.get("complete"))))
    if "isolation" in r:
        x = r["isolation"]
        if "error" in x:
            rows.append(("isolation", "ERROR", x["error"][:90], "", "FAIL"))
        else:
            rows.append(("isolation", "ingest accepted/s alone", fmt(x["alone"]["accepted_per_sec"]), "", ""))
            rows.append(("isolation", "ingest accepted/s with wrk on /", fmt(x["with_status_load"]["accepted_per_sec"]),
                         "", ""))
            rows.append(("isolation", "  status page / req/s during it (wrk -t%d -c%d)" % (
                meta["settings"]["status_wrk_threads"], meta["settings"]["status_wrk_connections"]),
                fmt(x["status_wrk"]["rps"]), "", ""))
            rows.append(("isolation", "with / alone", fmt(x["ratio"], "%.3f"), ">= %.2f" % GOALS["isolation_ratio"],
                         okmiss(x["meets_goal"])))
    if "monitors" in r:
        x = r["monitors"]
        if "error" in x:
            rows.append(("monitors", "ERROR", x["error"][:90], "", "FAIL"))
        else:
            g = x["goals"]
            rows.append(("monitors", "%d http monitors created, per s" % x["create"]["created"],
                         fmt(x["create"]["per_sec"]), "", ""))
            rows.append(("monitors", "CPU cores, steady window (%.0f s)" % ((x["cpu_rss"]["steady"] or {})
                                                                          .get("seconds", 0)),
                         fmt(g["cpu_cores"]["value"], "%.3f"), g["cpu_cores"]["goal"], okmiss(g["cpu_cores"]["ok"])))
            rows.append(("monitors", "RSS MB, max", fmt(g["rss_mb"]["value"]), g["rss_mb"]["goal"],
                         okmiss(g["rss_mb"]["ok"])))
            fp = x["stats_final_parsed"]
            rows.append(("monitors", "lateness p50 / p99 / max ms (monitoring/stats)",
                         "%s / %s / %s" % (fmt(fp.get("lateness_p50_ms"), "%.2f"),
                                           fmt(fp.get("lateness_p99_ms"), "%.1f"),
                                           fmt(fp.get("lateness_max_ms"), "%.1f")),
                         "p99 " + g["lateness_p99_ms"]["goal"], okmiss(g["lateness_p99_ms"]["ok"])))
            rows.append(("monitors", "  checks run (stats) / expected in run ~",
                         "%s / %d" % (fmt(fp.get("checks_run"), "%d"), x["expected_checks_in_run_approx"]), "", ""))
            rows.append(("monitors", "  states", " ".join("%s=%d" % kv for kv in sorted(x["states"].items())), "", ""))
            for key, label in (("list_first_page", "GET /monitors?limit=50 p50 / p99 ms"),
                               ("list_later_page", "GET /monitors?limit=50&after= p50 / p99 ms")):
                gk = key + "_p99_ms"
                rows.append(("monitors", label, "%s / %s" % (fmt(x[key]["p50_ms"], "%.2f"),
                                                             fmt(x[key]["p99_ms"], "%.2f")),
                             "p99 " + g[gk]["goal"], okmiss(g[gk]["ok"])))
            rows.append(("monitors", "  /app/monitors (web page)", "not timed: needs a session", "", ""))

    w = sys.stdout.write
    w("\nBelay Detect benchmarks - %s build %s; nproc=%d; load avg before %s; data on %s\n" % (
        meta["belay"]["build"], meta["belay"]["binary"], meta["machine"]["nproc"],
        meta["machine"]["loadavg_1m_before"], meta["machine"]["data_filesystem"]))
    if meta["belay"]["build"] != "release":
        w("WARNING: not a release build - the goals only mean something for a release build.\n")
    w("\n%-10s %-52s %22s  %-10s %s\n" % ("section", "measurement", "value", "goal", ""))
    w("-" * 104 + "\n")
    for s, m, v, g, ok in rows:
        w("%-10s %-52s %22s  %-10s %s\n" % (s, m, v, g, ok))
    all_ok = all(isinstance(v, dict) and v.get("meets_goal") for v in results.values())
    w("\noverall: %s\n" % ("all goals met" if all_ok else "some goals missed or sections failed"))
    doc = {"benchmark": "detect", **meta, "goals": GOALS, "sections": results, "all_goals_met": all_ok}
    os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
    with open(out_file, "w") as f:
        json.dump(doc, f, indent=2, default=str)
        f.write("\n")
    w("Results written to %s\n" % out_file)
    failed = any("error" in v for v in results.values())
    if failed:
        return 1
    if strict and not all_ok:
        return 3
    return 0


# --------------------------------------------------------------------------- main

def _sigterm(signum, frame):
    raise KeyboardInterrupt


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--bin", required=True)
    r.add_argument("--build-kind", default="unknown")
    r.add_argument("--out", required=True)
    r.add_argument("--strict", action="store_true")
    r.add_argument("sections", nargs="*")
    c = sub.add_parser("ceiling", help="only the SQLite ceiling, in DIR (no Belay needed)")
    c.add_argument("--dir", default=None)
    c.add_argument("--seconds", type=float, default=5.0)
    sub.add_parser("template", help="print the one-alert body (with @@FP@@)")
    args = p.parse_args()

    if args.cmd == "template":
        sys.stdout.write(single_body("@@FP@@").decode() + "\n")
        return 0
    if args.cmd == "ceiling":
        d = args.dir or tempfile.mkdtemp(prefix="belay-ceiling.")
        try:
            print(json.dumps(sqlite_ceiling(d, args.seconds, len(single_body("0" * 16))), indent=2))
        finally:
            if not args.dir:
                shutil.rmtree(d, ignore_errors=True)
        return 0

    sections = []
    for s in args.sections or ["all"]:
        for part in s.replace(",", " ").split():
            if part == "all":
                sections.extend(x for x in SECTIONS if x not in sections)
            elif part in SECTIONS:
                if part not in sections:
                    sections.append(part)
            else:
                raise SystemExit("unknown section %r (use: %s or all)" % (part, " ".join(SECTIONS)))
    sections = [s for s in SECTIONS if s in sections]
    settings = Settings()
    signal.signal(signal.SIGTERM, _sigterm)
    base_tmp = env("BENCH_TMPDIR", os.environ.get("TMPDIR", "/tmp"))
    workdir = tempfile.mkdtemp(prefix="belay-detect.", dir=base_tmp)
    os.chmod(workdir, 0o755)
    meta = {
        "timestamp": datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ"),
        "sections_run": sections,
        "machine": {"nproc": os.cpu_count(), "kernel": platform.release(),
                    "loadavg_1m_before": open("/proc/loadavg").read().split()[0],
                    "workdir": workdir, "data_filesystem": fs_type(workdir),
                    "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                                 if l.startswith("model name")), None)},
        "belay": {"binary": args.bin, "build": args.build_kind},
        "settings": settings.as_dict(),
        "tools": {"wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0],
                  "python": platform.python_version(), "sqlite": sqlite3.sqlite_version},
    }
    try:
        import aiohttp
        meta["tools"]["aiohttp"] = aiohttp.__version__
    except ImportError:
        raise SystemExit("aiohttp is missing (bench/detect installs it with pip)")
    log("sections: %s; work dir %s (%s); belay %s (%s build)" % (
        " ".join(sections), workdir, meta["machine"]["data_filesystem"], args.bin, args.build_kind))
    results = {}
    funcs = {"ingest": section_ingest, "latency": section_latency, "bulk": section_bulk,
             "isolation": section_isolation, "monitors": section_monitors}
    failed = False
    interrupted = False
    try:
        for s in sections:
            log("=== %s ===" % s)
            t0 = time.monotonic()
            try:
                results[s] = funcs[s](settings, args.bin, workdir)
            except BenchError as e:
                failed = True
                log("[%s] FAILED: %s" % (s, e))
                results[s] = {"error": str(e), "meets_goal": False}
            finally:
                PROCS.stop_all()
            results[s]["section_seconds"] = round(time.monotonic() - t0, 1)
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted")
    finally:
        PROCS.stop_all()
    if interrupted:
        log("work files kept in %s" % workdir)
        return 130
    rc = report(results, meta, args.out, args.strict)
    if failed or settings.keep_tmp:
        log("work files kept in %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
