"""A change on replica A (an incident declared through the API) until it shows on replica C's
/api/v2/summary.json, over several tries; with one replica A and C are the same process."""

import http.client
import json
import statistics
import threading
import time
import uuid

from detectbench.common import BenchError, log

from .settings import GOALS

SUMMARY = "/api/v2/summary.json"


def _summary_names(conn):
    conn.request("GET", SUMMARY, headers={"Accept": "application/json"})
    r = conn.getresponse()
    raw = r.read()
    if r.status != 200:
        raise BenchError("GET %s -> HTTP %d: %r" % (SUMMARY, r.status, raw[:300]))
    try:
        doc = json.loads(raw)
        return {i["name"] for i in doc["incidents"]}, len(doc["components"])
    except (ValueError, KeyError, TypeError):
        raise BenchError("GET %s: not the Statuspage summary shape (incidents[].name, components): %r"
                         % (SUMMARY, raw[:300]))


def _one_try(a, c, component, n, settings):
    """Declare on A in a thread and poll C from the moment the request leaves: C may show the incident
    before A's 201 arrives."""
    name = "Propagation probe %d %s" % (n, uuid.uuid4().hex[:8])
    body = {"title": name, "severity": "sev3", "isPublic": True,
            "components": [{"slug": component, "impact": "degraded_performance"}], "message": "Propagation probe."}
    answer = {}

    def declare():
        try:
            answer["status"], answer["raw"] = a.request("POST", "/api/v1/incidents", body)
        except OSError as e:
            answer["error"] = repr(e)
        answer["t"] = time.perf_counter()

    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)
    try:
        names, _ = _summary_names(conn)  # the keep-alive connection is open before the clock starts
        if name in names:
            raise BenchError("summary already lists %r" % name)
        t0 = time.perf_counter()
        poster = threading.Thread(target=declare, daemon=True)
        poster.start()
        polls = 0
        seen = None
        while time.perf_counter() - t0 < settings.propagation_timeout:
            names, _ = _summary_names(conn)
            polls += 1
            if name in names:
                seen = time.perf_counter()
                break
            time.sleep(settings.propagation_poll)
        poster.join(timeout=30)
    finally:
        conn.close()
    if "error" in answer or answer.get("status") != 201:
        raise BenchError("POST /api/v1/incidents on %s -> %s" % (
            a.name, answer.get("error") or "HTTP %s: %r" % (answer.get("status"), answer.get("raw", b"")[:300])))
    return {"seconds": round(seen - t0, 4) if seen else None,
            "after_201_seconds": round(seen - answer["t"], 4) if seen else None,
            "post_seconds": round(answer["t"] - t0, 4), "polls": polls}


def run(replicas, settings, tag, component):
    a, c = replicas[0], replicas[-1]
    conn = http.client.HTTPConnection("127.0.0.1", c.port, timeout=10)
    # The seeded components must be on C's page first, so the tries time incidents, not the first snapshot.
    deadline = time.monotonic() + 30
    try:
        while _summary_names(conn)[1] < settings.status_components:
            if time.monotonic() > deadline:
                raise BenchError("%s's summary does not list the %d seeded components within 30 s"
                                 % (c.name, settings.status_components))
            time.sleep(0.2)
    finally:
        conn.close()
    tries = []
    for n in range(settings.propagation_tries):
        tries.append(_one_try(a, c, component, n, settings))
        time.sleep(0.5)  # let the rebuild after this change finish before the next one
    times = [t["seconds"] for t in tries if t["seconds"] is not None]
    missing = sum(1 for t in tries if t["seconds"] is None)
    out = {"from": a.name, "to": c.name, "same_process": a is c, "tries": tries, "missing": missing,
           "median_s": round(statistics.median(times), 4) if times else None,
           "max_s": round(max(times), 4) if times else None,
           "min_s": round(min(times), 4) if times else None,
           "median_after_201_s": round(statistics.median(t["after_201_seconds"] for t in tries
                                                         if t["after_201_seconds"] is not None), 4) if times else None,
           "median_post_s": round(statistics.median(t["post_seconds"] for t in tries), 4),
           "goal_max_s": GOALS["propagation_max_s"]}
    out["meets_goal"] = not missing and out["max_s"] is not None and out["max_s"] <= GOALS["propagation_max_s"]
    log("[%s] propagation %s -> %s: median %s s, max %s s over %d tries (%d not seen within %.0f s);"
        " POST itself median %s s" % (tag, a.name, c.name, out["median_s"], out["max_s"], len(tries), missing,
                                      settings.propagation_timeout, out["median_post_s"]))
    return out
