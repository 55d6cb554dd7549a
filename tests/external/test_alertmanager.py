"""A real Prometheus Alertmanager (Debian's prometheus-alertmanager, 0.25) delivers its webhook (version 4) to
Belay's Alertmanager integration: alerts fired through Alertmanager's own API open an incident, their resolution
clears it, repeated notifications stay one alert, and bad requests get the documented errors.

    bash tests/external/install.sh
    BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/external/test_alertmanager.py
"""
import concurrent.futures
import datetime
import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from support import (create_component, create_integration, free_port, impact_slugs, incident, incident_signals, incidents,
                     incidents_on, parse_time, rfc3339, signal_entries, signals, utcnow, wait_until)

ROUTING = {
    "rules": [{"match": {"team": "payments"}, "components": ["payments"], "severity": "sev1"}],
    "defaultComponents": ["api"],
    "defaultSeverity": "sev2",
}


def alertmanager_binary():
    for name in ("alertmanager", "prometheus-alertmanager"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("no Alertmanager on PATH: run tests/external/install.sh")


class Capture:
    """A webhook receiver of our own beside Belay in Alertmanager's config, so tests see exactly what Alertmanager sent."""

    def __init__(self):
        received = self.received = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def payloads(self):
        return [json.loads(body) for body in list(self.received)]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Alertmanager:
    def __init__(self, webhook_urls, repeat_interval="2s"):
        self.dir = tempfile.mkdtemp(prefix="alertmanager-")
        config = {
            "route": {"receiver": "belay", "group_by": ["alertname"], "group_wait": "1s", "group_interval": "1s",
                      "repeat_interval": repeat_interval},
            "receivers": [{"name": "belay", "webhook_configs": [{"url": url, "send_resolved": True} for url in webhook_urls]}],
        }
        config_path = os.path.join(self.dir, "alertmanager.yml")
        with open(config_path, "w") as file:
            json.dump(config, file)  # YAML is a superset of JSON
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = os.path.join(self.dir, "alertmanager.log")
        self.process = subprocess.Popen(
            [alertmanager_binary(), f"--config.file={config_path}", f"--storage.path={os.path.join(self.dir, 'data')}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=debug"],
            stdout=subprocess.DEVNULL, stderr=open(self.log_path, "w"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("alertmanager exited: " + self.log())
            try:
                if requests.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError("alertmanager did not start: " + self.log())

    def post_alerts(self, alerts):
        response = requests.post(self.url + "/api/v2/alerts", json=alerts, timeout=10)
        assert response.status_code == 200, response.text

    def log(self):
        return open(self.log_path).read()

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def capture():
    receiver = Capture()
    yield receiver
    receiver.stop()


@pytest.fixture
def start_alertmanager(request):
    started = []

    def start(*webhook_urls, **kwargs):
        manager = Alertmanager(webhook_urls, **kwargs)
        started.append(manager)
        return manager

    yield start
    for manager in started:
        if getattr(request.node, "belay_call_failed", False):
            print(f"--- alertmanager log, last 4000 characters:\n{manager.log()[-4000:]}")
        manager.stop()


def setup_belay(belay):
    create_component(belay, "api", "API")
    create_component(belay, "payments", "Payments")
    created = create_integration(belay, "prometheus", "alertmanager", ROUTING)
    return created["key"], f"{belay.url}/api/v1/integrations/{created['key']}/alertmanager"


def payments_alert(starts_at, ends_at=None, summary="Error rate above 5% on checkout"):
    alert = {
        "labels": {"alertname": "CheckoutErrors", "team": "payments", "severity": "critical", "instance": "pay-1:9100"},
        "annotations": {"summary": summary, "description": "5xx ratio is 7.3% over 5m"},
        "startsAt": rfc3339(starts_at),
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=checkout_errors&g0.tab=1",
    }
    if ends_at:
        alert["endsAt"] = rfc3339(ends_at)
    return alert


def notifications(capture, status):
    return [payload for payload in capture.payloads() if payload["status"] == status]


def post_webhook(belay, url, payload):
    data = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return belay.request("POST", url, auth=False, data=data, headers={"Content-Type": "application/json"})


@pytest.mark.belay_args("--quiet-period", "3s")
def test_an_alert_fired_through_alertmanager_opens_an_incident_and_its_resolution_clears_it(belay, capture, start_alertmanager):
    key, webhook = setup_belay(belay)
    manager = start_alertmanager(webhook, capture.url)
    starts_at = (utcnow() - datetime.timedelta(minutes=2)).replace(microsecond=0)
    sent_at = utcnow()
    manager.post_alerts([payments_alert(starts_at)])

    opened = wait_until(lambda: incidents_on(belay, "payments"), 15, "no incident on payments after Alertmanager fired")
    assert len(opened) == 1, opened
    opened = opened[0]
    assert "Error rate above 5% on checkout" in opened["title"], opened
    assert impact_slugs(opened) == ["payments"], opened
    assert opened["severity"] == "sev1", opened
    assert opened["status"] == "investigating", opened
    assert opened["isPublic"] is False, "integrations without publicIncidents open internal incidents"
    milestones = opened["milestones"]
    detected = parse_time(milestones["detectedAt"])
    assert sent_at - datetime.timedelta(seconds=1) <= detected <= utcnow(), milestones
    assert abs((parse_time(milestones["impactStartedAt"]) - starts_at).total_seconds()) <= 1, (milestones, rfc3339(starts_at))
    assert "acknowledgedAt" not in milestones, "nobody has acknowledged an incident Belay opened"
    # Alertmanager delivers to its two receivers concurrently: ours may see the notification a moment after Belay.
    wait_until(lambda: capture.received, 5, "the capture receiver got no notification")
    assert capture.payloads()[0]["version"] == "4"

    # Alertmanager repeats the notification every repeat_interval (2 s): still one alert, one incident.
    wait_until(lambda: len(notifications(capture, "firing")) >= 3, 15, "Alertmanager did not repeat its notification")
    # Belay gets each repeat concurrently with our receiver, so it may count the third a moment later.
    wait_until(lambda: all(s["eventCount"] >= 3 for s in incident_signals(belay, opened["id"])), 5,
               "Belay did not count Alertmanager's repeats on the incident's signal")
    assert len(incidents(belay)) == 1, incidents(belay)
    [signal] = incident_signals(belay, opened["id"])
    assert signal["status"] == "firing", signal
    assert any(link.get("href") == payments_alert(starts_at)["generatorURL"] for link in signal.get("links", [])), \
        f"generatorURL should be a link on the signal: {signal}"
    assert len(signal_entries(belay, opened["id"])) == 1, "repeats of a firing alert are counted, not repeated on the timeline"

    # Resolved through Alertmanager's API: endsAt in the past.
    manager.post_alerts([payments_alert(starts_at, ends_at=utcnow() - datetime.timedelta(seconds=1))])
    wait_until(lambda: notifications(capture, "resolved"), 15, "Alertmanager sent no resolved notification")
    mitigated = wait_until(lambda: (lambda i: i if i["status"] in ("monitoring", "resolved") else None)(incident(belay, opened["id"])),
                           10, "the incident did not leave investigating after its only alert resolved")
    assert mitigated["status"] == "monitoring", f"the last alert resolving moves the incident to monitoring first: {mitigated}"
    assert "mitigatedAt" in mitigated["milestones"], mitigated
    assert [s["status"] for s in incident_signals(belay, opened["id"])] == ["resolved"]

    # --quiet-period 3s with no new alert: Belay resolves what it opened.
    resolved = wait_until(lambda: (lambda i: i if i["status"] == "resolved" else None)(incident(belay, opened["id"])),
                          15, "the incident Belay opened did not resolve itself after the quiet period")
    assert "resolvedAt" in resolved["milestones"], resolved
    assert len(incidents(belay)) == 1


def test_the_same_notification_delivered_five_times_is_one_alert_and_one_incident(belay, capture, start_alertmanager):
    key, webhook = setup_belay(belay)
    # Alertmanager delivers only to our receiver here; we replay its exact bytes to Belay ourselves.
    manager = start_alertmanager(capture.url, repeat_interval="1h")
    manager.post_alerts([payments_alert(utcnow() - datetime.timedelta(seconds=30))])
    wait_until(lambda: capture.received, 15, "Alertmanager sent no notification")
    body = capture.received[0]
    assert json.loads(body)["version"] == "4"

    answers = [post_webhook(belay, webhook, body) for _ in range(3)]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers += list(pool.map(lambda _: post_webhook(belay, webhook, body), range(2)))
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"status": "success", "accepted": 1}, answer.text

    assert len(incidents(belay)) == 1, incidents(belay)
    [opened] = incidents(belay)
    assert impact_slugs(opened) == ["payments"]
    [signal] = incident_signals(belay, opened["id"])
    assert signal["status"] == "firing"
    assert signal["eventCount"] == 5, f"five deliveries are counted: {signal}"
    assert len(signals(belay, "firing")) == 1
    assert len(signal_entries(belay, opened["id"])) == 1, belay.api("GET", f"/api/v1/incidents/{opened['id']}/timeline")


def hand_built(alerts, status="firing"):
    """A version 4 notification as Alertmanager documents it, for what a real one cannot easily show."""
    return {"version": "4", "groupKey": "{}:{alertname=\"DiskFull\"}", "truncatedAlerts": 0, "status": status,
            "receiver": "belay", "groupLabels": {"alertname": "DiskFull"}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://alertmanager.example:9093", "alerts": alerts}


def test_without_a_fingerprint_an_alert_is_keyed_by_its_sorted_labels(belay):
    key, webhook = setup_belay(belay)
    starts = rfc3339(utcnow() - datetime.timedelta(minutes=1))
    disk = {"status": "firing", "labels": {"alertname": "DiskFull", "instance": "db1", "team": "payments"},
            "annotations": {"description": "Disk 95% full on db1"}, "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph"}
    reordered = dict(disk, labels={"team": "payments", "instance": "db1", "alertname": "DiskFull"})
    for alert in (disk, reordered):
        answer = post_webhook(belay, webhook, hand_built([alert]))
        assert answer.status_code == 200 and answer.json() == {"status": "success", "accepted": 1}, answer.text
    [opened] = incidents(belay)
    assert "Disk 95% full on db1" in opened["title"], "annotations.description makes the summary when there is no summary"
    assert len(incident_signals(belay, opened["id"])) == 1

    # Another alert on the same component joins the open incident.
    other = dict(disk, labels={"alertname": "DiskFull", "instance": "db2", "team": "payments"}, annotations={"summary": "db2 too"})
    assert post_webhook(belay, webhook, hand_built([other])).status_code == 200
    assert len(incidents(belay)) == 1
    assert len(incident_signals(belay, opened["id"])) == 2

    # Resolving one leaves the incident investigating; resolving the last moves it to monitoring.
    ends = rfc3339(utcnow())
    assert post_webhook(belay, webhook, hand_built([dict(reordered, status="resolved", endsAt=ends)], "resolved")).status_code == 200
    assert incident(belay, opened["id"])["status"] == "investigating"
    assert post_webhook(belay, webhook, hand_built([dict(other, status="resolved", endsAt=ends)], "resolved")).status_code == 200
    assert incident(belay, opened["id"])["status"] == "monitoring"


def assert_bad_request(answer, field=None):
    assert answer.status_code == 400, f"{answer.status_code} {answer.text}"
    assert answer.headers.get("Content-Type", "").startswith("application/json"), answer.headers
    error = answer.json()["error"]
    assert error["message"], error
    if field:
        assert field in error["message"], f"the message should name {field!r}: {error}"


def test_malformed_notifications_are_400_with_a_json_error_and_store_nothing(belay):
    key, webhook = setup_belay(belay)
    good = {"status": "firing", "labels": {"alertname": "CheckoutErrors", "team": "payments"},
            "annotations": {"summary": "checkout failing"}, "startsAt": rfc3339(utcnow()), "fingerprint": "0123456789abcdef"}
    assert_bad_request(post_webhook(belay, webhook, b"{not json"))
    assert_bad_request(post_webhook(belay, webhook, b"[]"))
    assert_bad_request(post_webhook(belay, webhook, {"version": "4", "status": "firing", "alerts": "CheckoutErrors"}), "alerts")
    assert_bad_request(post_webhook(belay, webhook, hand_built([dict(good, status="exploded")])), "status")
    assert_bad_request(post_webhook(belay, webhook, hand_built([dict(good, startsAt="yesterday")])), "startsAt")
    # One good alert beside a bad one: the request is stored whole or not at all.
    assert_bad_request(post_webhook(belay, webhook, hand_built([good, dict(good, fingerprint="fedcba9876543210", status="exploded")])), "status")
    assert incidents(belay) == []
    assert signals(belay) == []
    # The same good alert alone is accepted.
    answer = post_webhook(belay, webhook, hand_built([good]))
    assert answer.status_code == 200 and answer.json() == {"status": "success", "accepted": 1}, answer.text
    assert len(incidents(belay)) == 1


def test_an_unknown_key_is_404(belay):
    key, webhook = setup_belay(belay)
    body = hand_built([{"status": "firing", "labels": {"alertname": "X"}, "annotations": {"summary": "x"}, "startsAt": rfc3339(utcnow())}])
    for unknown in ("0" * 32, key[:-1] + ("0" if key[-1] != "0" else "1"), "not-a-key"):
        answer = post_webhook(belay, f"{belay.url}/api/v1/integrations/{unknown}/alertmanager", body)
        assert answer.status_code == 404, f"key {unknown}: {answer.status_code} {answer.text}"
    assert incidents(belay) == []


def test_routing_may_leave_out_rules(belay):
    # Only defaults, as most people start: no rules to write, every alert goes to the default component.
    create_component(belay, "api", "API")
    created = create_integration(belay, "prometheus", "alertmanager", {"defaultComponents": ["api"], "defaultSeverity": "sev3"})
    body = hand_built([{"status": "firing", "labels": {"alertname": "Slow"}, "annotations": {"summary": "slow"}, "startsAt": rfc3339(utcnow())}])
    assert post_webhook(belay, f"{belay.url}/api/v1/integrations/{created['key']}/alertmanager", body).status_code == 200
    [opened] = incidents(belay)
    assert impact_slugs(opened) == ["api"] and opened["severity"] == "sev3", opened


def test_label_routing_and_severity_words(belay):
    key, webhook = setup_belay(belay)
    starts = rfc3339(utcnow())

    def fire(labels, summary):
        alert = {"status": "firing", "labels": dict(labels, alertname=summary.replace(" ", "")), "annotations": {"summary": summary}, "startsAt": starts}
        answer = post_webhook(belay, webhook, hand_built([alert]))
        assert answer.status_code == 200, answer.text

    # No rule matches; a `service` label naming a Belay component routes there, and the sender's word sets the severity.
    fire({"service": "payments", "severity": "warning"}, "payments queue slow")
    [on_payments] = incidents_on(belay, "payments")
    assert impact_slugs(on_payments) == ["payments"] and on_payments["severity"] == "sev3", on_payments
    # No rule, no component label: the defaults.
    fire({"severity": "nonsense-word", "instance": "x"}, "something else")
    [on_api] = incidents_on(belay, "api")
    assert on_api["severity"] == "sev2", on_api
    # A component label naming no Belay component is not a component: the defaults again, the same open incident.
    fire({"component": "no-such-component"}, "unknown component")
    assert len(incidents_on(belay, "api")) == 1 and len(incident_signals(belay, on_api["id"])) == 2


def test_an_integration_with_public_incidents_opens_public_ones(belay):
    create_component(belay, "api", "API")
    created = create_integration(belay, "prometheus", "alertmanager", {"rules": [], "defaultComponents": ["api"], "defaultSeverity": "sev2"}, public=True)
    body = hand_built([{"status": "firing", "labels": {"alertname": "ApiDown"}, "annotations": {"summary": "API is down"}, "startsAt": rfc3339(utcnow())}])
    assert post_webhook(belay, f"{belay.url}/api/v1/integrations/{created['key']}/alertmanager", body).status_code == 200
    [opened] = incidents(belay)
    assert opened["isPublic"] is True, opened
    belay.wait_for("/api/v2/incidents/unresolved.json", "API is down", timeout=5)


@pytest.mark.belay_args("--quiet-period", "1s")
def test_a_held_incident_is_not_resolved_by_belay(belay):
    key, webhook = setup_belay(belay)
    alert = {"status": "firing", "labels": {"alertname": "CheckoutErrors", "team": "payments"}, "annotations": {"summary": "checkout failing"},
             "startsAt": rfc3339(utcnow()), "fingerprint": "00000000000000aa"}
    assert post_webhook(belay, webhook, hand_built([alert])).status_code == 200
    [opened] = incidents(belay)
    belay.api("POST", f"/api/v1/incidents/{opened['id']}/hold", {"hold": True})
    assert post_webhook(belay, webhook, hand_built([dict(alert, status="resolved", endsAt=rfc3339(utcnow()))], "resolved")).status_code == 200
    assert incident(belay, opened["id"])["status"] == "monitoring"
    time.sleep(4)
    assert incident(belay, opened["id"])["status"] == "monitoring", "a person holds it open: Belay must not resolve it"
    belay.api("POST", f"/api/v1/incidents/{opened['id']}/hold", {"hold": False})
    wait_until(lambda: incident(belay, opened["id"])["status"] == "resolved", 15, "released, it resolves after the quiet period")


def test_a_large_notification_within_the_alert_body_limit_is_accepted(belay):
    # Alertmanager groups can carry hundreds of alerts: over the general 1 MiB body limit, within the 16 MiB one for ingestion.
    key, webhook = setup_belay(belay)
    starts = rfc3339(utcnow())
    alerts = [{"status": "firing", "labels": {"alertname": "NodeDown", "instance": f"node-{n}", "team": "payments"},
               "annotations": {"summary": f"node-{n} is down", "description": "x" * 4000}, "startsAt": starts} for n in range(400)]
    body = json.dumps(hand_built(alerts)).encode()
    assert len(body) > 1.5 * 1024 * 1024
    answer = post_webhook(belay, webhook, body)
    assert answer.status_code == 200 and answer.json() == {"status": "success", "accepted": 400}, answer.text[:500]
    assert len(incidents(belay)) == 1 and len(signals(belay, "firing")) == 400

    too_big = b'{"version":"4","status":"firing","alerts":[],"padding":"' + b"x" * (17 * 1024 * 1024) + b'"}'
    answer = post_webhook(belay, webhook, too_big)
    assert answer.status_code == 413, f"{answer.status_code} {answer.text[:300]}"


def test_a_resolved_alert_belay_never_saw_is_accepted_and_opens_nothing(belay):
    # Belay was down while the alert fired; Alertmanager drops a notification answered with a 4xx, so the answer is 200.
    key, webhook = setup_belay(belay)
    alert = {"status": "resolved", "labels": {"alertname": "CheckoutErrors", "team": "payments"}, "annotations": {"summary": "checkout failing"},
             "startsAt": rfc3339(utcnow() - datetime.timedelta(minutes=5)), "endsAt": rfc3339(utcnow()), "fingerprint": "00000000000000bb"}
    answer = post_webhook(belay, webhook, hand_built([alert], "resolved"))
    assert answer.status_code == 200 and answer.json() == {"status": "success", "accepted": 1}, answer.text
    assert incidents(belay) == []


def test_impact_never_starts_after_detection(belay):
    # A Prometheus whose clock runs ahead sends a startsAt in the future.
    key, webhook = setup_belay(belay)
    alert = {"status": "firing", "labels": {"alertname": "CheckoutErrors", "team": "payments"}, "annotations": {"summary": "checkout failing"},
             "startsAt": rfc3339(utcnow() + datetime.timedelta(minutes=2))}
    assert post_webhook(belay, webhook, hand_built([alert])).status_code == 200
    [opened] = incidents(belay)
    milestones = opened["milestones"]
    assert parse_time(milestones["impactStartedAt"]) <= parse_time(milestones["detectedAt"]), milestones
