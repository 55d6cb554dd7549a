"""The result table (stdout) and the JSON file; the exit status says whether sections failed or goals missed."""

import json
import os
import sys

from . import bulk, ingest, isolation, latency, monitors
from .common import GOALS, SECTIONS

ROWS = {"ingest": ingest.rows, "latency": latency.rows, "bulk": bulk.rows, "isolation": isolation.rows,
        "monitors": monitors.rows}


def report(results, meta, out_file, strict):
    rows = []  # (section, measurement, value, goal, verdict)
    for section in (s for s in SECTIONS if s in results):
        x = results[section]
        if "error" in x:
            rows.append((section, "ERROR", x["error"][:90], "", "FAIL"))
        else:
            rows.extend((section,) + row for row in ROWS[section](x, meta["settings"]))

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
