"""Section `isolation`: the ingest wrk run alone, then on a second fresh Belay while wrk loads the status page."""

import os
import subprocess
import time

from status_page import parse_wrk  # bench/ is on sys.path (detect.py); the same wrk parsing as bench/status-page

from .common import GOALS, BenchError, fmt, log, okmiss
from .ingest import describe_ingest, run_ingest_wrk
from .integration import setup_ingestion
from .procs import PROCS
from .server import Belay


def seed_components(belay, n):
    for i in range(n):
        belay.api("POST", "/api/v1/components",
                  {"slug": "status-%02d" % i, "name": "Service %02d" % i, "group": "Group %d" % (i % 4),
                   "description": "Component %d of the isolation benchmark's status page." % i}, expect=(201,))


def run(settings, binary, workdir):
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


def rows(x, settings):
    return [
        ("ingest accepted/s alone", fmt(x["alone"]["accepted_per_sec"]), "", ""),
        ("ingest accepted/s with wrk on /", fmt(x["with_status_load"]["accepted_per_sec"]), "", ""),
        ("  status page / req/s during it (wrk -t%d -c%d)" % (settings["status_wrk_threads"],
                                                              settings["status_wrk_connections"]),
         fmt(x["status_wrk"]["rps"]), "", ""),
        ("with / alone", fmt(x["ratio"], "%.3f"), ">= %.2f" % GOALS["isolation_ratio"], okmiss(x["meets_goal"])),
    ]
