"""A real Prometheus (Debian's `prometheus`) scrapes Belay's /metrics every second: the scrape is healthy, the
alert rules in docs/prometheus/belay-rules.yml pass `promtool check rules`, and every panel expression of
docs/grafana/belay-dashboard.json returns at least one series from that Prometheus. Also: /metrics refuses an
anonymous client outside --metrics-allow, and /healthz and /readyz answer. When the run has PostgreSQL
(BELAY_TEST_POSTGRES_URL, as scripts/test and scripts/postgres run set it), Prometheus also scrapes three replicas
on one database: each target is up and each replica's own counts are its own series, told apart by `instance`;
then, with one migration's record deleted (a schema older than the binary), a replica's /readyz is 503.

    bash tests/external/install.sh
    BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/external/test_prometheus.py
    scripts/postgres run -- env BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/external/test_prometheus.py
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import postgres_database
from support import create_component, create_integration, free_port, rfc3339, utcnow, wait_until

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(ROOT, "docs", "prometheus", "belay-rules.yml")
DASHBOARD = os.path.join(ROOT, "docs", "grafana", "belay-dashboard.json")


def tool(name):
    path = shutil.which(name)
    if not path:
        pytest.fail(f"no {name} on PATH: run tests/external/install.sh")
    return path


def test_promtool_accepts_the_alert_rules():
    result = subprocess.run([tool("promtool"), "check", "rules", RULES], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def dashboard_expressions():
    dashboard = json.load(open(DASHBOARD))
    expressions = [(panel["title"], target["expr"]) for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert expressions, "the dashboard has no panel expressions"
    return expressions


class Prometheus:
    """A throwaway Prometheus scraping Belay (one `host:port` target or several, the replicas) every second, its
    data in a temporary directory."""

    def __init__(self, *targets):
        self.directory = tempfile.mkdtemp(prefix="belay-prometheus-")
        config = os.path.join(self.directory, "prometheus.yml")
        with open(config, "w") as file:
            file.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{RULES}"]
scrape_configs:
  - job_name: belay
    metrics_path: /metrics
    static_configs:
      - targets: {json.dumps(list(targets))}
""")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(self.directory, "prometheus.log"), "w")
        self.process = subprocess.Popen(
            [tool("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={self.directory}/data",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def query(self, expression):
        answer = requests.get(self.url + "/api/v1/query", params={"query": expression}, timeout=5)
        answer.raise_for_status()
        body = answer.json()
        assert body["status"] == "success", body
        return body["data"]["result"]

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def output(self):
        return open(os.path.join(self.directory, "prometheus.log")).read()


@pytest.mark.belay_args("--metrics-allow", "127.0.0.1/32")
def test_prometheus_scrapes_belay_and_every_dashboard_panel_has_data(belay):
    assert requests.get(belay.url + "/healthz", timeout=5).json() == {"status": "ok"}
    ready = requests.get(belay.url + "/readyz", timeout=5)
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "migrations": "ok"}, ready.text
    # From an allowed address no token is needed.
    assert requests.get(belay.url + "/metrics", timeout=5).status_code == 200

    # A few alerts: accepted ones, and refusals Belay counts by reason.
    create_component(belay, "api")
    key = create_integration(belay, "prometheus", "alertmanager", {"defaultComponents": ["api"], "defaultSeverity": "sev2"})["key"]
    for index in range(3):
        alert = {"status": "firing", "labels": {"alertname": f"Probe{index}"}, "annotations": {}, "startsAt": rfc3339(utcnow()),
                 "endsAt": "0001-01-01T00:00:00Z", "fingerprint": f"{index:016x}"}
        body = {"version": "4", "status": "firing", "receiver": "belay", "groupKey": f"{{}}:{index}", "groupLabels": {},
                "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "alerts": [alert]}
        answer = requests.post(f"{belay.url}/api/v1/integrations/{key}/alertmanager", json=body, timeout=10)
        assert answer.status_code == 200, answer.text
    assert requests.post(f"{belay.url}/api/v1/integrations/{'ef' * 16}/alertmanager", json={}, timeout=10).status_code == 404

    prometheus = Prometheus(belay.url.removeprefix("http://"))
    try:
        expressions = dashboard_expressions()
        missing = expressions
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                missing = [(title, expression) for title, expression in missing if not prometheus.query(expression)]
            except requests.RequestException:
                pass  # Prometheus is still starting.
            if not missing:
                break
            time.sleep(1)
        assert not missing, f"panels whose expression returned no series within 60 s: {missing}\n{prometheus.output()[-3000:]}"

        up = prometheus.query('up{job="belay"}')
        assert up and up[0]["value"][1] == "1", up
        accepted = prometheus.query('belay_ingest_deliveries_total{format="alertmanager"}')
        assert accepted and float(accepted[0]["value"][1]) == 3, accepted
        rejected = prometheus.query('belay_ingest_rejections_total{format="alertmanager", reason="unknown_key"}')
        assert rejected and float(rejected[0]["value"][1]) == 1, rejected
        events = prometheus.query("belay_ingest_events_total")
        assert events and float(events[0]["value"][1]) == 3, events
    finally:
        prometheus.stop()
        shutil.rmtree(prometheus.directory, ignore_errors=True)


def test_prometheus_tells_three_replicas_on_one_postgresql_database_apart(start_belay):
    if not os.environ.get("BELAY_TEST_POSTGRES_URL"):
        pytest.skip("the run has no PostgreSQL (BELAY_TEST_POSTGRES_URL); the single-server check covers SQLite")
    database = postgres_database(always=True)
    replicas = [start_belay("--metrics-allow", "127.0.0.1/32", database=database) for _ in range(3)]
    for replica in replicas:
        ready = requests.get(replica.url + "/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "migrations": "ok"}, ready.text

    create_component(replicas[0], "api")
    key = create_integration(replicas[0], "replicas", "generic", {"defaultComponents": ["api"], "defaultSeverity": "sev3"})["key"]
    # A different number of deliveries to each replica: its counter then says which replica it is.
    expected = {}
    for index, replica in enumerate(replicas):
        for n in range(index + 1):
            event = {"action": "trigger", "dedupKey": f"replica-{index}-{n}", "summary": f"replica {index} event {n}", "severity": "warning",
                     "source": "db1"}
            answer = requests.post(f"{replica.url}/api/v1/integrations/{key}/events", json=event, timeout=10)
            assert answer.status_code == 202, answer.text
        expected[replica.url.removeprefix("http://")] = index + 1

    prometheus = Prometheus(*expected)
    try:
        def scraped():
            try:
                up = prometheus.query('up{job="belay"}')
                counted = prometheus.query('belay_ingest_deliveries_total{job="belay", format="generic"}')
            except requests.RequestException:
                return None  # Prometheus is still starting.
            return (up, counted) if len(up) == 3 and len(counted) == 3 else None

        up, counted = wait_until(scraped, 60, f"three scraped replicas\n{prometheus.output()[-3000:]}", interval=1)
        assert {series["metric"]["instance"]: series["value"][1] for series in up} == {target: "1" for target in expected}, up
        # Each replica's deliveries under its own instance: a replica counts what it took, not the database's total.
        assert {series["metric"]["instance"]: float(series["value"][1]) for series in counted} == expected, counted
        events = prometheus.query('belay_ingest_events_total{job="belay"}')
        assert {series["metric"]["instance"]: float(series["value"][1]) for series in events} == expected, events
        total = prometheus.query('sum(belay_ingest_deliveries_total{job="belay", format="generic"})')
        assert total and float(total[0]["value"][1]) == sum(expected.values()), total
    finally:
        prometheus.stop()
        shutil.rmtree(prometheus.directory, ignore_errors=True)

    # A schema older than the binary (here: one migration's record gone, as after restoring an older dump) is unready.
    subprocess.run(["psql", database, "-qc", "DELETE FROM belay_migration WHERE identifier = 'v1-foundation'"], check=True,
                   capture_output=True, timeout=60)
    behind = requests.get(replicas[1].url + "/readyz", timeout=5)
    assert behind.status_code == 503, behind.text
    assert behind.json() == {"status": "unready", "checks": {"database": "ok", "migrations": "not applied: v1-foundation"}}, behind.text


def test_metrics_refuse_an_anonymous_client_outside_the_allowed_addresses(belay):
    refused = requests.get(belay.url + "/metrics", timeout=5)
    assert refused.status_code == 401, refused.text
    assert refused.json()["error"]["code"] == "unauthorized"
    allowed = requests.get(belay.url + "/metrics", headers={"Authorization": f"Bearer {belay.create_token('viewer')[1]}"}, timeout=5)
    assert allowed.status_code == 200
    assert "belay_ingest_events_total" in allowed.text
