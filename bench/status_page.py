#!/usr/bin/env python3
"""Helper for bench/status-page (see bench/README.md).

Standard library only, so the benchmark runs on a bare machine.

Subcommands:
  free-port                      print a free TCP port on 127.0.0.1
  seed                           create components + 5 active incidents through Belay's API
  wait-snapshot                  poll /api/v2/summary.json until the seeded data is visible
  record                         parse one wrk output and append it to STATE/runs.jsonl
  scenario-info                  write what was served in one scenario (sizes, hashes, headers)
  report                         print the result table and write the JSON result file

Every measurement has a mode: "identity" (no Accept-Encoding, plain bytes) or
"gzip" (Accept-Encoding: gzip, Belay's precompressed bytes on every server), and a
series: "nginx" (one Belay run, then one nginx run) or "reference" (Belay and the
minimal NIO server bench/nio-reference taking turns, run 1..N each).
"""

import argparse
import hashlib
import http.client
import json
import os
import re
import socket
import statistics
import sys
import time
import urllib.parse
import urllib.request

# --------------------------------------------------------------------------- seeding

SMALL_GROUP_NAMES = ["Core Platform", "Data", "Edge", "Integrations"]

# (name, description) - a realistic mix of what a status page lists.
COMPONENT_POOL = [
    ("API", "Public REST API used by customers and integrations"),
    ("Web App", "The browser dashboard at app.example.com"),
    ("Database", "Primary PostgreSQL cluster holding customer data"),
    ("Cache", "Redis cache in front of the database"),
    ("Job Queue", "Background job processing and scheduled work"),
    ("Search", "Full-text search across projects and documents"),
    ("Authentication", "Login, single sign-on and session management"),
    ("Billing", "Invoices, subscriptions and payment processing"),
    ("Email Delivery", "Transactional email such as invites and receipts"),
    ("Webhooks", "Outgoing webhook deliveries to customer endpoints"),
    ("CDN", "Static assets and file downloads served from the edge"),
    ("DNS", "Authoritative DNS for all customer-facing domains"),
    ("Object Storage", "Uploaded files, attachments and exports"),
    ("Analytics", "Usage dashboards and reporting pipeline"),
    ("Notifications", "Push, SMS and in-app notifications"),
    ("Scheduler", "Cron-style triggers and delayed jobs"),
    ("Log Ingestion", "Collection and indexing of customer logs"),
    ("Metrics", "Time-series ingestion and query service"),
    ("Payments Gateway", "Card processing through our payment partner"),
    ("Admin Console", "Internal tools used by support staff"),
]

# The same five incidents in every scenario.  Affected components are given as
# (group index, position in group, impact); indices are taken modulo the real
# counts so the 20- and the 1,000-component runs get identical incident shapes.
INCIDENTS = [
    {
        "title": "Elevated error rates on the API",
        "severity": "sev2",
        "components": [(0, 1, "partial_outage")],
        "message": "We are investigating elevated 5xx error rates on API requests. "
                   "Some requests may fail or time out; retries are likely to succeed.",
        "updates": [
            ("identified", "The errors are caused by a misbehaving deploy on a subset of API hosts. "
                           "We are rolling the change back."),
            ("monitoring", "The rollback is complete and error rates are back to normal. "
                           "We are monitoring the API closely."),
        ],
    },
    {
        "title": "Primary database failover in progress",
        "severity": "sev1",
        "components": [(1, 0, "major_outage"), (1, 2, "degraded_performance")],
        "message": "We are investigating an unplanned failover of the primary database cluster. "
                   "Writes are currently failing for most customers.",
        "updates": [
            ("identified", "A storage fault on the primary node triggered the failover. The replica "
                           "is being promoted and writes will resume shortly."),
        ],
    },
    {
        "title": "Delayed webhook deliveries",
        "severity": "sev3",
        "components": [(3, 1, "degraded_performance")],
        "message": "We are investigating delays of up to 15 minutes in outgoing webhook deliveries. "
                   "No events have been lost.",
        "updates": [
            ("identified", "A backlog built up after a queue consumer stalled. We have restarted the "
                           "consumers and are draining the backlog."),
            ("monitoring", "The backlog is shrinking and new events are delivered within seconds. "
                           "We continue to monitor."),
        ],
    },
    {
        "title": "Slow asset downloads in Europe",
        "severity": "sev3",
        "components": [(2, 0, "degraded_performance"), (2, 3, "partial_outage")],
        "message": "We are investigating slow downloads of static assets and attachments for "
                   "customers in Europe.",
        "updates": [
            ("identified", "One of our edge providers is routing European traffic through a congested "
                           "region. We are shifting traffic away from it."),
        ],
    },
    {
        "title": "Login failures for single sign-on users",
        "severity": "sev2",
        "components": [(0, 3, "partial_outage"), (0, 4, "degraded_performance"),
                       (3, 4, "degraded_performance")],
        "message": "We are investigating reports that some users cannot sign in through SAML single "
                   "sign-on. Password logins are not affected.",
        "updates": [
            ("identified", "An expired signing certificate in our identity provider configuration is "
                           "the cause. We are rotating it now."),
            ("monitoring", "The certificate has been rotated and SSO logins are succeeding again. "
                           "We are monitoring for further failures."),
        ],
    },
]


def slugify(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def build_components(n, groups):
    """Return a list of groups, each a list of component dicts (creation order)."""
    groups = max(1, min(groups, n))
    base, extra = divmod(n, groups)
    result = []
    offset = 0
    for gi in range(groups):
        size = base + (1 if gi < extra else 0)
        if groups <= len(SMALL_GROUP_NAMES):
            gname = SMALL_GROUP_NAMES[gi]
        else:
            gname = "Region %02d" % (gi + 1)
        gslug = slugify(gname)
        comps = []
        for j in range(size):
            name, desc = COMPONENT_POOL[(offset + j) % len(COMPONENT_POOL)]
            if size > len(COMPONENT_POOL):
                name = "%s %d" % (name, j // len(COMPONENT_POOL) + 1)
            comp = {
                "slug": "%s-%s" % (gslug, slugify(name)),
                "name": name,
                "group": gname,
                "description": "%s (%s)." % (desc, gname),
            }
            if j > 0:
                comp["dependsOn"] = [comps[0]["slug"]]
            comps.append(comp)
        offset += size
        result.append(comps)
    return result


class Api:
    def __init__(self, base, token):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port or 80
        self.token = token
        self.conn = None

    def _connect(self):
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def post(self, path, body):
        data = json.dumps(body).encode()
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": "Bearer " + self.token,
        }
        for attempt in (1, 2):
            if self.conn is None:
                self._connect()
            try:
                self.conn.request("POST", path, body=data, headers=headers)
                resp = self.conn.getresponse()
                raw = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status, raw
            except (http.client.HTTPException, OSError) as e:
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    die("POST %s: %r (is belay serve still running?)" % (path, e))
                time.sleep(0.2)


def die(msg):
    print("status_page.py: error: " + msg, file=sys.stderr)
    sys.exit(1)


def cmd_seed(args):
    api = Api(args.base, args.token)
    t0 = time.monotonic()
    groups = build_components(args.components, args.groups)
    created = 0
    for comps in groups:
        for comp in comps:
            status, raw = api.post("/api/v1/components", comp)
            if status != 201:
                die("POST /api/v1/components %s -> HTTP %d: %s"
                    % (comp["slug"], status, raw[:500].decode("utf-8", "replace")))
            created += 1
    t_components = time.monotonic() - t0

    updates_total = 0
    incident_ids = []
    for inc in INCIDENTS:
        affected = []
        seen = set()
        for gi, pos, impact in inc["components"]:
            comps = groups[gi % len(groups)]
            slug = comps[pos % len(comps)]["slug"]
            if slug not in seen:
                seen.add(slug)
                affected.append({"slug": slug, "impact": impact})
        body = {
            "title": inc["title"],
            "severity": inc["severity"],
            "components": affected,
            "message": inc["message"],
        }
        status, raw = api.post("/api/v1/incidents", body)
        if status != 201:
            die("POST /api/v1/incidents -> HTTP %d: %s" % (status, raw[:500].decode("utf-8", "replace")))
        try:
            iid = str(json.loads(raw)["id"])
        except (ValueError, KeyError, TypeError):
            die("POST /api/v1/incidents: no id in response: %s" % raw[:500].decode("utf-8", "replace"))
        incident_ids.append(iid)
        updates_total += 1  # the opening message
        for st, msg in inc["updates"]:
            path = "/api/v1/incidents/%s/updates" % urllib.parse.quote(iid)
            status, raw = api.post(path, {"status": st, "message": msg})
            if status != 201 and st != "identified":
                print("status_page.py: warning: update status %r rejected (HTTP %d), retrying as "
                      "'identified'" % (st, status), file=sys.stderr)
                status, raw = api.post(path, {"status": "identified", "message": msg})
            if status != 201:
                die("POST %s -> HTTP %d: %s" % (path, status, raw[:500].decode("utf-8", "replace")))
            updates_total += 1
    elapsed = time.monotonic() - t0
    stats = {
        "components": created,
        "groups": len(groups),
        "incidents": len(incident_ids),
        "incident_ids": incident_ids,
        "incident_updates_including_opening_message": updates_total,
        "seed_seconds": round(elapsed, 3),
        "seed_components_seconds": round(t_components, 3),
    }
    if args.stats_out:
        with open(args.stats_out, "w") as f:
            json.dump(stats, f, indent=2)
    print("seeded %d components in %d groups, %d incidents (%d updates) in %.1fs"
          % (created, len(groups), len(incident_ids), updates_total, elapsed))


def find_list(obj, key):
    """First list stored under `key` anywhere in a JSON document (breadth first)."""
    queue = [obj]
    while queue:
        cur = queue.pop(0)
        if isinstance(cur, dict):
            if isinstance(cur.get(key), list):
                return cur[key]
            queue.extend(cur.values())
        elif isinstance(cur, list):
            queue.extend(cur)
    return None


def cmd_wait_snapshot(args):
    url = args.base.rstrip("/") + "/api/v2/summary.json"
    deadline = time.monotonic() + args.timeout
    last = "no response yet"
    shape_unknown_since = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                doc = json.loads(resp.read())
            incidents = find_list(doc, "incidents")
            components = find_list(doc, "components")
            if incidents is None or components is None:
                # Unknown shape: fall back to a fixed settle time (the snapshot is
                # rebuilt "shortly after" changes).
                shape_unknown_since = shape_unknown_since or time.monotonic()
                last = "summary has no incidents/components lists"
                if time.monotonic() - shape_unknown_since >= args.fallback_sleep:
                    print("status_page.py: warning: %s; waited %.1fs instead"
                          % (last, args.fallback_sleep), file=sys.stderr)
                    return
            else:
                last = "%d incidents, %d components" % (len(incidents), len(components))
                if len(incidents) >= args.incidents and len(components) >= args.components:
                    time.sleep(args.settle)
                    print("snapshot ready: " + last)
                    return
        except Exception as e:  # noqa: BLE001 - keep polling until the deadline
            last = repr(e)
        time.sleep(0.2)
    die("snapshot never showed %d incidents / %d components within %.0fs (last: %s)"
        % (args.incidents, args.components, args.timeout, last))


def cmd_free_port(_args):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


# --------------------------------------------------------------------------- wrk parsing

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}
_SIZE = {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3, "TB": 1024 ** 4}


def _dur_ms(num, unit):
    return float(num) * _UNITS_MS[unit]


def parse_wrk(text):
    out = {"rps": None, "p50_ms": None, "p75_ms": None, "p90_ms": None, "p99_ms": None,
           "latency_avg_ms": None, "latency_max_ms": None, "requests": None,
           "seconds": None, "bytes_read": None, "socket_errors": {}, "non_2xx_3xx": 0}
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if m:
        out["rps"] = float(m.group(1))
    for pct in ("50", "75", "90", "99"):
        m = re.search(r"^\s*%s(?:\.0+)?%%\s+([\d.]+)(us|ms|s|m|h)\s*$" % pct, text, re.M)
        if m:
            out["p%s_ms" % pct] = round(_dur_ms(m.group(1), m.group(2)), 4)
    m = re.search(r"^\s*Latency\s+([\d.]+)(us|ms|s|m|h)\s+[\d.]+\w+\s+([\d.]+)(us|ms|s|m|h)", text, re.M)
    if m:
        out["latency_avg_ms"] = round(_dur_ms(m.group(1), m.group(2)), 4)
        out["latency_max_ms"] = round(_dur_ms(m.group(3), m.group(4)), 4)
    m = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)(B|KB|MB|GB|TB) read", text, re.M)
    if m:
        out["requests"] = int(m.group(1))
        out["seconds"] = round(_dur_ms(m.group(2), m.group(3)) / 1000.0, 3)
        out["bytes_read"] = int(float(m.group(4)) * _SIZE[m.group(5)])
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        out["non_2xx_3xx"] = int(m.group(1))
    return out


def header_value(path, name):
    """Value of the last `name` header in a curl -D dump (None if absent or no file)."""
    value = None
    if path and os.path.exists(path):
        with open(path, "rb") as f:
            for line in f.read().decode("latin-1").splitlines():
                key, sep, val = line.partition(":")
                if sep and key.strip().lower() == name.lower():
                    value = val.strip()
    return value


def cmd_record(args):
    with open(args.wrk) as f:
        text = f.read()
    parsed = parse_wrk(text)
    if parsed["rps"] is None or parsed["p99_ms"] is None:
        die("could not parse wrk output %s:\n%s" % (args.wrk, text))
    header_bytes = None
    if args.headers and os.path.exists(args.headers):
        header_bytes = os.path.getsize(args.headers)
    row = {
        "scenario": args.scenario,
        "endpoint": args.endpoint,
        "mode": args.mode,
        "server": args.server,
        "series": args.series,
        "run": args.run,
        "url": args.url,
        "body_bytes": os.path.getsize(args.body),
        "response_header_bytes": header_bytes,
        "content_type": args.content_type,
        "content_encoding": header_value(args.headers, "Content-Encoding"),
        "vary": header_value(args.headers, "Vary"),
        **parsed,
        # Sanity check that wrk received full responses: about body + headers.
        "bytes_per_response": (round(parsed["bytes_read"] / parsed["requests"])
                               if parsed["bytes_read"] and parsed["requests"] else None),
        "wrk_output": text,
    }
    with open(os.path.join(args.state, "runs.jsonl"), "a") as f:
        f.write(json.dumps(row) + "\n")
    errs = sum(parsed["socket_errors"].values()) + parsed["non_2xx_3xx"]
    print("  %-8s %-9s %-22s %11.1f req/s   p99 %8.2f ms%s%s"
          % (args.mode, args.server, args.endpoint, parsed["rps"], parsed["p99_ms"],
             "   (run %d)" % args.run if args.run else "", "   (%d errors!)" % errs if errs else ""))


def cmd_scenario_info(args):
    """What Belay served in one scenario, per mode and endpoint (sizes, SHA-256, headers)."""
    files = {"/": "index.html", "/api/v2/summary.json": "api/v2/summary.json"}

    def sha(path):
        if not os.path.exists(path):
            return None
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    encodings = {}
    for mode, suffix in (("identity", ""), ("gzip", ".gz")):
        encodings[mode] = {}
        for ep, rel in files.items():
            body = os.path.join(args.www, rel + suffix)
            headers = os.path.join(args.dir, "belay-headers-%s-%s" % (mode, os.path.basename(rel)))
            encodings[mode][ep] = {
                "body_bytes": os.path.getsize(body) if os.path.exists(body) else None,
                "sha256": sha(body),
                "belay_content_encoding": header_value(headers, "Content-Encoding"),
                "belay_vary": header_value(headers, "Vary"),
                "belay_etag": header_value(headers, "ETag"),
            }
    with open(args.out, "w") as f:
        json.dump({"belay_bytes_unchanged_after_run": args.stable == "true",
                   "belay_sends_gzip": args.gzip == "true",
                   "content_types": {"/": args.ct_html, "/api/v2/summary.json": args.ct_json},
                   "served": encodings}, f, indent=2)


# --------------------------------------------------------------------------- report

def _ratio(a, b):
    if a is None or b in (None, 0):
        return None
    return a / b


def _fmt(x, spec, width):
    return ("%" + spec) % x if x is not None else "n/a".rjust(width)


def _errors(r):
    return sum((r.get("socket_errors") or {}).values()) + (r.get("non_2xx_3xx") or 0)


def _bytes_per_sec(r):
    """req/s x body bytes: payload bytes served per second (headers not counted)."""
    if not r or r.get("rps") is None or r.get("body_bytes") is None:
        return None
    return r["rps"] * r["body_bytes"]


def _round(x, nd=4):
    return round(x, nd) if x is not None else None


def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


_RUN_KEYS = ("scenario", "endpoint", "mode", "server", "series")


def reference_series(rows, scn, ep, mode, goal):
    """The alternating Belay/reference runs of one scenario, endpoint and mode, or None if there are none.

    The goal figure is the median of the per-pair ratios: each Belay run is divided by the reference
    run right after it, so a slow spell of a shared machine counts against both servers alike."""
    runs = {}
    for r in rows:
        if (r.get("series") == "reference" and r["scenario"] == scn and r["endpoint"] == ep
                and r.get("mode", "identity") == mode):
            runs.setdefault(r.get("run"), {})[r["server"]] = r
    pairs = [(v["belay"], v["reference"]) for _, v in sorted(runs.items(), key=lambda kv: kv[0] or 0)
             if "belay" in v and "reference" in v]
    if not pairs:
        return None
    ratios = [_ratio(b["rps"], r["rps"]) for b, r in pairs]
    median = _median(ratios)
    b_med, r_med = _median([b["rps"] for b, _ in pairs]), _median([r["rps"] for _, r in pairs])
    known = [x for x in ratios if x is not None]
    return {
        "runs": len(pairs),
        "order": "alternating, Belay first",
        "belay_rps": [b["rps"] for b, _ in pairs],
        "reference_rps": [r["rps"] for _, r in pairs],
        "ratios": [_round(x) for x in ratios],
        "belay_median_rps": b_med,
        "reference_median_rps": r_med,
        "belay_p99_ms_median": _median([b["p99_ms"] for b, _ in pairs]),
        "reference_p99_ms_median": _median([r["p99_ms"] for _, r in pairs]),
        "belay_over_reference": _round(median),
        "ratio_of_medians": _round(_ratio(b_med, r_med)),
        "ratio_min": _round(min(known)) if known else None,
        "ratio_max": _round(max(known)) if known else None,
        "errors": {"belay": sum(_errors(b) for b, _ in pairs), "reference": sum(_errors(r) for _, r in pairs)},
        "goal": goal,
        "meets_goal": median is not None and median >= goal,
        "belay_runs": [{k: v for k, v in b.items() if k not in _RUN_KEYS} for b, _ in pairs],
        "reference_runs": [{k: v for k, v in r.items() if k not in _RUN_KEYS} for _, r in pairs],
    }


def cmd_report(args):
    rows = []
    with open(os.path.join(args.state, "runs.jsonl")) as f:
        for line in f:
            rows.append(json.loads(line))
    meta = json.loads(args.meta)
    seeds = {}
    for name in meta["scenario_order"]:
        p = os.path.join(args.state, "seed-%s.json" % name)
        if os.path.exists(p):
            with open(p) as f:
                seeds[name] = json.load(f)
    extra = {}
    for name in meta["scenario_order"]:
        p = os.path.join(args.state, "scenario-%s.json" % name)
        if os.path.exists(p):
            with open(p) as f:
                extra[name] = json.load(f)

    def get(scn, ep, mode, server):
        for r in rows:
            if (r["scenario"] == scn and r["endpoint"] == ep and r.get("mode", "identity") == mode
                    and r["server"] == server and r.get("series", "nginx") == "nginx"):
                return r
        return None

    endpoints = meta["endpoints"]
    modes = meta.get("modes") or ["identity"]
    small, large = meta["scenario_order"][0], meta["scenario_order"][-1]
    goal_ratio, goal_scale = meta["goal_ratio"], meta["goal_scaling"]
    # With the reference measured, the small scenario's goal is Belay/reference; Belay/nginx is then
    # reported beside it (its former goal shown, not counted).
    with_reference = bool((meta.get("reference") or {}).get("measured"))
    goal_ref = meta.get("goal_reference", 0.9)
    ref_runs = (meta.get("reference") or {}).get("runs", 0)

    # ---- per scenario / endpoint / mode
    scenarios = []
    for scn in meta["scenario_order"]:
        eps = []
        for ep in endpoints:
            per_mode = {}
            ct = None
            for mode in modes:
                b, n = get(scn, ep, mode, "belay"), get(scn, ep, mode, "nginx")
                ratio = _ratio(b and b["rps"], n and n["rps"])
                ct = ct or (b or n or {}).get("content_type")
                entry = {
                    "body_bytes": (b or n or {}).get("body_bytes"),
                    "content_encoding": (b or n or {}).get("content_encoding"),
                    "belay": {k: v for k, v in (b or {}).items()
                              if k not in ("scenario", "endpoint", "mode", "server")},
                    "nginx": {k: v for k, v in (n or {}).items()
                              if k not in ("scenario", "endpoint", "mode", "server")},
                    "belay_over_nginx_rps": _round(ratio),
                }
                if scn == small:
                    entry["goal_belay_over_nginx"] = goal_ratio
                    entry["meets_goal_belay_over_nginx"] = ratio is not None and ratio >= goal_ratio
                    if with_reference:
                        ref = reference_series(rows, scn, ep, mode, goal_ref)
                        entry["reference"] = ref
                        entry["belay_over_reference"] = ref and ref["belay_over_reference"]
                        entry["goal_belay_over_reference"] = goal_ref
                        entry["goal_counted"] = "belay_over_reference"
                        entry["meets_goal"] = bool(ref and ref["meets_goal"])
                    else:
                        entry["goal_counted"] = "belay_over_nginx"
                        entry["meets_goal"] = entry["meets_goal_belay_over_nginx"]
                per_mode[mode] = entry
            eps.append({"path": ep, "content_type": ct, "modes": per_mode})
        scenarios.append({"name": scn, **meta["scenarios"][scn], "seed": seeds.get(scn),
                          **extra.get(scn, {}), "endpoints": eps})

    # ---- scaling, per mode and endpoint: req/s fraction and bytes/s ratio
    scaling = []
    for mode in modes:
        for ep in endpoints:
            b20, b1k = get(small, ep, mode, "belay"), get(large, ep, mode, "belay")
            n20, n1k = get(small, ep, mode, "nginx"), get(large, ep, mode, "nginx")
            frac = _ratio(b1k and b1k["rps"], b20 and b20["rps"])
            growth = _ratio(b1k and b1k["body_bytes"], b20 and b20["body_bytes"])
            scaling.append({
                "mode": mode,
                "path": ep,
                "body_bytes_small": b20 and b20["body_bytes"],
                "body_bytes_large": b1k and b1k["body_bytes"],
                "body_growth": _round(growth),
                "belay_rps_small": b20 and b20["rps"],
                "belay_rps_large": b1k and b1k["rps"],
                "fraction": _round(frac),
                "goal": goal_scale,
                "meets_goal": frac is not None and frac >= goal_scale,
                "belay_body_bytes_per_sec_small": _round(_bytes_per_sec(b20), 1),
                "belay_body_bytes_per_sec_large": _round(_bytes_per_sec(b1k), 1),
                "belay_bytes_per_sec_ratio": _round(_ratio(_bytes_per_sec(b1k), _bytes_per_sec(b20))),
                "nginx_rps_small": n20 and n20["rps"],
                "nginx_rps_large": n1k and n1k["rps"],
                "nginx_fraction": _round(_ratio(n1k and n1k["rps"], n20 and n20["rps"])),
                "nginx_bytes_per_sec_ratio": _round(_ratio(_bytes_per_sec(n1k), _bytes_per_sec(n20))),
            })

    def scaling_for(mode, ep):
        for sc in scaling:
            if sc["mode"] == mode and sc["path"] == ep:
                return sc
        return None

    ns = scenarios[0]["components"]
    nl = scenarios[-1]["components"]

    # ---- table
    w = sys.stdout.write
    w("\n")
    w("Belay status page vs nginx (same bytes)  -  wrk -t%s -c%s -d%s --latency, %s warm-up; "
      "nproc=%s, nginx workers=%s\n" % (meta["wrk"]["threads"], meta["wrk"]["connections"],
                                        meta["wrk"]["duration"], meta["wrk"]["warmup"],
                                        meta["machine"]["nproc"], meta["nginx"]["workers"]))
    w("Modes: %s  (identity: no Accept-Encoding; gzip: -H 'Accept-Encoding: gzip', both servers "
      "send Belay's compressed bytes)\n" % " ".join(modes))
    w("Belay binary: %s (%s build), measured on its public listener (--public-listen)\n"
      % (meta["belay"]["binary"], meta["belay"]["build"]))
    if with_reference:
        w("Reference: %s (bench/nio-reference), %d alternating runs with Belay per endpoint and mode, "
          "%d components only\n" % (meta["reference"]["binary"], ref_runs, scenarios[0]["components"]))
    if meta["belay"]["build"] != "release":
        w("WARNING: not a release build - the goals below only mean something for a release build.\n")
    w("\n")
    # The reference's two columns only when it was measured: without it the table is the old one.
    ref_cols = "  %12s %9s" if with_reference else "%.0s%.0s"
    hdr = "%-17s %-22s %-8s %10s  %12s %9s  %12s %9s  %11s" + ref_cols + "%s\n"
    line = "-" * (148 if with_reference else 122) + "\n"
    w(hdr % ("scenario", "endpoint", "mode", "body B", "Belay req/s", "p99 ms", "nginx req/s", "p99 ms",
             "Belay/nginx", "ref req/s", "Belay/ref", ""))
    w(line)
    for s in scenarios:
        label = "%d components" % s["components"]
        for e in s["endpoints"]:
            for mode in modes:
                m = e["modes"][mode]
                b, n = m["belay"], m["nginx"]
                ref = m.get("reference")
                note = ""
                if m.get("goal_counted") == "belay_over_reference":
                    note = "  %s (goal Belay/ref >= %.2f)" % ("ok" if m["meets_goal"] else "MISS", goal_ref)
                elif "meets_goal" in m:
                    note = "  %s (goal >= %.2f)" % ("ok" if m["meets_goal"] else "MISS", goal_ratio)
                errs = ["%s had %d errors" % (who, _errors(r))
                        for who, r in (("Belay", b), ("nginx", n)) if _errors(r)]
                if ref:
                    errs += ["%s had %d errors in the reference runs" % (who, k)
                             for who, k in (("Belay", ref["errors"]["belay"]),
                                            ("the reference", ref["errors"]["reference"])) if k]
                if errs:
                    note += "  [" + "; ".join(errs) + "]"
                w(hdr % (label, e["path"], mode, _fmt(m["body_bytes"], "d", 10),
                         _fmt(b.get("rps"), ".1f", 12), _fmt(b.get("p99_ms"), ".2f", 9),
                         _fmt(n.get("rps"), ".1f", 12), _fmt(n.get("p99_ms"), ".2f", 9),
                         _fmt(m["belay_over_nginx_rps"], ".3f", 11),
                         _fmt(ref and ref["reference_median_rps"], ".1f", 12),
                         _fmt(ref and ref["belay_over_reference"], ".3f", 9), note))
    w("  ref req/s is the reference's median over its runs; Belay/ref is the median of the per-pair\n"
      "  ratios (each Belay run over the reference run right after it), detailed below.\n"
      if with_reference else "")
    w("\n")

    if with_reference:
        w("Belay vs the minimal NIO reference, %d components: %d alternating runs each (Belay first), "
          "same wrk settings\n" % (scenarios[0]["components"], ref_runs))
        rhdr = "%-22s %-8s  %-9s %s\n"
        w(line)
        for e in scenarios[0]["endpoints"]:
            for mode in modes:
                ref = e["modes"][mode].get("reference")
                if not ref:
                    w(rhdr % (e["path"], mode, "", "no complete Belay/reference pair was measured"))
                    continue
                w(rhdr % (e["path"], mode, "Belay", "  ".join(_fmt(x, ".1f", 9) for x in ref["belay_rps"])
                          + "   median %s req/s, p99 %s ms" % (_fmt(ref["belay_median_rps"], ".1f", 9),
                                                               _fmt(ref["belay_p99_ms_median"], ".2f", 6))))
                w(rhdr % ("", "", "reference", "  ".join(_fmt(x, ".1f", 9) for x in ref["reference_rps"])
                          + "   median %s req/s, p99 %s ms" % (_fmt(ref["reference_median_rps"], ".1f", 9),
                                                               _fmt(ref["reference_p99_ms_median"], ".2f", 6))))
                w(rhdr % ("", "", "ratio", "  ".join(_fmt(x, ".3f", 9) for x in ref["ratios"])
                          + "   median %s (goal >= %.2f) %s; ratio of medians %s" % (
                              _fmt(ref["belay_over_reference"], ".3f", 5), goal_ref,
                              "ok" if ref["meets_goal"] else "MISS", _fmt(ref["ratio_of_medians"], ".3f", 5))))
        w("\n")

    w("Scaling, %d vs %d components: req/s fraction (Belay goal >= %.2f) and bytes/s ratio "
      "(req/s x body bytes)\n" % (nl, ns, goal_scale))
    shdr = "%-8s %-22s %21s %8s  %23s %9s %-4s %8s   %9s %8s\n"
    w(shdr % ("mode", "endpoint", "body B %d -> %d" % (ns, nl), "growth",
              "Belay req/s %d -> %d" % (ns, nl), "fraction", "", "bytes/s",
              "nginx fr.", "bytes/s"))
    w(line)
    for sc in scaling:
        w(shdr % (sc["mode"], sc["path"],
                  "%s -> %s" % (_fmt(sc["body_bytes_small"], "d", 8), _fmt(sc["body_bytes_large"], "d", 9)),
                  _fmt(sc["body_growth"], ".1fx", 8),
                  "%s -> %s" % (_fmt(sc["belay_rps_small"], ".1f", 10), _fmt(sc["belay_rps_large"], ".1f", 10)),
                  _fmt(sc["fraction"], ".3f", 9), "ok" if sc["meets_goal"] else "MISS",
                  _fmt(sc["belay_bytes_per_sec_ratio"], ".2fx", 8),
                  _fmt(sc["nginx_fraction"], ".3f", 9), _fmt(sc["nginx_bytes_per_sec_ratio"], ".2fx", 8)))
    w("  bytes/s ratio = fraction x growth: equal to the growth if a request costs the same whatever\n"
      "  its size, 1.00x if the cost is all in the bytes (same bytes/s, fewer requests).\n")
    w("\n")

    # ---- summary, per mode
    all_ok = True
    summary = {}
    w("Summary:\n")
    for mode in modes:
        w("  %s:\n" % mode)
        ms = {"belay_over_nginx": {}, "belay_scaling_fraction": {}, "belay_bytes_per_sec_ratio": {},
              "nginx_bytes_per_sec_ratio": {}, "body_growth": {}, "goals_met": True}
        for s in scenarios:
            ms["belay_over_nginx"][s["name"]] = {}
            for e in s["endpoints"]:
                m = e["modes"][mode]
                ms["belay_over_nginx"][s["name"]][e["path"]] = m["belay_over_nginx_rps"]
                if s["name"] == small:
                    ms["goals_met"] = ms["goals_met"] and m["meets_goal"]
                    if with_reference:
                        ms.setdefault("belay_over_reference", {})[e["path"]] = m["belay_over_reference"]
                        w("    %-16s %-22s Belay/reference = %s  (median of %d, goal >= %.2f) %s;  "
                          "Belay/nginx = %s  (beside it; former goal >= %.2f %s)\n" % (
                              "%d components" % s["components"], e["path"],
                              _fmt(m["belay_over_reference"], ".3f", 5), ref_runs, goal_ref,
                              "ok" if m["meets_goal"] else "MISS",
                              _fmt(m["belay_over_nginx_rps"], ".3f", 5), goal_ratio,
                              "met" if m["meets_goal_belay_over_nginx"] else "missed"))
                    else:
                        w("    %-16s %-22s Belay/nginx = %s  (goal >= %.2f) %s\n" % (
                            "%d components" % s["components"], e["path"],
                            _fmt(m["belay_over_nginx_rps"], ".3f", 5), goal_ratio,
                            "ok" if m["meets_goal"] else "MISS"))
                elif s["name"] == large:
                    w("    %-16s %-22s Belay/nginx = %s  (informational)\n" % (
                        "%d components" % s["components"], e["path"],
                        _fmt(m["belay_over_nginx_rps"], ".3f", 5)))
        for ep in endpoints:
            sc = scaling_for(mode, ep)
            ms["belay_scaling_fraction"][ep] = sc["fraction"]
            ms["belay_bytes_per_sec_ratio"][ep] = sc["belay_bytes_per_sec_ratio"]
            ms["nginx_bytes_per_sec_ratio"][ep] = sc["nginx_bytes_per_sec_ratio"]
            ms["body_growth"][ep] = sc["body_growth"]
            ms["goals_met"] = ms["goals_met"] and sc["meets_goal"]
            w("    %-16s %-22s Belay req/s %d/%d = %s  (goal >= %.2f) %s;  bytes/s %d/%d = %s"
              " (body x%s; nginx %s)\n" % (
                  "scaling %d/%d" % (nl, ns), ep, nl, ns, _fmt(sc["fraction"], ".3f", 5), goal_scale,
                  "ok" if sc["meets_goal"] else "MISS", nl, ns,
                  _fmt(sc["belay_bytes_per_sec_ratio"], ".2f", 4), _fmt(sc["body_growth"], ".1f", 4),
                  _fmt(sc["nginx_bytes_per_sec_ratio"], ".2f", 4)))
        summary[mode] = ms
        all_ok = all_ok and ms["goals_met"]
    w("  overall: %s\n" % ("all goals met" if all_ok else "some goals missed"))

    result = {
        "benchmark": "status-page",
        **{k: v for k, v in meta.items() if k not in ("scenarios", "scenario_order")},
        "scenarios": scenarios,
        "scaling": scaling,
        "summary": summary,
        "all_goals_met": all_ok,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    w("\nResults written to %s\n" % args.out)
    if args.strict and not all_ok:
        sys.exit(3)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    sub.add_parser("free-port")

    s = sub.add_parser("seed")
    s.add_argument("--base", required=True)
    s.add_argument("--token", required=True)
    s.add_argument("--components", type=int, required=True)
    s.add_argument("--groups", type=int, required=True)
    s.add_argument("--stats-out")

    s = sub.add_parser("wait-snapshot")
    s.add_argument("--base", required=True)
    s.add_argument("--components", type=int, required=True)
    s.add_argument("--incidents", type=int, default=len(INCIDENTS))
    s.add_argument("--timeout", type=float, default=30.0)
    s.add_argument("--fallback-sleep", type=float, default=2.0)
    s.add_argument("--settle", type=float, default=0.5)

    s = sub.add_parser("record")
    s.add_argument("--state", required=True)
    s.add_argument("--scenario", required=True)
    s.add_argument("--endpoint", required=True)
    s.add_argument("--mode", choices=("identity", "gzip"), default="identity")
    s.add_argument("--server", required=True)
    s.add_argument("--series", choices=("nginx", "reference"), default="nginx",
                   help="nginx: the Belay/nginx pair; reference: one of the alternating Belay/reference runs")
    s.add_argument("--run", type=int, help="the run number within the reference series")
    s.add_argument("--url", required=True)
    s.add_argument("--wrk", required=True)
    s.add_argument("--body", required=True)
    s.add_argument("--headers")
    s.add_argument("--content-type", default="")

    s = sub.add_parser("scenario-info")
    s.add_argument("--out", required=True)
    s.add_argument("--www", required=True)
    s.add_argument("--dir", required=True, help="scenario dir holding belay-headers-MODE-FILE")
    s.add_argument("--stable", required=True)
    s.add_argument("--gzip", required=True)
    s.add_argument("--ct-html", default="")
    s.add_argument("--ct-json", default="")

    s = sub.add_parser("report")
    s.add_argument("--state", required=True)
    s.add_argument("--meta", required=True, help="JSON object with run metadata")
    s.add_argument("--out", required=True)
    s.add_argument("--strict", action="store_true")

    args = p.parse_args()
    {"free-port": cmd_free_port, "seed": cmd_seed, "wait-snapshot": cmd_wait_snapshot,
     "record": cmd_record, "scenario-info": cmd_scenario_info, "report": cmd_report}[args.cmd](args)


if __name__ == "__main__":
    main()
