"""Section `ingest`: webhook throughput with wrk (2xx only) against the SQLite ceiling on the same disk.

The wrk run here is also what `isolation` measures, with and without load on the status page."""

import json
import os
import re
import subprocess
import time

from .ceiling import sqlite_ceiling
from .common import BENCH_DIR, GOALS, BenchError, fmt, fs_type, log, okmiss
from .integration import setup_ingestion
from .payload import write_template
from .procs import PROCS, proc_cpu_seconds
from .server import Belay, db_counts, incident_count

LUA = os.path.join(BENCH_DIR, "detect_ingest.lua")


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
    # detect_ingest.lua counts the statuses itself (wrk's "Non-2xx" would count 3xx as success).
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


def run(settings, binary, workdir):
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
    baseline = measure_baseline(settings, workdir, r)
    postgres = measure_postgres(binary, settings, workdir)
    return {"belay": r, "ceiling": c, "ratio": round(ratio, 4) if ratio is not None else None,
            "baseline": baseline, "postgres": postgres,
            "goal_ratio": GOALS["ingest_ratio"],
            "meets_goal": ratio is not None and ratio >= GOALS["ingest_ratio"] and r["ok"] > 0
            and stored.get("all_acknowledged_stored", True),
            "incidents_after": incidents, "stored": stored, "setup": setup, "data_filesystem": fs_type(b.data)}


# Issue 13's goal: 4x the single-alert deliveries per second of commit b450bdf, on the same machine.
GOAL_SPEEDUP = 4.0


def measure_baseline(settings, workdir, current):
    """The same wrk run against BELAY_BASELINE_BIN (a build of an older commit), on a fresh data directory."""
    binary = os.environ.get("BELAY_BASELINE_BIN")
    if not binary:
        return None
    b = Belay(binary, workdir, "ingest-baseline", settings=settings).start()
    try:
        setup = setup_ingestion(b)
        r = ingest_once(b, setup["path"], settings, b.dir, 3, "ingest-baseline")
        log("[ingest] baseline %s: %s" % (binary, describe_ingest(r)))
    finally:
        b.stop()
    speedup = current["accepted_per_sec"] / r["accepted_per_sec"] if r["accepted_per_sec"] else None
    return {"binary": binary, "commit": os.environ.get("BELAY_BASELINE_COMMIT", ""), "belay": r,
            "speedup": round(speedup, 3) if speedup is not None else None, "goal_speedup": GOAL_SPEEDUP,
            "meets_goal": speedup is not None and speedup >= GOAL_SPEEDUP}


def measure_postgres(binary, settings, workdir):
    """The same wrk run with the data on a throwaway PostgreSQL cluster (scripts/postgres); BENCH_POSTGRES=0 skips."""
    if os.environ.get("BENCH_POSTGRES", "1") == "0":
        return None
    from replicabench.cluster import Postgres  # shares bench/replicas' cluster handling
    cluster = Postgres(workdir, "ingest-postgres-cluster").start()
    try:
        b = Belay(binary, workdir, "ingest-postgres", settings=settings, database=cluster.url).start()
        try:
            setup = setup_ingestion(b)
            r = ingest_once(b, setup["path"], settings, b.dir, 4, "ingest-postgres")
            log("[ingest] PostgreSQL: " + describe_ingest(r))
        finally:
            b.stop()
        stored = int(cluster.query("SELECT count(*) FROM signal")[0][0])
    finally:
        cluster.stop()
    return {"belay": r, "signals_stored": stored, "all_acknowledged_stored": stored >= r["ok"] + r["warmup_ok"] + 1}


def rows(x, settings):
    b = x["belay"]
    out = [("Belay accepted/s (wrk -t%d -c%d, %s)" % (settings["wrk_threads"], settings["connections"],
                                                       settings["ingest_mode"]),
            fmt(b["accepted_per_sec"]), "", "")]
    if b["requests"] != b["ok"]:
        out.append(("  non-2xx: 503 / 4xx / 5xx", "%d / %d / %d" % (b["s503"], b["s4xx"], b["s5xx"]), "", ""))
    out.append(("  wrk latency p50 / p99 ms", "%s / %s" % (fmt(b["p50_ms"], "%.2f"), fmt(b["p99_ms"], "%.2f")),
                "", ""))
    st = x.get("stored") or {}
    if "all_acknowledged_stored" in st:
        out.append(("  signals stored / 2xx incl. warm-up; incidents",
                    "%s / %s; %s" % (st["signals"], st["acknowledged_total"], st.get("incidents")),
                    "stored>=2xx", okmiss(st["all_acknowledged_stored"])))
    out.append(("SQLite ceiling rows/s (WAL, FULL, 1 row/txn)", fmt(x["ceiling"]["rows_per_sec"]), "", ""))
    out.append(("Belay / ceiling", fmt(x["ratio"], "%.3f"), ">= %.2f" % GOALS["ingest_ratio"],
                okmiss(x["meets_goal"])))
    base = x.get("baseline")
    if base:
        out.append(("baseline %s accepted/s" % (base["commit"] or os.path.basename(base["binary"])),
                    fmt(base["belay"]["accepted_per_sec"]), "", ""))
        out.append(("Belay / baseline", fmt(base["speedup"], "%.2f"), ">= %.1f" % base["goal_speedup"],
                    okmiss(base["meets_goal"])))
    pg = x.get("postgres")
    if pg:
        out.append(("PostgreSQL accepted/s (same wrk run)", fmt(pg["belay"]["accepted_per_sec"]), "", ""))
        out.append(("  PostgreSQL signals stored >= 2xx", "%d" % pg["signals_stored"], "stored>=2xx",
                    okmiss(pg["all_acknowledged_stored"])))
    return out
