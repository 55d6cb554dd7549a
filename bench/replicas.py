#!/usr/bin/env python3
"""bench/replicas.py - 1, 2 and 3 `belay serve` replicas on one PostgreSQL database (run it through
`bash bench/replicas`; see bench/README.md, section "Replicas").

For each replica count, on a fresh PostgreSQL cluster (scripts/postgres): status-page req/s summed over the
replicas, the time a change on replica A takes to show on replica C's summary.json, Alertmanager webhook
deliveries per second spread over the replicas, and (with two or more) the failover time after SIGKILL of one
replica. The work is in bench/replicabench/; the pieces shared with bench/detect come from bench/detectbench/.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)  # detectbench, replicabench and status_page
from detectbench import common  # noqa: E402

common.LOG_TAG = "replicas"

from detectbench.common import env, fs_type, log  # noqa: E402
from detectbench.procs import PROCS  # noqa: E402
from replicabench import scenario  # noqa: E402
from replicabench.report import report  # noqa: E402
from replicabench.settings import Settings  # noqa: E402


def _sigterm(signum, frame):
    # bench/replicas forwards Ctrl-C / SIGTERM here; unwinding stops every replica and cluster.
    raise KeyboardInterrupt


def machine_meta(args, settings, workdir):
    postgres = subprocess.run(["bash", "-c", "$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/postgres --version"],
                              capture_output=True, text=True).stdout.strip()
    return common.machine_meta(args, settings, workdir, {"postgres": postgres})


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", required=True)
    p.add_argument("--build-kind", default="unknown")
    p.add_argument("--out", required=True)
    p.add_argument("--strict", action="store_true")
    args = p.parse_args()
    settings = Settings()
    signal.signal(signal.SIGTERM, _sigterm)
    workdir = tempfile.mkdtemp(prefix="belay-replicas.", dir=env("BENCH_TMPDIR", os.environ.get("TMPDIR", "/tmp")))
    os.chmod(workdir, 0o755)  # PostgreSQL runs as belaypg when we are root and needs to reach its directory
    meta = machine_meta(args, settings, workdir)
    log("replica counts %s; work dir %s; belay %s (%s build)" % (
        " ".join(map(str, settings.replica_counts)), workdir, args.bin, args.build_kind))
    scenarios = []
    try:
        for n in settings.replica_counts:
            log("=== %d replica%s ===" % (n, "" if n == 1 else "s"))
            scenarios.append(scenario.run(n, settings, args.bin, workdir))
            PROCS.stop_all()
    except KeyboardInterrupt:
        PROCS.stop_all()
        log("interrupted; work files kept in %s" % workdir)
        return 130
    finally:
        PROCS.stop_all()
    rc = report(scenarios, meta, args.out, args.strict)
    if rc == 1 or settings.keep_tmp:
        log("work files kept in %s" % workdir)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
