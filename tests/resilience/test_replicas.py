"""Three `belay serve` replicas on one PostgreSQL database, all equal: every monitor is checked once per interval,
one alert key makes one signal and one incident whichever replica receives it, a replica killed with SIGKILL loses
no acknowledged event and its monitors move to the others, a change made on one replica shows on another's status
page, and a PostgreSQL restart gives 503s that retries get past. The bounds are generous (a loaded 2-core machine);
the measured times are bench/replicas' business.

    scripts/postgres run -- env BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/resilience/test_replicas.py
"""
import collections
import concurrent.futures
import itertools
import os
import re
import subprocess
import tempfile
import time

import pytest
import requests

from test_crash_safety import Listener

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INTERVAL = 2


def fresh_database(server_url=None):
    server_url = server_url or os.environ.get("BELAY_TEST_POSTGRES_URL")
    if not server_url:
        pytest.fail("BELAY_TEST_POSTGRES_URL is not set: run through scripts/test or scripts/postgres run", pytrace=False)
    name = f"replicas_{os.getpid()}_{int(time.time() * 1000)}"
    subprocess.run(["psql", server_url, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True, timeout=60)
    return re.sub(r"/[^/?]*\?", f"/{name}?", server_url, count=1)


def start_replicas(belay_factory, database, count=3, args=()):
    first = belay_factory(database=database, args=["--egress-allow", "127.0.0.1/32", *args])
    replicas = [first] + [belay_factory(database=database, token=first.token, args=["--egress-allow", "127.0.0.1/32", *args])
                          for _ in range(count - 1)]
    for replica in replicas:
        replica.start()
    return replicas


def wait_for(what, check, timeout):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.25)


def result_times(server, monitor_id):
    results = server.api("GET", f"/api/v1/monitors/{monitor_id}/results?limit=1000")["results"]
    return sorted(r["checkedAt"] for r in results)


def generic_integration(server):
    created = server.api("POST", "/api/v1/integrations", {"name": "replicas", "kind": "generic",
                                                         "routing": {"defaultComponents": ["api"], "defaultSeverity": "sev3"}}, expect=201)
    return created["integration"]["id"], created["key"]


def send_event(replica, key, dedup, session=None):
    body = {"action": "trigger", "dedupKey": dedup, "summary": f"replica event {dedup}", "severity": "warning", "source": "db1"}
    return replica.request("POST", f"/api/v1/integrations/{key}/events", body, auth=False, session=session, timeout=60)


def make_monitors(replicas, listener, count=9):
    """TCP monitors on `listener`, each made through the next replica in turn."""
    return [replicas[n % len(replicas)].api("POST", "/api/v1/monitors", {
        "name": f"port {n}", "kind": "tcp", "settings": {"host": "127.0.0.1", "port": listener.port},
        "intervalSeconds": INTERVAL, "timeoutSeconds": 1}, expect=201)["id"] for n in range(count)]


def test_replicas_check_each_monitor_once_and_one_key_makes_one_incident(belay_factory):
    listener = Listener()
    try:
        a, b, c = start_replicas(belay_factory, fresh_database())
        a.api("POST", "/api/v1/components", {"slug": "api", "name": "API"}, expect=201)
        monitors = make_monitors([a, b, c], listener)
        # Replicas started after the monitors exist load them all: each must still check only its share.
        for replica in (b, c):
            replica.stop()
            replica.start()
        # Let the schedule settle: a restarted replica takes its share once the others have had a renewal's
        # time (7.5 s) to let go of it. Then count over a window.
        settled = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 8))
        wait_for("every monitor checked after the handover", lambda: all(
            any(t >= settled for t in result_times(b, m)) for m in monitors), 60)
        started = time.time()
        time.sleep(8 * INTERVAL)
        window = time.time() - started
        for monitor in monitors:
            times = [t for t in result_times(c, monitor) if t >= time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(started))]
            # Once per interval across all replicas: three replicas each checking would be about three times this.
            assert len(times) <= window / INTERVAL + 2, f"monitor {monitor}: {len(times)} checks in {window:.0f} s"
            assert len(times) >= window / INTERVAL / 2, f"monitor {monitor}: only {len(times)} checks in {window:.0f} s"

        # 100 concurrent deliveries of one key, spread over the replicas: one signal, one incident.
        integration, key = generic_integration(a)
        replicas = [a, b, c]
        with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
            answers = list(pool.map(lambda n: send_event(replicas[n % 3], key, "one-key").status_code, range(100)))
        assert set(answers) == {202}, collections.Counter(answers)
        signals = [s for s in a.api("GET", "/api/v1/signals?limit=1000")["signals"] if s["sourceId"] == integration]
        assert len(signals) == 1 and signals[0]["eventCount"] == 100, signals
        incidents = [i for i in a.api("GET", "/api/v1/incidents")["incidents"] if i["title"].startswith("replica event")]
        assert len(incidents) == 1, incidents
    finally:
        listener.close()


def test_a_change_on_one_replica_shows_on_anothers_status_page(belay_factory):
    a, _, c = start_replicas(belay_factory, fresh_database())
    a.api("POST", "/api/v1/components", {"slug": "api", "name": "API"}, expect=201)
    wait_for("C's page lists the component",
             lambda: any(x["name"] == "API" for x in c.request("GET", "/api/v2/summary.json", auth=False).json()["components"]), 15)
    incident = a.api("POST", "/api/v1/incidents", {"title": "Seen everywhere", "severity": "sev2", "isPublic": True,
                                                    "components": [{"slug": "api", "impact": "major_outage"}], "message": "Looking"}, expect=201)
    summary = wait_for("C's page shows the incident declared on A", lambda: [
        i for i in c.request("GET", "/api/v2/summary.json", auth=False).json()["incidents"] if i["id"] == str(incident["id"])], 15)
    assert summary[0]["name"] == "Seen everywhere"


def test_a_killed_replica_loses_no_acknowledged_event_and_its_monitors_move(belay_factory):
    listener = Listener()
    try:
        replicas = start_replicas(belay_factory, fresh_database())
        a = replicas[0]
        a.api("POST", "/api/v1/components", {"slug": "api", "name": "API"}, expect=201)
        integration, key = generic_integration(a)
        # Made on every replica, so the one killed below made some of them.
        monitors = make_monitors(replicas, listener)
        wait_for("every monitor checked", lambda: all(result_times(a, m) for m in monitors), 60)

        acknowledged = []
        counter = itertools.count()
        victim = replicas[1]

        def send(_):
            n = next(counter)
            replica = replicas[n % 3]
            dedup = f"kill-{n}"
            try:
                response = send_event(replica, key, dedup)
            except requests.RequestException:
                return
            if response.status_code == 202:
                acknowledged.append(dedup)

        with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
            futures = [pool.submit(send, n) for n in range(600)]
            time.sleep(1.5)
            victim.kill()
            concurrent.futures.wait(futures)
        killed_at = time.time()
        stored = {s["dedupKey"] for s in a.api("GET", "/api/v1/signals?limit=1000")["signals"] if s["sourceId"] == integration}
        lost = [d for d in acknowledged if d not in stored]
        assert not lost, f"{len(lost)} acknowledged events are missing, e.g. {lost[:5]}"
        assert len(acknowledged) > 100

        # Every monitor, the dead replica's too, is checked again by the two left.
        since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(killed_at + 1))
        wait_for("every monitor checked after the kill",
                 lambda: all(any(t >= since for t in result_times(a, m)) for m in monitors), 60)
    finally:
        listener.close()


def test_a_postgresql_restart_gives_503s_and_retries_succeed(belay_factory):
    cluster = tempfile.mkdtemp(prefix="belay-pg-restart-")
    os.chmod(cluster, 0o755)
    subprocess.run(["bash", os.path.join(REPO, "scripts", "postgres"), "start", cluster], check=True, capture_output=True, timeout=300)
    try:
        server_url = open(os.path.join(cluster, "url")).read().strip()
        a, b = start_replicas(belay_factory, fresh_database(server_url), count=2)
        a.api("POST", "/api/v1/components", {"slug": "api", "name": "API"}, expect=201)
        _, key = generic_integration(a)
        answers = collections.Counter()
        pending = []

        def deliver(n):
            dedup = f"restart-{n}"
            replica = (a, b)[n % 2]
            for _ in range(60):
                try:
                    response = send_event(replica, key, dedup)
                except requests.RequestException:
                    answers["connection"] += 1
                    time.sleep(0.5)
                    continue
                answers[response.status_code] += 1
                if response.status_code == 202:
                    return dedup
                assert response.status_code == 503, f"{dedup}: {response.status_code} {response.text[:300]}"
                time.sleep(0.5)
            pending.append(dedup)
            return None

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(deliver, n) for n in range(200)]
            time.sleep(1)
            pg_ctl = subprocess.run(["bash", "-c", "ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -1 || true"],
                                    capture_output=True, text=True).stdout.strip() or "pg_ctl"
            subprocess.run(["runuser", "-u", "belaypg", "--", pg_ctl, "-D", os.path.join(cluster, "data"), "-m", "fast", "-w", "restart",
                            "-l", os.path.join(cluster, "log")], check=True, capture_output=True, timeout=120)
            delivered = [f.result() for f in futures]
        assert not pending, f"never accepted after the restart: {pending[:5]}"
        stored = {s["dedupKey"] for s in a.api("GET", "/api/v1/signals?limit=1000")["signals"]}
        assert all(d in stored for d in delivered), "an acknowledged event is missing"
        assert set(answers) <= {202, 503, "connection"}, answers
    finally:
        subprocess.run(["bash", os.path.join(REPO, "scripts", "postgres"), "stop", cluster], capture_output=True, timeout=120)
        subprocess.run(["rm", "-rf", cluster])
