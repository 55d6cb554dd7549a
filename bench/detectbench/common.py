"""Settings, goals, errors, statistics and the response-shape checks every section uses."""

import json
import os
import re
import subprocess
import sys

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTIONS = ["ingest", "latency", "bulk", "isolation", "monitors"]

GOALS = {
    "ingest_ratio": 0.5,          # Belay accepted/s over the SQLite ceiling rows/s
    "latency_p99_ms": 25.0,       # at 500 events/s, from the scheduled send time
    "bulk_seconds": 2.0,          # 20,000 alerts in one notification -> 2xx
    "isolation_ratio": 0.5,       # ingest with wrk on / (same listener) over ingest alone; informational
    "isolation_public_ratio": 0.9,  # ingest with wrk on --public-listen's / over ingest alone
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
    """The BENCH_* knobs (bench/README.md, "Knobs"); all of them land in the JSON's `settings`."""

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


# The tag on every progress line; bench/replicas, which reuses these modules, sets its own.
LOG_TAG = "detect"


def log(msg):
    print("[%s] %s" % (LOG_TAG, msg), file=sys.stderr, flush=True)


class BenchError(Exception):
    """A section could not complete; the message says what Belay (or a tool) did."""


def fs_type(path):
    try:
        return subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True).stdout.strip()
    except OSError:
        return None


# --------------------------------------------------------------------------- stats and formatting

def pct(values, p):
    """Nearest-rank percentile of a list (ms or whatever unit it holds)."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def fmt(x, spec="%.1f"):
    return spec % x if isinstance(x, (int, float)) and not isinstance(x, bool) else "n/a"


def okmiss(b):
    return "ok" if b else "MISS"


# --------------------------------------------------------------------------- response shapes
#
# The shapes are Belay's own (Sources/BelayServer/Resources/openapi.json, Sources/BelayServer/DTOs):
# a missing or mistyped key is a change in Belay that the benchmark must not paper over, so it
# stops the section with the endpoint and the key rather than trying other names.

NUMBER = (int, float)
_KIND_NAMES = {int: "an integer", float: "a number", NUMBER: "a number", str: "a string", list: "an array",
               dict: "an object", bool: "a boolean"}


def _snippet(doc):
    return json.dumps(doc, default=str)[:300]


def json_of(raw, where):
    """The JSON document in `raw`; not JSON is a BenchError naming the endpoint `where`."""
    try:
        return json.loads(raw)
    except ValueError:
        raise BenchError("%s: the answer is not JSON: %r" % (where, bytes(raw[:300])))


def need(doc, key, where, kind=None):
    """doc[key], checked against `kind`; otherwise a BenchError naming the endpoint `where` and the key."""
    if not isinstance(doc, dict):
        raise BenchError("%s: expected a JSON object with %r, got %s" % (where, key, _snippet(doc)))
    if key not in doc:
        raise BenchError("%s: the answer has no %r (openapi.json says it is there): %s"
                         % (where, key, _snippet(doc)))
    v = doc[key]
    if kind is not None:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # JSON true/false are Python ints; a boolean is never a count or a time.
        if not isinstance(v, kinds) or (isinstance(v, bool) and bool not in kinds):
            raise BenchError("%s: %r is %s, expected %s" % (where, key, _snippet(v), _KIND_NAMES.get(kind, kind)))
    return v


def machine_meta(args, settings, workdir, tools):
    """The JSON's shared head: when, on what machine, which binary, the knobs and the tools' versions."""
    import platform
    from datetime import datetime, timezone
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    with open("/proc/cpuinfo") as f:
        cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), None)
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return {
        "timestamp": datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ"),
        "machine": {"nproc": os.cpu_count(), "kernel": platform.release(), "loadavg_1m_before": load,
                    "workdir": workdir, "data_filesystem": fs_type(workdir), "cpu": cpu},
        "belay": {"binary": args.bin, "build": args.build_kind},
        "settings": settings.as_dict(),
        "tools": {"wrk": wrk, "python": platform.python_version(), **tools},
    }
