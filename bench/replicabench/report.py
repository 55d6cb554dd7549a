"""The result table (stdout, one column per replica count) and the JSON file; the exit status."""

import json
import os
import sys

from detectbench.common import fmt

from .settings import GOALS, failover_bound


def _cell(x, key, spec="%.1f"):
    return fmt(x.get(key), spec) if x else "n/a"


def _verdict(ok):
    return " ok" if ok else " MISS"


def rows(scenarios, settings):
    """(measurement, [cell per scenario], goal)."""
    def each(f):
        return [("ERROR" if "error" in s else f(s)) for s in scenarios]

    interval = settings["monitor_interval"]
    out = [
        ("ingest: accepted webhooks/s, sum (wrk, %d conns total)" % settings["connections"],
         each(lambda s: _cell(s["ingest"], "accepted_per_sec")), ""),
        ("  per replica", each(lambda s: " + ".join("%.0f" % (r["accepted_per_sec"] or 0)
                                                   for r in s["ingest"]["per_replica"])), ""),
        ("  non-2xx / socket errors", each(lambda s: "%d / %d" % (s["ingest"]["non_2xx"],
                                                                   s["ingest"]["socket_errors"])), "0 / 0"),
        ("  signals stored / 2xx incl. warm-up", each(lambda s: "%d / %d%s" % (
            s["ingest"]["signals_stored"], s["ingest"]["acknowledged_total"],
            _verdict(s["ingest"]["all_acknowledged_stored"]))), "stored>=2xx"),
        ("  CPU cores: Belay (all) / PostgreSQL", each(lambda s: "%s / %s" % (
            fmt(s["ingest"]["cpu"]["belay_cores_total"], "%.2f"), fmt(s["ingest"]["cpu"]["postgres_cores"], "%.2f"))),
         ""),
        ("status page /: req/s, sum (wrk, %d conns total, %s)" % (settings["status_connections"],
                                                                settings["status_encoding"]),
         each(lambda s: _cell(s["status_page"], "rps")), ""),
        ("  p99 ms (worst replica) / errors", each(lambda s: "%s / %d" % (
            fmt(s["status_page"]["p99_ms_worst"], "%.2f"), s["status_page"]["errors"])), ""),
        ("propagation A -> C summary.json: median / max s",
         each(lambda s: "%s / %s%s" % (fmt(s["propagation"]["median_s"], "%.3f"), fmt(s["propagation"]["max_s"], "%.3f"),
                                       "" if s["propagation"]["same_process"] else
                                       _verdict(s["propagation"]["meets_goal"]))),
         "max <= %.1f" % GOALS["propagation_max_s"]),
        ("  (%d tries; 1 replica: A = C; POST median s)" % settings["propagation_tries"],
         each(lambda s: "%s%s" % (fmt(s["propagation"]["median_post_s"], "%.3f"),
                                  ", %d unseen" % s["propagation"]["missing"] if s["propagation"]["missing"] else "")),
         ""),
        ("failover: victim's monitors have a new result, max s",
         each(lambda s: _cell(s.get("failover"), "visible_max_s", "%.2f")), ""),
        ("  median s over its monitors", each(lambda s: _cell(s.get("failover"), "visible_median_s", "%.2f")), ""),
        ("  checkedAt after the kill, max s", each(lambda s: "n/a" if not s.get("failover") else "%s%s" % (
            fmt(s["failover"]["checked_max_s"], "%.2f"), _verdict(s["failover"]["meets_goal"]))),
         "<= %.0f (docs)" % failover_bound(interval)),
        ("  lease left at the kill / checked after it ran out, s", each(lambda s: "n/a" if not s.get("failover")
                                                                     else "%s / %s" % (
            fmt(s["failover"]["lease_left_at_kill_s"], "%.2f"), fmt(s["failover"]["checked_after_lease_end_s"], "%.2f"))),
         ""),
        ("  monitors owned by the victim / of", each(lambda s: "n/a" if not s.get("failover") else "%d / %d" % (
            s["failover"]["owned_by_victim"], s["failover"]["monitors"])), ""),
        ("  the others' monitors: longest gap s", each(lambda s: _cell(s.get("failover"), "others_max_gap_s", "%.2f")),
         "~%d" % interval),
    ]
    return out


def report(scenarios, meta, out_file, strict):
    w = sys.stdout.write
    settings = meta["settings"]
    w("\nBelay replicas on PostgreSQL - %s build %s; nproc=%d; load avg before %s\n" % (
        meta["belay"]["build"], meta["belay"]["binary"], meta["machine"]["nproc"],
        meta["machine"]["loadavg_1m_before"]))
    if meta["belay"]["build"] != "release":
        w("WARNING: not a release build - the figures only mean something for a release build.\n")
    heads = ["%d replica%s" % (s["replicas"], "" if s["replicas"] == 1 else "s") for s in scenarios]
    width = 60
    cw = 22
    w("\n%-*s" % (width, "measurement") + "".join("%*s" % (cw, h) for h in heads) + "  goal\n")
    w("-" * (width + cw * len(heads) + 16) + "\n")
    for m, cells, goal in rows(scenarios, settings):
        w("%-*s" % (width, m) + "".join("%*s" % (cw, c) for c in cells) + "  %s\n" % goal)
    for s in scenarios:
        if "error" in s:
            w("\n%d replica(s): ERROR %s\n" % (s["replicas"], s["error"][:600]))
    goals = []
    for s in scenarios:
        if "error" in s:
            continue
        goals.append(s["ingest"]["all_acknowledged_stored"])
        if not s["propagation"]["same_process"]:
            goals.append(s["propagation"]["meets_goal"])
        if s.get("failover"):
            goals.append(s["failover"]["meets_goal"])
    failed = any("error" in s for s in scenarios)
    all_ok = bool(goals) and all(goals) and not failed
    w("\noverall: %s\n" % ("all goals met" if all_ok else "some goals missed or scenarios failed"))
    doc = {"benchmark": "replicas", **meta, "goals": {**GOALS, "failover_checked_max_s":
                                                      failover_bound(settings["monitor_interval"])},
           "scenarios": scenarios, "all_goals_met": all_ok}
    os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
    with open(out_file, "w") as f:
        json.dump(doc, f, indent=2, default=str)
        f.write("\n")
    w("Results written to %s\n" % out_file)
    if failed:
        return 1
    if strict and not all_ok:
        return 3
    return 0
