"""SIGKILL one replica while HTTP monitors run at a short interval, and time how long until every monitor it
owned has a check result from another replica (GET /api/v1/monitors/{id}/results)."""

import collections
import http.client
import statistics
import time
from datetime import datetime, timezone

from detectbench.common import BenchError, json_of, log, need
from detectbench.procs import PROCS

from .cluster import replica_leases
from .owners import OwnerTarget
from .settings import GOALS, failover_bound

CREATE = "POST /api/v1/monitors"
RESULTS = "GET /api/v1/monitors/{id}/results"


def parse_time(text):
    """RFC 3339 as Belay writes it (milliseconds, Z) -> epoch seconds."""
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            continue
    raise BenchError("%s: checkedAt %r is not RFC 3339 in UTC" % (RESULTS, text))


class Client:
    """One keep-alive connection to a replica's API, reopened after an error."""

    def __init__(self, belay):
        self.belay = belay
        self.conn = None

    def get(self, path):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.belay.port, timeout=10)
            try:
                self.conn.request("GET", path, headers={"Authorization": "Bearer " + self.belay.token,
                                                        "Accept": "application/json"})
                r = self.conn.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def close(self):
        if self.conn is not None:
            self.conn.close()


def newest_after(client, monitor_id, after):
    """The earliest check time after `after` among the monitor's newest results, or None."""
    path = "/api/v1/monitors/%d/results?limit=10" % monitor_id
    status, raw = client.get(path)
    if status != 200:
        raise BenchError("GET %s -> HTTP %d: %r" % (path, status, raw[:300]))
    results = need(json_of(raw, RESULTS), "results", RESULTS, list)
    times = [parse_time(need(r, "checkedAt", RESULTS, str)) for r in results]
    later = [t for t in times if t > after]
    return min(later) if later else None


def wait_settled(target, replicas, settings, tag):
    """Until, over the last three intervals, every monitor was checked and each by one replica only; returns
    {monitor number: pid}. Replicas learn of monitors made on others at their next lease renewal (5 s)."""
    window = 3.0 * settings.monitor_interval
    pids = {b.proc.pid for b in replicas}
    t_start = time.time()
    last = None
    while time.time() - t_start < settings.settle_timeout:
        time.sleep(0.5)
        now = time.time()
        if now - t_start < window:
            continue
        seen = collections.defaultdict(set)
        for at, n, pid in target.snapshot():
            if at >= now - window and n is not None:
                seen[n].add(pid)
        last = seen
        if (len(seen) == settings.monitors and all(len(s) == 1 and None not in s for s in seen.values())
                and {next(iter(s)) for s in seen.values()} == pids):
            return {n: next(iter(s)) for n, s in seen.items()}
    raise BenchError("monitor ownership did not settle within %.0f s (every monitor checked by exactly one"
                     " replica, every replica owning some): %s" % (
                         settings.settle_timeout,
                         {n: sorted(str(p) for p in s) for n, s in sorted((last or {}).items())}))


def run(replicas, pg, settings, tag):
    if len(replicas) < 2:
        return None
    interval = settings.monitor_interval
    target = OwnerTarget()
    target.pids = [b.proc.pid for b in replicas]
    names = {b.proc.pid: b.name for b in replicas}
    a, victim = replicas[0], replicas[1]
    client = Client(a)
    try:
        ids = {}
        for n in range(settings.monitors):
            doc = replicas[n % len(replicas)].api("POST", "/api/v1/monitors", {
                "name": "failover %03d" % n, "kind": "http", "settings": {"url": target.url(n)},
                "intervalSeconds": interval, "timeoutSeconds": 1}, expect=(201,))
            ids[n] = need(doc, "id", CREATE, int)
        t_created = time.time()
        owners = wait_settled(target, replicas, settings, tag)
        share = collections.Counter(names[p] for p in owners.values())
        owned = sorted(n for n, p in owners.items() if p == victim.proc.pid)
        log("[%s] %d http monitors at %d s settled after %.1f s: %s; killing %s (owns %d)"
            % (tag, settings.monitors, interval, time.time() - t_created, dict(sorted(share.items())), victim.name,
               len(owned)))
        lease_end = replica_leases(pg).get(victim.proc.pid)

        t_kill = time.time()
        victim.proc.kill()
        victim.proc.wait()
        PROCS.stop(victim.proc)

        checked, visible = {}, {}
        deadline = t_kill + settings.failover_timeout
        while len(visible) < len(owned) and time.time() < deadline:
            for n in owned:
                if n in visible:
                    continue
                t = newest_after(client, ids[n], t_kill)
                if t is not None:
                    checked[n], visible[n] = t, time.time()
            time.sleep(settings.failover_poll)
        t_end = time.time()
        time.sleep(interval)  # one more interval of the others' checks, for the gap figure below
        hits = target.snapshot()
    finally:
        client.close()
        target.close()

    after = collections.defaultdict(list)
    for at, n, pid in hits:
        if at > t_kill and n is not None:
            after[n].append((at, pid))
    first_hit = {n: min(after[n]) for n in owned if after[n]}
    takers = collections.Counter(names.get(pid, str(pid)) for _, pid in first_hit.values())
    # The gap, as a cross-check of the attribution: the victim's monitors are the ones nobody checked for
    # well over an interval after the kill.
    by_gap = sorted(n for n in range(settings.monitors)
                    if not any(at <= t_kill + 2 * interval + 1 for at, _ in after[n]))
    # The others' monitors must go on as before: the longest pause between two of their checks around the kill.
    gaps = []
    for n, pid in owners.items():
        if n in owned:
            continue
        ts = sorted(at for at, m, _ in hits if m == n and at >= t_kill - 2 * interval)
        gaps.extend(b - a_ for a_, b in zip(ts, ts[1:]))
    missing = [n for n in owned if n not in visible]
    rel_visible = [visible[n] - t_kill for n in owned if n in visible]
    rel_checked = [checked[n] - t_kill for n in owned if n in checked]
    rel_hit = [first_hit[n][0] - t_kill for n in owned if n in first_hit]
    bound = failover_bound(interval)
    out = {
        "monitors": settings.monitors, "interval_s": interval, "victim": victim.name, "victim_pid": victim.proc.pid,
        "share_before": dict(sorted(share.items())), "owned_by_victim": len(owned),
        "owned_by_gap": len(by_gap), "attribution_agrees_with_gap": by_gap == owned,
        "lease_left_at_kill_s": round(lease_end - t_kill, 3) if lease_end else None,
        "lease_s": GOALS["lease_s"],
        # How long after B's lease ran out the last of its monitors was checked: the survivors only notice at
        # their next renewal (every 5 s), then check when the monitor is due.
        "checked_after_lease_end_s": round(max(rel_checked) - (lease_end - t_kill), 3)
        if rel_checked and lease_end else None,
        "visible_max_s": round(max(rel_visible), 3) if rel_visible else None,
        "visible_median_s": round(statistics.median(rel_visible), 3) if rel_visible else None,
        "visible_min_s": round(min(rel_visible), 3) if rel_visible else None,
        "checked_max_s": round(max(rel_checked), 3) if rel_checked else None,
        "target_hit_max_s": round(max(rel_hit), 3) if rel_hit else None,
        "taken_over_by": dict(sorted(takers.items())),
        "victim_checked_after_kill": any(pid == victim.proc.pid for _, pid in first_hit.values()),
        "others_max_gap_s": round(max(gaps), 3) if gaps else None,
        "missing_after_timeout": missing, "poll_seconds": settings.failover_poll,
        "waited_s": round(t_end - t_kill, 1), "goal_checked_max_s": bound,
        "per_monitor": {str(n): {"id": ids[n], "checked_s": round(checked[n] - t_kill, 3) if n in checked else None,
                                 "visible_s": round(visible[n] - t_kill, 3) if n in visible else None,
                                 "target_hit_s": round(first_hit[n][0] - t_kill, 3) if n in first_hit else None,
                                 "by": names.get(first_hit[n][1]) if n in first_hit else None} for n in owned},
    }
    out["meets_goal"] = (not missing and out["checked_max_s"] is not None and out["checked_max_s"] <= bound
                         and not out["victim_checked_after_kill"])
    log("[%s] failover: all %d monitors of %s visible again after %s s (checkedAt %s s, first check at the target"
        " %s s; lease had %s s left), taken over by %s; the others' longest gap %s s%s"
        % (tag, len(owned), victim.name, out["visible_max_s"], out["checked_max_s"], out["target_hit_max_s"],
           out["lease_left_at_kill_s"], out["taken_over_by"], out["others_max_gap_s"],
           "; MISSING %s after %.0f s" % (missing, settings.failover_timeout) if missing else ""))
    return out
