"""Crash safety: a 2xx from Belay means the data is on disk, and SIGKILL at any moment leaves a database that
opens as it is.

Each round (default 10; `BELAY_KILL_ROUNDS=N` for more, `BELAY_KILL_SEED=S` to replay one run) uses a fresh
data directory and:

1. starts `belay serve` with `--egress-allow 127.0.0.1/32`, creates two components, three integrations (one
   per kind), a heartbeat monitor and a TCP monitor checking a local listener every second (so the monitor
   scheduler writes results while alerts arrive), and declares an incident;
2. fires 990 ingest deliveries at once from 48 threads, a third each as Alertmanager webhooks, PagerDuty
   Events v2 and generic JSON events, every one with its own dedup key or fingerprint, while another thread
   posts updates to the incident and pings the heartbeat;
3. SIGKILLs the server when a randomly chosen number of deliveries has been answered (so requests are still
   in flight), and checks a copy of the crash image with `PRAGMA integrity_check`;
4. starts the server again on the same directory, with no repair step, and proves through the API that
   - every delivery that got a 2xx is a signal (with the signal id a generic event's answer named),
   - no (source, dedup key) appears twice, and no signal exists that was never sent;
   then re-sends, as Alertmanager and PagerDuty clients retry, every delivery that got no 2xx (some were
   stored and only their answer was lost) and 50 that did, and proves that every delivery is now exactly one
   signal and a repeat is counted on it (`eventCount`), that every incident update that got a 2xx is on
   the incident, that the components and monitors are still there and that the server takes new deliveries;
5. stops it with SIGTERM and runs `PRAGMA integrity_check` and `foreign_key_check` on the database file, and
   checks the same uniqueness in SQL.

`GET /api/v1/signals` has no paging (`limit` is at most 1000, newest first), so a round sends at most 990
events: the test fails, rather than passes unverified, if the API answers a full page."""
import collections
import os
import random
import socket
import sqlite3
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import requests

from resilience_support import copy_database, integrity_check

ROUNDS = int(os.environ.get("BELAY_KILL_ROUNDS", "10"))
DELIVERIES = 990  # a third per kind; the signal list answers at most 1000
WORKERS = 48
KINDS = ("alertmanager", "pagerduty", "generic")


class Listener:
    """A TCP port on 127.0.0.1 that accepts and closes connections, for the TCP monitor."""

    def __init__(self):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.port = self.socket.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.closed:
            try:
                connection, _ = self.socket.accept()
                connection.close()
            except OSError:
                return

    def close(self):
        self.closed = True
        self.socket.close()


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))


def delivery(kind, key, dedup):
    """(path, body) of one delivery carrying one alert with its own dedup key."""
    if kind == "alertmanager":
        return f"/api/v1/integrations/{key}/alertmanager", {
            "version": "4", "groupKey": f"{{}}:{{alertname=\"{dedup}\"}}", "status": "firing", "receiver": "belay",
            "groupLabels": {"alertname": dedup}, "commonLabels": {"alertname": dedup}, "commonAnnotations": {},
            "externalURL": "http://alertmanager.example", "truncatedAlerts": 0,
            "alerts": [{"status": "firing", "labels": {"alertname": dedup, "instance": "db1:9100", "severity": "warning"},
                        "annotations": {"summary": f"crash-safety alert {dedup}"}, "startsAt": now_rfc3339(),
                        "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus.example/graph", "fingerprint": dedup}]}
    if kind == "pagerduty":
        return "/v2/enqueue", {"routing_key": key, "event_action": "trigger", "dedup_key": dedup,
                               "payload": {"summary": f"crash-safety event {dedup}", "source": "db1", "severity": "error"}}
    return f"/api/v1/integrations/{key}/events", {"action": "trigger", "dedupKey": dedup, "summary": f"crash-safety event {dedup}",
                                                   "severity": "warning", "source": "db1", "labels": {"round": "crash"}}


def accepted(kind, response, dedup):
    """Checks that a 2xx answer acknowledges this delivery as documented; returns (problem or None, the signal id a
    generic answer names)."""
    try:
        body = response.json()
    except ValueError:
        return f"{kind} {dedup}: {response.status_code} with a body that is not JSON: {response.text[:200]}", None
    if kind == "alertmanager":
        ok = response.status_code == 200 and body.get("accepted") == 1
    elif kind == "pagerduty":
        ok = response.status_code == 202 and body.get("dedup_key") == dedup
    else:
        ok = response.status_code == 202 and body.get("dedupKey") == dedup and isinstance(body.get("signalId"), int)
    return (None if ok else f"{kind} {dedup}: {response.status_code} {body}"), body.get("signalId") if kind == "generic" else None


def set_up(server, listener):
    """Components, integrations, monitors and an incident; returns what the round needs."""
    server.api("POST", "/api/v1/components", {"slug": "database", "name": "Database", "group": "Core"})
    server.api("POST", "/api/v1/components", {"slug": "api", "name": "API", "group": "Core", "dependsOn": ["database"]})
    integrations = {}
    for kind, component in zip(KINDS, ("api", "database", "database")):
        created = server.api("POST", "/api/v1/integrations", {"name": f"crash-{kind}", "kind": kind,
                                                             "routing": {"defaultComponents": [component], "defaultSeverity": "sev3"}}, expect=201)
        integrations[kind] = {"id": created["integration"]["id"], "key": created["key"]}
    heartbeat = server.api("POST", "/api/v1/monitors", {"name": "nightly job", "kind": "heartbeat", "settings": {"graceSeconds": 600},
                                                        "intervalSeconds": 3600, "component": "database"}, expect=201)
    tcp = server.api("POST", "/api/v1/monitors", {"name": "local port", "kind": "tcp", "settings": {"host": "127.0.0.1", "port": listener.port},
                                                  "intervalSeconds": 1, "timeoutSeconds": 1, "component": "database"}, expect=201)
    incident = server.api("POST", "/api/v1/incidents", {"title": "Crash safety drill", "severity": "sev2",
                                                        "components": [{"slug": "api", "impact": "partial_outage"}],
                                                        "message": "Investigating: drill started."}, expect=201)
    return {"integrations": integrations, "incident": incident["id"], "monitors": {heartbeat["id"], tcp["id"]},
            "heartbeat_path": urlparse(heartbeat["heartbeatURL"]).path}


def burst(server, setup, rng, round_id):
    """Fires the deliveries and the incident updates, SIGKILLs the server after a random number of answers;
    returns the acknowledged deliveries, every delivery planned, the acknowledged update messages and a summary."""
    plan = []
    for i in range(DELIVERIES):
        kind = KINDS[i % 3]
        plan.append((kind, f"r{round_id}-{kind[:2]}-{i}-{uuid.uuid4().hex[:8]}"))
    rng.shuffle(plan)
    kill_after = rng.randint(1, DELIVERIES * 9 // 10)  # the kill lands a little later, while requests are in flight
    answered = 0
    lock = threading.Lock()
    kill_now = threading.Event()
    acked = {}  # (integration id, dedup) -> (kind, signal id or None)
    outcomes = collections.Counter()
    local = threading.local()

    def send(item):
        nonlocal answered
        kind, dedup = item
        integration = setup["integrations"][kind]
        path, body = delivery(kind, integration["key"], dedup)
        if not hasattr(local, "session"):
            local.session = requests.Session()
        try:
            response = server.request("POST", path, body, auth=False, session=local.session, timeout=30)
        except requests.RequestException as error:
            with lock:
                outcomes[f"{kind}: {type(error).__name__}"] += 1
            return
        with lock:
            outcomes[f"{kind}: {response.status_code}"] += 1
        if 200 <= response.status_code < 300:
            problem, signal_id = accepted(kind, response, dedup)
            with lock:
                acked[(integration["id"], dedup)] = (kind, signal_id)
                if problem:
                    outcomes[f"wrong answer: {problem}"] += 1
        with lock:
            answered += 1
            if answered >= kill_after:
                kill_now.set()

    updates_acked = []
    stop_updates = threading.Event()

    def updater():
        session = requests.Session()
        n = 0
        statuses = ["identified", None, "monitoring", None, "investigating", None]
        while not stop_updates.is_set():
            message = f"drill update {round_id}-{n}"
            status = statuses[n % len(statuses)]
            body = {"message": message, **({"status": status} if status else {})}
            try:
                response = server.request("POST", f"/api/v1/incidents/{setup['incident']}/updates", body, session=session, timeout=30)
                if response.status_code == 201:
                    updates_acked.append(message)
                elif response.status_code != 409:  # a status move may race an alert's own move; anything else is wrong
                    outcomes[f"update: {response.status_code} {response.text[:200]}"] += 1
                server.request("POST", setup["heartbeat_path"], auth=False, session=session, timeout=30)
            except requests.RequestException:
                return
            n += 1

    def killer():
        kill_now.wait(timeout=120)
        server.kill()

    kill_thread = threading.Thread(target=killer, daemon=True)
    update_thread = threading.Thread(target=updater, daemon=True)
    started = time.monotonic()
    kill_thread.start()
    update_thread.start()
    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for future in [pool.submit(send, item) for item in plan]:
                future.result()
    finally:
        kill_now.set()  # fewer answers than the chosen count (some failed): kill now
        kill_thread.join()
        stop_updates.set()
        update_thread.join(timeout=60)
    elapsed = time.monotonic() - started
    return acked, plan, updates_acked, {"kill_after": kill_after, "elapsed": elapsed, "outcomes": dict(outcomes)}


def integration_signals(server, integration_ids):
    """(Counter of (source id, dedup key), signal by key, problem) for the signals of these integrations."""
    response = server.request("GET", "/api/v1/signals?limit=1000")
    if response.status_code != 200:
        return None, None, f"GET /api/v1/signals -> {response.status_code} {response.text[:500]}"
    signals = response.json()["signals"]
    if len(signals) >= 1000:
        return None, None, f"GET /api/v1/signals answered a full page ({len(signals)}); cannot verify without paging"
    mine = [s for s in signals if s["sourceKind"] == "integration" and s["sourceId"] in integration_ids]
    return collections.Counter((s["sourceId"], s["dedupKey"]) for s in mine), {(s["sourceId"], s["dedupKey"]): s for s in mine}, None


def resend(server, setup, items):
    """Sends deliveries again, as Alertmanager and PagerDuty clients retry; returns the answers that were not 2xx."""
    local = threading.local()

    def send(item):
        kind, dedup = item
        if not hasattr(local, "session"):
            local.session = requests.Session()
        path, body = delivery(kind, setup["integrations"][kind]["key"], dedup)
        try:
            response = server.request("POST", path, body, auth=False, session=local.session, timeout=30)
        except requests.RequestException as error:
            return f"{kind}: {type(error).__name__}"
        return None if 200 <= response.status_code < 300 else f"{kind}: {response.status_code} {response.text[:200]}"

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return collections.Counter(result for result in pool.map(send, items) if result)


def test_sigkill_during_ingest_loses_no_acknowledged_event(belay_factory):
    seed = int(os.environ.get("BELAY_KILL_SEED", str(random.SystemRandom().randrange(1 << 30))))
    rng = random.Random(seed)
    print(f"crash safety: {ROUNDS} rounds, BELAY_KILL_SEED={seed}")
    assert ROUNDS >= 1, "BELAY_KILL_ROUNDS must be at least 1"
    failures = []
    for round_id in range(1, ROUNDS + 1):
        listener = Listener()
        server = belay_factory(args=("--egress-allow", "127.0.0.1/32"))
        try:
            problems = one_round(server, listener, rng, round_id)
        finally:
            server.kill()
            listener.close()
        if problems:
            failures.append(f"round {round_id} (data {server.data}):\n  " + "\n  ".join(problems))
            # Keep the evidence of the first broken round and stop: later rounds would only repeat it.
            print(server.all_logs()[-6000:])
            break
    assert not failures, f"BELAY_KILL_SEED={seed}\n" + "\n".join(failures)


def one_round(server, listener, rng, round_id):
    server.start()
    setup = set_up(server, listener)
    # Let the TCP monitor write a few results before the burst.
    time.sleep(rng.uniform(0.0, 1.5))
    acked, plan, updates_acked, summary = burst(server, setup, rng, round_id)
    identity = {(kind, dedup): (setup["integrations"][kind]["id"], dedup) for kind, dedup in plan}
    sent = set(identity.values())
    assert not server.alive(), "the server is still running after SIGKILL"
    problems = []
    print(f"round {round_id}: killed after {summary['kill_after']} answers, {len(acked)} deliveries acknowledged, "
          f"{len(updates_acked)} updates, {summary['elapsed']:.1f} s; {summary['outcomes']}")
    unexpected = {k: v for k, v in summary["outcomes"].items() if not any(k.endswith(ok) for ok in (" 200", " 202", "ConnectionError", "ReadTimeout", "ChunkedEncodingError"))}
    if unexpected:
        problems.append(f"answers other than 2xx or a dropped connection before the kill: {unexpected}")

    # The crash image as SIGKILL left it, checked on a copy so that the restart sees the original.
    with tempfile.TemporaryDirectory(prefix="crash-image-") as image:
        problems += [f"crash image: {p}" for p in integrity_check(copy_database(server.data, image))]

    try:
        server.start()
    except AssertionError as error:
        return problems + [f"restart on the killed data directory failed: {error}"]

    # Signals, through the API.
    integration_ids = {v["id"] for v in setup["integrations"].values()}
    listed, by_key, problem = integration_signals(server, integration_ids)
    if problem:
        return problems + [problem]
    duplicates = [key for key, count in listed.items() if count > 1]
    if duplicates:
        problems.append(f"{len(duplicates)} (source, dedup key) listed more than once, e.g. {duplicates[:5]}")
    missing = sorted(key for key in acked if key not in listed)
    if missing:
        problems.append(f"LOST: {len(missing)} of {len(acked)} acknowledged deliveries are not signals after the restart, "
                        f"e.g. {[(acked[k][0], k[1]) for k in missing[:5]]}")
    wrong_ids = [(k, sid, by_key[k]["id"]) for k, (kind, sid) in acked.items() if sid is not None and k in by_key and by_key[k]["id"] != sid]
    if wrong_ids:
        problems.append(f"{len(wrong_ids)} generic events are signals with another id than their 202 named, e.g. {wrong_ids[:5]}")
    phantoms = sorted(key for key in listed if key not in sent)
    if phantoms:
        problems.append(f"{len(phantoms)} signals that were never sent, e.g. {phantoms[:5]}")
    print(f"round {round_id}: {len(listed)} signals after restart ({len(acked)} acknowledged, "
          f"{len([k for k in listed if k not in acked])} stored but unanswered when killed)")

    # Senders retry what got no 2xx (some of it was stored, its answer lost) and a lost answer can make them
    # repeat what did: afterwards every delivery is exactly one signal.
    unanswered = [item for item in plan if identity[item] not in acked]
    repeated = rng.sample([item for item in plan if identity[item] in acked], min(50, len(acked)))
    refused = resend(server, setup, unanswered + repeated)
    if refused:
        problems.append(f"retries after the restart that got no 2xx: {dict(refused)}")
    listed, by_key, problem = integration_signals(server, integration_ids)
    if problem:
        return problems + [problem]
    twice = [key for key, count in listed.items() if count > 1]
    if twice:
        problems.append(f"after the retries, {len(twice)} (source, dedup key) are more than one signal, e.g. {twice[:5]}")
    if set(listed) != sent:
        problems.append(f"after the retries, {len(sent - set(listed))} deliveries are no signal and {len(set(listed) - sent)} signals were never sent")
    repeats = [by_key[identity[item]] for item in repeated if identity[item] in by_key]
    if any(signal["eventCount"] < 2 for signal in repeats):
        problems.append(f"a repeated delivery did not count as a repeat: {[(s['dedupKey'], s['eventCount']) for s in repeats if s['eventCount'] < 2][:5]}")

    # The incident and its updates, the components and the monitors.
    incident = server.api("GET", f"/api/v1/incidents/{setup['incident']}")
    messages = {update["message"] for update in incident.get("updates", [])}
    lost_updates = [m for m in updates_acked if m not in messages]
    if lost_updates:
        problems.append(f"LOST: {len(lost_updates)} of {len(updates_acked)} acknowledged incident updates, e.g. {lost_updates[:5]}")
    components = {c["slug"] for c in server.api("GET", "/api/v1/components")["components"]}
    if not {"database", "api"} <= components:
        problems.append(f"components after restart: {sorted(components)}")
    monitors = {m["id"] for m in server.api("GET", "/api/v1/monitors?limit=500")["monitors"]}
    if not setup["monitors"] <= monitors:
        problems.append(f"monitors after restart: {sorted(monitors)}, expected {sorted(setup['monitors'])}")

    # The restarted server takes a new delivery, and it is listed.
    generic = setup["integrations"]["generic"]
    dedup = f"r{round_id}-after-restart"
    path, body = delivery("generic", generic["key"], dedup)
    response = server.request("POST", path, body, auth=False)
    if response.status_code != 202:
        problems.append(f"a delivery after the restart -> {response.status_code} {response.text[:500]}")

    # SQL: the same uniqueness, and the file's integrity after a graceful stop.
    code = server.stop()
    if code not in (0, None):
        problems.append(f"belay serve exited {code} on SIGTERM after the restart")
    path = server.database_path()
    connection = sqlite3.connect(path)
    try:
        twice = connection.execute(
            "SELECT sourceKind, sourceId, dedupKey, COUNT(*) FROM signal GROUP BY sourceKind, sourceId, dedupKey HAVING COUNT(*) > 1").fetchall()
        stored = connection.execute("SELECT COUNT(*) FROM signal WHERE sourceKind = 'integration'").fetchone()[0]
    finally:
        connection.close()
    if twice:
        problems.append(f"signal rows sharing a (source, dedup key): {twice[:5]}")
    if stored != len(listed) + (1 if response.status_code == 202 else 0):
        problems.append(f"the database holds {stored} integration signals, the API listed {len(listed)} (+1 after restart)")
    problems += [f"after restart and stop: {p}" for p in integrity_check(path)]
    return problems
