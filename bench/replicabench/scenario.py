"""One scenario: N replicas on a fresh PostgreSQL cluster, every measurement in turn, everything stopped after."""

import json
import re
import time
import traceback

from detectbench.common import BenchError, log
from detectbench.integration import setup_ingestion
from detectbench.isolation import seed_components

from . import failover, propagation, throughput
from .cluster import Postgres, start_replicas, stop_replicas


def wait_components(replicas, count):
    """Every replica's public snapshot lists the seeded components (each rebuilds its own, woken by NOTIFY)."""
    for b in replicas:
        deadline = time.monotonic() + 30
        while True:
            st, raw = b.request("GET", propagation.SUMMARY, auth=False)
            names = [c.get("name", "") for c in json.loads(raw).get("components", [])] if st == 200 else []
            if sum(1 for x in names if x.startswith("Service ")) >= count:
                break
            if time.monotonic() > deadline:
                raise BenchError("%s's summary.json does not list the %d seeded components within 30 s" % (b.name, count))
            time.sleep(0.2)


def run(n, settings, binary, workdir):
    tag = "n%d" % n
    t0 = time.monotonic()
    pg = Postgres(workdir, tag + "-postgres")
    replicas = []
    result = {"replicas": n}
    try:
        pg.start()
        result["database"] = re.sub(r"//([^:]+):[^@]*@", r"//\1:redacted@", pg.url)
        replicas = start_replicas(binary, workdir, tag, n, pg.url, settings)
        result["serve_command"] = " ".join(replicas[0].argv[1:]).replace(pg.url, "URL")
        a = replicas[0]
        seed_components(a, settings.status_components)
        setup = setup_ingestion(a)
        wait_components(replicas, settings.status_components)
        log("[%s] status page: wrk on / of every replica at once" % tag)
        result["status_page"] = throughput.status_page(replicas, pg, settings, tag)
        log("[%s] propagation: %d incidents declared on %s, polled on %s's summary.json"
            % (tag, settings.propagation_tries, a.name, replicas[-1].name))
        result["propagation"] = propagation.run(replicas, settings, tag, "status-00")
        log("[%s] ingest: one wrk per replica with detect_ingest.lua, distinct fingerprints" % tag)
        result["ingest"] = throughput.ingest(replicas, pg, setup["path"], settings, tag)
        if n >= 2:
            log("[%s] failover: %d http monitors at %d s, then SIGKILL %s"
                % (tag, settings.monitors, settings.monitor_interval, replicas[1].name))
            result["failover"] = failover.run(replicas, pg, settings, tag)
        for b in replicas:
            if b is not (replicas[1] if n >= 2 else None) and not b.alive():
                raise BenchError("%s exited during the scenario: %s" % (b.name, b.tail()))
    except BenchError as e:
        log("[%s] FAILED: %s" % (tag, e))
        result["error"] = str(e)
    except Exception as e:  # noqa: BLE001 - one broken scenario must not lose the others' figures
        log("[%s] FAILED unexpectedly:\n%s" % (tag, traceback.format_exc()))
        result["error"] = "unexpected %r" % e
    finally:
        stop_replicas(replicas)
        pg.stop()
    result["scenario_seconds"] = round(time.monotonic() - t0, 1)
    return result
