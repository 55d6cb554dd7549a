"""Section `bulk`: one Alertmanager notification carrying 20,000 alerts, then are they all there?"""

import http.client
import json
import time

from .common import GOALS, BenchError, json_of, log, need, okmiss, fmt
from .integration import DELIVER, setup_ingestion
from .payload import fingerprint, make_alert, make_notification
from .server import Belay, db_counts, incident_count

SIGNALS = "GET /api/v1/signals"
SIGNALS_LIMIT = 1000  # the endpoint's maximum `limit` (openapi.json)
BULK_PREFIX = "03fe"  # fingerprint(3, i): the dedup keys of this payload's alerts


def list_firing_signals(belay):
    """One GET /api/v1/signals?status=firing at the largest limit.

    SignalList is {"signals": [...]} with no paging and no total, so this shows that the signals
    exist, not that all of them do (the database count after the run does that)."""
    path = "/api/v1/signals?status=firing&limit=%d" % SIGNALS_LIMIT
    status, raw = belay.request("GET", path)
    if status != 200:
        raise BenchError("GET %s -> HTTP %d: %s" % (path, status, raw[:400].decode("utf-8", "replace")))
    items = need(json_of(raw, SIGNALS), "signals", SIGNALS, list)
    notes = []
    if len(items) >= SIGNALS_LIMIT:
        notes.append("first page was full (%d) and had no nextAfter: the count may be capped" % len(items))
    # total_field stays null: SignalList has no total; the key is kept so the JSON keeps its shape.
    return items, {"pages": 1, "limit": SIGNALS_LIMIT, "total_field": None, "notes": notes}


def run(settings, binary, workdir):
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
        if status // 100 == 2:
            # 200 AlertmanagerAnswer {"status", "accepted"}; a refusal's body is kept as it came.
            answer = json_of(raw, DELIVER)
            accepted = need(answer, "accepted", DELIVER, int)
        else:
            accepted = None
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
            items, info = list_firing_signals(b)
            t3 = time.perf_counter()
            ours = sum(1 for s in items if need(s, "dedupKey", SIGNALS + " (signals[])", str).startswith(BULK_PREFIX))
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
            r["verify"]["api_shows_expected"] = len(items) >= expected
            r["verify"]["api_listed_min"] = len(items) >= min(expected, info["limit"])
        r["accepted_matches"] = accepted == n
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


def rows(x, settings):
    # `answer` is Belay's AlertmanagerAnswer on a 2xx, or whatever a refusal carried (an Error or text).
    accepted = x["answer"].get("accepted") if isinstance(x["answer"], dict) else x["answer"]
    out = [("%d alerts (%.1f MB) -> HTTP %d, seconds" % (x["alerts"], x["body_bytes"] / 1e6, x["status"]),
            fmt(x["seconds"], "%.3f"), "< %.0f" % GOALS["bulk_seconds"], okmiss(x["meets_goal"])),
           ("  answer 'accepted'", str(accepted)[:22], str(x["alerts"]), okmiss(x["accepted_matches"]))]
    v = x.get("verify")
    if v:
        out.append(("  GET /signals?status=firing lists (limit %s)" % v.get("limit"),
                    "%d" % v["firing_signals_listed"], "", ""))
        out.append(("  firing signals in belay.sqlite (expected %d)" % v["expected_firing"],
                    str(v.get("stored_firing")), "all", okmiss(v.get("complete"))))
    return out
