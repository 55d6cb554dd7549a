#!/usr/bin/env python3
"""bench/detect.py - the Detect benchmarks (run it through `bash bench/detect`; see bench/README.md).

Sections (each starts its own fresh `belay serve --port 0 --data TMPDIR`; one module each in
bench/detectbench/):

  ingest     Alertmanager webhook throughput (wrk, N connections, 2xx only) under the durable
             contract, and in the same run the raw SQLite ceiling (Python sqlite3, WAL,
             synchronous=FULL, one INSERT per transaction) on the same filesystem; ratio.
  latency    open-loop load at a fixed rate (default 500 events/s): acknowledgement latency
             measured from each request's *scheduled* send time (p50/p99/max).
  bulk       one Alertmanager notification carrying 20,000 alerts: time to 2xx, then the
             signals are counted through the API.
  isolation  the ingest throughput run three times (fresh Belay with --public-listen each time):
             alone, while wrk hammers the status page `/` on the main listener (informational),
             and while it hammers `/` on the public listener (the goal); ratios.
  monitors   10,000 HTTP monitors against a private nginx on 127.0.0.1: Belay's CPU and RSS
             over the steady window, the scheduler's lateness, and list-API round trips.

Python standard library plus aiohttp (installed by bench/detect when missing).
Settings come from BENCH_* environment variables (bench/README.md documents them).
This file only parses the command line and runs the sections; the work is in bench/detectbench/.
"""

import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)  # detectbench, and status_page (the same wrk parsing as bench/status-page)
from detectbench import bulk, ingest, isolation, latency, monitors  # noqa: E402
from detectbench.ceiling import sqlite_ceiling  # noqa: E402
from detectbench import common  # noqa: E402
from detectbench.common import SECTIONS, BenchError, Settings, env, fs_type, log  # noqa: E402
from detectbench.payload import single_body  # noqa: E402
from detectbench.procs import PROCS  # noqa: E402
from detectbench.report import report  # noqa: E402

RUN = {"ingest": ingest.run, "latency": latency.run, "bulk": bulk.run, "isolation": isolation.run,
       "monitors": monitors.run}


def _sigterm(signum, frame):
    # bench/detect forwards Ctrl-C / SIGTERM here; unwinding stops every child through PROCS.
    raise KeyboardInterrupt


def parse_sections(args):
    sections = []
    for s in args or ["all"]:
        for part in s.replace(",", " ").split():
            if part == "all":
                sections.extend(x for x in SECTIONS if x not in sections)
            elif part in SECTIONS:
                if part not in sections:
                    sections.append(part)
            else:
                raise SystemExit("unknown section %r (use: %s or all)" % (part, " ".join(SECTIONS)))
    return [s for s in SECTIONS if s in sections]


def machine_meta(args, sections, settings, workdir):
    meta = common.machine_meta(args, settings, workdir, {"sqlite": sqlite3.sqlite_version})
    meta["sections_run"] = sections
    try:
        import aiohttp
        meta["tools"]["aiohttp"] = aiohttp.__version__
    except ImportError:
        raise SystemExit("aiohttp is missing (bench/detect installs it with pip)")
    return meta


def run(args):
    sections = parse_sections(args.sections)
    settings = Settings()
    signal.signal(signal.SIGTERM, _sigterm)
    base_tmp = env("BENCH_TMPDIR", os.environ.get("TMPDIR", "/tmp"))
    workdir = tempfile.mkdtemp(prefix="belay-detect.", dir=base_tmp)
    os.chmod(workdir, 0o755)
    meta = machine_meta(args, sections, settings, workdir)
    log("sections: %s; work dir %s (%s); belay %s (%s build)" % (
        " ".join(sections), workdir, meta["machine"]["data_filesystem"], args.bin, args.build_kind))
    results = {}
    failed = False
    interrupted = False
    try:
        for s in sections:
            log("=== %s ===" % s)
            t0 = time.monotonic()
            try:
                results[s] = RUN[s](settings, args.bin, workdir)
            except BenchError as e:
                # One section failing (Belay refused, exited, or answered in another shape) must not
                # stop the others; it is an ERROR row and exit status 1.
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
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
