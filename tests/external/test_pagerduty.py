"""PagerDuty's own Python client, pdpyras, sends Events API v2 events to Belay's /v2/enqueue, unmodified except
for its base URL: trigger, acknowledge, resolve and re-trigger behave as PagerDuty's rules say, and the answers
have PagerDuty's shapes, so tools built for PagerDuty work against Belay.

    BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/external/test_pagerduty.py
"""
import re
import warnings

import pytest
import requests

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pdpyras warns on import that its successor is the "pagerduty" package
    import pdpyras

from support import (create_component, create_integration, impact_slugs, incident, incident_signals, incidents, incidents_on,
                     signal_entries, signals, wait_until)

ROUTING = {"rules": [{"match": {"source": "db1"}, "components": ["database"], "severity": "sev1"}],
           "defaultComponents": ["checkout"], "defaultSeverity": "sev2"}


def setup(belay):
    create_component(belay, "checkout", "Checkout")
    create_component(belay, "database", "Database")
    key = create_integration(belay, "pagerduty-events", "pagerduty", ROUTING)["key"]
    session = pdpyras.EventsAPISession(key)
    session.url = belay.url  # the client posts to <url>/v2/enqueue
    return key, session


def only(items, message):
    assert len(items) == 1, f"{message}: {items}"
    return items[0]


def status_of(belay, incident_id, *statuses):
    current = incident(belay, incident_id)
    return current if current["status"] in statuses else None


def test_trigger_acknowledge_resolve_with_pdpyras(belay):
    key, session = setup(belay)
    dedup = session.trigger("Checkout latency p99 above 2s", "checkout-web-1", dedup_key="checkout-latency", severity="error",
                            custom_details={"p99_ms": 2400}, links=[{"href": "https://grafana.example/d/checkout", "text": "dashboard"}])
    assert dedup == "checkout-latency"
    opened = only(incidents(belay), "one trigger, one incident")
    assert "Checkout latency p99 above 2s" in opened["title"], opened
    assert impact_slugs(opened) == ["checkout"], opened
    assert opened["status"] == "investigating"
    assert "detectedAt" in opened["milestones"] and "acknowledgedAt" not in opened["milestones"], opened

    # The same key again while the alert is open updates it: still one alert, one incident.
    assert session.trigger("Checkout latency p99 above 3s", "checkout-web-1", dedup_key="checkout-latency") == "checkout-latency"
    assert len(incidents(belay)) == 1
    only(incident_signals(belay, opened["id"]), "a trigger with the key of an open alert updates it")

    assert session.acknowledge("checkout-latency") == "checkout-latency"
    acknowledged = incident(belay, opened["id"])
    assert "acknowledgedAt" in acknowledged["milestones"], f"acknowledge sets the acknowledged milestone: {acknowledged}"
    assert acknowledged["status"] != "resolved"

    assert session.resolve("checkout-latency") == "checkout-latency"
    mitigated = incident(belay, opened["id"])
    assert mitigated["status"] == "monitoring", f"its only alert resolved, the incident moves to monitoring: {mitigated}"
    assert "mitigatedAt" in mitigated["milestones"], mitigated
    statuses = [entry["details"].get("status") for entry in signal_entries(belay, opened["id"])]
    assert {"firing", "acknowledged", "resolved"} <= set(statuses), f"firing, acknowledged and resolved are each a signal entry: {statuses}"

    # PagerDuty's rule: after resolve, the same key opens a new alert.
    assert session.trigger("Checkout latency p99 above 2s again", "checkout-web-1", dedup_key="checkout-latency") == "checkout-latency"
    firing = [s for s in signals(belay, "firing") if s.get("dedupKey") == "checkout-latency"]
    assert len(firing) == 1, f"a new firing alert for the re-used key: {signals(belay)}"
    keyed = [s for s in signals(belay) if s.get("dedupKey") == "checkout-latency"]
    assert len(keyed) == 2 and len({s["id"] for s in keyed}) == 2, f"the resolved alert stays, the new one is another: {keyed}"
    assert incident(belay, opened["id"])["status"] != "resolved"


def test_a_trigger_without_a_dedup_key_gets_a_generated_one(belay):
    key, session = setup(belay)
    generated = session.trigger("Disk 95% full on db1", "db1", severity="critical")
    assert isinstance(generated, str) and generated, generated
    opened = only(incidents(belay), "one trigger, one incident")
    assert impact_slugs(opened) == ["database"], "the rule matching source db1 routes to database"
    assert opened["severity"] == "sev1"
    # The generated key is the alert's key from then on.
    another = session.trigger("Disk 95% full on db1", "db1", severity="critical")
    assert another != generated, "each keyless trigger is a new alert"
    assert session.resolve(generated) == generated
    assert session.resolve(another) == another
    assert incident(belay, opened["id"])["status"] == "monitoring"


@pytest.mark.belay_args("--quiet-period", "1s")
def test_after_resolve_and_quiet_period_the_same_key_opens_a_new_incident(belay):
    key, session = setup(belay)
    session.trigger("Payment provider timeouts", "checkout-web-1", dedup_key="provider-timeouts")
    first = only(incidents(belay), "one trigger, one incident")
    session.resolve("provider-timeouts")
    wait_until(lambda: status_of(belay, first["id"], "resolved"), 15, "Belay did not resolve its incident after the quiet period")
    session.trigger("Payment provider timeouts", "checkout-web-1", dedup_key="provider-timeouts")
    assert len(incidents(belay)) == 2, incidents(belay)
    second = [i for i in incidents(belay) if i["id"] != first["id"]][0]
    assert second["status"] == "investigating" and impact_slugs(second) == ["checkout"], second
    assert incident(belay, first["id"])["status"] == "resolved", "the resolved incident stays resolved"


def enqueue(belay, event):
    return requests.post(belay.url + "/v2/enqueue", json=event, timeout=10)


def test_answers_have_pagerdutys_shapes(belay):
    key, session = setup(belay)
    trigger = {"routing_key": key, "event_action": "trigger", "dedup_key": "raw-1",
               "payload": {"summary": "Queue depth above 10k", "source": "worker-3", "severity": "warning",
                           "timestamp": "2026-01-01T00:00:00.000+00:00", "component": "queue", "group": "workers", "class": "backlog",
                           "custom_details": {"depth": 12000}},
               "links": [{"href": "https://grafana.example/d/queue", "text": "queue"}],
               "images": [{"src": "https://grafana.example/render/queue.png", "alt": "queue depth"}]}
    answer = enqueue(belay, trigger)
    assert answer.status_code == 202, answer.text
    assert answer.headers.get("Content-Type", "").startswith("application/json")
    assert answer.json() == {"status": "success", "message": "Event processed", "dedup_key": "raw-1"}

    keyless = dict(trigger)
    del keyless["dedup_key"]
    answer = enqueue(belay, keyless)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert set(body) == {"status", "message", "dedup_key"} and body["status"] == "success" and body["message"] == "Event processed", body
    assert isinstance(body["dedup_key"], str) and body["dedup_key"] and body["dedup_key"] != "raw-1"

    for action in ("acknowledge", "resolve"):
        answer = enqueue(belay, {"routing_key": key, "event_action": action, "dedup_key": "raw-1"})
        assert answer.status_code == 202, answer.text
        assert answer.json() == {"status": "success", "message": "Event processed", "dedup_key": "raw-1"}


def test_payload_timestamps_in_pagerdutys_documented_format_are_accepted(belay):
    # PagerDuty's Events API v2 reference shows "2015-07-17T08:42:58.315+0000": an offset without a colon.
    key, session = setup(belay)
    for stamp in ("2026-11-21T01:02:03.315+0000", "2026-11-21T01:02:03+0000", "2026-11-21T01:02:03.315Z", "2026-11-21T02:02:03.315+01:00"):
        answer = enqueue(belay, {"routing_key": key, "event_action": "trigger", "dedup_key": f"stamp-{stamp}",
                                 "payload": {"summary": "Queue depth above 10k", "source": "worker-3", "severity": "warning", "timestamp": stamp}})
        assert answer.status_code == 202, f"timestamp {stamp}: {answer.status_code} {answer.text}"
    opened = only(incidents(belay), "four alerts on one component, one incident")
    assert opened["milestones"]["impactStartedAt"].startswith("2026-11-21T01:02:03"), f"payload.timestamp is when impact began: {opened}"


def assert_invalid_event(answer):
    assert answer.status_code == 400, f"{answer.status_code} {answer.text}"
    body = answer.json()
    assert body["status"] == "invalid event", body
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["errors"], list) and body["errors"] and all(isinstance(e, str) for e in body["errors"]), body
    return body


def test_bad_events_are_400_as_pagerduty_answers(belay):
    key, session = setup(belay)
    payload = {"summary": "Queue depth above 10k", "source": "worker-3", "severity": "warning"}
    for name in ("summary", "source", "severity"):
        missing = {k: v for k, v in payload.items() if k != name}
        body = assert_invalid_event(enqueue(belay, {"routing_key": key, "event_action": "trigger", "payload": missing}))
        assert any(name in error for error in body["errors"]), f"the errors should name {name}: {body}"
    body = assert_invalid_event(enqueue(belay, {"routing_key": key, "event_action": "trigger", "payload": dict(payload, severity="apocalyptic")}))
    assert any("severity" in error for error in body["errors"]), body
    body = assert_invalid_event(enqueue(belay, {"routing_key": key, "event_action": "explode", "payload": payload}))
    assert any("event_action" in error for error in body["errors"]), body
    assert_invalid_event(enqueue(belay, {"routing_key": key, "event_action": "resolve"}))  # no dedup_key
    assert_invalid_event(requests.post(belay.url + "/v2/enqueue", data=b"{not json", headers={"Content-Type": "application/json"}, timeout=10))
    assert incidents(belay) == []

    # pdpyras sees the 400 as a client error, with the answer attached.
    with pytest.raises(pdpyras.PDClientError) as raised:
        session.trigger("", "worker-3")
    assert raised.value.response is not None and raised.value.response.status_code == 400

    # An unknown routing key is 404, as for every ingestion endpoint.
    unknown = enqueue(belay, {"routing_key": "0" * 32, "event_action": "trigger", "payload": payload})
    assert unknown.status_code == 404, unknown.text
    assert incidents(belay) == []


def test_acknowledge_and_resolve_for_an_unknown_alert_are_accepted(belay):
    # PagerDuty accepts them (202) and does nothing; a sender must not see an error for an alert Belay missed.
    key, session = setup(belay)
    assert session.acknowledge("never-triggered") == "never-triggered"
    assert session.resolve("never-triggered") == "never-triggered"
    assert incidents(belay) == []


def test_any_integration_key_works_at_every_endpoint(belay):
    create_component(belay, "checkout", "Checkout")
    key = create_integration(belay, "prometheus", "alertmanager", {"rules": [], "defaultComponents": ["checkout"], "defaultSeverity": "sev3"})["key"]
    session = pdpyras.EventsAPISession(key)
    session.url = belay.url
    assert session.trigger("Checkout down", "lb-1", dedup_key="any-key") == "any-key"
    assert impact_slugs(only(incidents_on(belay, "checkout"), "one incident on checkout")) == ["checkout"]
