"""Ingestion and status-page throughput over all replicas: one wrk per replica, all at once, summed.

wrk has one target host per process (its Lua `setup` cannot give connections different hosts), so the load
is spread round-robin by running one wrk per replica with its share of the connections."""

import os
import subprocess
import threading
import time
from types import SimpleNamespace

from status_page import parse_wrk  # bench/ is on sys.path: the same wrk parsing as bench/status-page

from detectbench.common import BenchError, log
from detectbench.ingest import describe_ingest, run_ingest_wrk
from detectbench.procs import PROCS, proc_cpu_seconds

from .cluster import postgres_cpu_seconds
from .settings import split


def parallel(calls):
    """Run every call in its own thread; their results in order, the first exception re-raised."""
    results = [None] * len(calls)
    errors = []

    def run(i, call):
        try:
            results[i] = call()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


class CPUWindow:
    """CPU seconds of the replicas and of PostgreSQL between start and stop, as cores."""

    def __init__(self, replicas, pg):
        self.replicas, self.pg = replicas, pg

    def __enter__(self):
        self.t0 = time.monotonic()
        self.belay0 = [proc_cpu_seconds(b.proc.pid) for b in self.replicas]
        self.pg_pid = self.pg.postmaster_pid()
        self.pg0 = postgres_cpu_seconds(self.pg_pid)
        return self

    def __exit__(self, *exc):
        secs = time.monotonic() - self.t0
        try:
            belay = [proc_cpu_seconds(b.proc.pid) - c for b, c in zip(self.replicas, self.belay0)]
            self.belay_cores = [round(c / secs, 3) for c in belay]
        except OSError:
            self.belay_cores = None
        pg1 = postgres_cpu_seconds(self.pg_pid)
        self.postgres_cores = round((pg1 - self.pg0) / secs, 3) if pg1 is not None and self.pg0 is not None else None
        return False

    def as_dict(self):
        return {"belay_cores": self.belay_cores,
                "belay_cores_total": round(sum(self.belay_cores), 3) if self.belay_cores else None,
                "postgres_cores": self.postgres_cores}


def ingest(replicas, pg, path, settings, tag):
    """Warm-up, then the measured run: one `wrk -t1 -cC_i` with detect_ingest.lua per replica, in parallel."""
    conns = split(settings.connections, len(replicas))

    def wrk_on(i, duration, run_id, what):
        s = SimpleNamespace(wrk_threads=1, connections=conns[i], ingest_mode="distinct",
                            repeat_pool=settings.repeat_pool)
        # Each replica's own directory, so every wrk reads its own copy of the body template. The run id is
        # the fingerprint's first byte: distinct per replica and per run, so every delivery is a new signal.
        return lambda: run_ingest_wrk(replicas[i], path, s, replicas[i].dir, run_id, duration, "%s-%s" % (tag, what))

    warm = None
    if settings.warmup > 0:
        warm = parallel([wrk_on(i, settings.warmup, 100 + i, "ingest-warmup") for i in range(len(replicas))])
    with CPUWindow(replicas, pg) as cpu:
        runs = parallel([wrk_on(i, settings.duration, 1 + i, "ingest") for i in range(len(replicas))])
    for b in replicas:
        if not b.alive():
            raise BenchError("%s died during the ingest run: %s" % (b.name, b.tail()))
    for b, r in zip(replicas, runs):
        log("[%s] ingest on %s: %s" % (tag, b.name, describe_ingest(r)))
    total = sum(r["accepted_per_sec"] or 0 for r in runs)
    acknowledged = sum(r["ok"] for r in runs) + (sum(r["ok"] for r in warm) if warm else 0) + 1  # + the check delivery
    stored = int(pg.query("SELECT count(*) FROM signal")[0][0])
    non2xx = sum(r["requests"] - r["ok"] for r in runs)
    sock = sum(r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"] for r in runs)
    log("[%s] ingest total: %.1f accepted/s over %d replica(s) (%s connections); %d signals stored for %d 2xx;"
        " CPU %s" % (tag, total, len(replicas), "+".join(map(str, conns)), stored, acknowledged, cpu.as_dict()))
    return {"accepted_per_sec": round(total, 1), "connections": conns, "per_replica": runs,
            "warmup_ok": [r["ok"] for r in warm] if warm else None, "non_2xx": non2xx, "socket_errors": sock,
            "signals_stored": stored, "acknowledged_total": acknowledged,
            "all_acknowledged_stored": stored >= acknowledged, "cpu": cpu.as_dict()}


def _status_wrk(b, connections, duration, settings, tag):
    argv = ["wrk", "-t1", "-c%d" % connections, "-d%ds" % max(1, round(duration)), "--latency"]
    if settings.status_encoding == "gzip":
        argv += ["-H", "Accept-Encoding: gzip"]
    argv.append(b.base + "/")
    out_path = os.path.join(b.dir, "wrk-%s.txt" % tag)
    with open(out_path, "wb") as out:
        p = PROCS.start(argv, stdout=out, stderr=subprocess.STDOUT)
        p.wait()
        PROCS.stop(p)
    with open(out_path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    r = parse_wrk(text)
    if p.returncode != 0 or r.get("rps") is None:
        raise BenchError("wrk against %s / failed (status %s): %s" % (b.name, p.returncode, text[-1500:]))
    r.update({"raw": text, "command": " ".join(argv[:-1] + ["URL/"])})
    return r


def status_page(replicas, pg, settings, tag):
    """Warm-up, then `wrk -t1 -cC_i --latency` on `/` of every replica at once; req/s summed."""
    conns = split(settings.status_connections, len(replicas))
    headers = {"Accept-Encoding": "gzip"} if settings.status_encoding == "gzip" else {}
    sizes = []
    for b in replicas:
        st, page = b.request("GET", "/", auth=False, headers=headers)
        if st != 200:
            raise BenchError("%s: GET / -> HTTP %d" % (b.name, st))
        sizes.append(len(page))
    if settings.warmup > 0:
        parallel([lambda i=i: _status_wrk(replicas[i], conns[i], settings.warmup, settings, "status-warmup")
                  for i in range(len(replicas))])
    with CPUWindow(replicas, pg) as cpu:
        runs = parallel([lambda i=i: _status_wrk(replicas[i], conns[i], settings.duration, settings, "status")
                         for i in range(len(replicas))])
    total = sum(r["rps"] for r in runs)
    errors = sum(sum(r["socket_errors"].values()) + r["non_2xx_3xx"] for r in runs)
    p99 = max(r["p99_ms"] for r in runs if r["p99_ms"] is not None) if any(r["p99_ms"] for r in runs) else None
    log("[%s] status page /: %.1f req/s over %d replica(s) (%s), p99 (worst replica) %s ms, errors %d; CPU %s"
        % (tag, total, len(replicas), " + ".join("%.0f" % r["rps"] for r in runs), p99, errors, cpu.as_dict()))
    return {"rps": round(total, 1), "connections": conns, "body_bytes": sizes, "encoding": settings.status_encoding,
            "p99_ms_worst": p99, "errors": errors, "per_replica": runs, "cpu": cpu.as_dict()}
