"""Helpers shared by the external tests of Detect: free ports, polling, and Belay's incident, integration and
signal API as docs/detect.md describes it."""
import datetime
import re
import socket
import time


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout, message, interval=0.05):
    """Calls `condition` until it returns something truthy, and returns that; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = condition()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout} s: {message}")
        time.sleep(interval)


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def rfc3339(moment):
    return moment.astimezone(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def items(body, key):
    """A list the API answers either bare or wrapped as {key: [...]}."""
    if isinstance(body, list):
        return body
    assert isinstance(body, dict) and isinstance(body.get(key), list), f"expected a list under {key!r}: {body}"
    return body[key]


def incidents(belay):
    return items(belay.api("GET", "/api/v1/incidents?limit=1000"), "incidents")


def incidents_on(belay, slug):
    return [incident for incident in incidents(belay) if slug in [impact["slug"] for impact in incident["components"]]]


def incident(belay, incident_id):
    return belay.api("GET", f"/api/v1/incidents/{incident_id}")


def incident_signals(belay, incident_id):
    return items(belay.api("GET", f"/api/v1/incidents/{incident_id}/signals"), "signals")


def signals(belay, status=None):
    return items(belay.api("GET", "/api/v1/signals?limit=1000" + (f"&status={status}" if status else "")), "signals")


def signal_entries(belay, incident_id):
    timeline = belay.api("GET", f"/api/v1/incidents/{incident_id}/timeline")
    return [entry for entry in items(timeline, "entries") if entry.get("kind") == "signal"]


def create_component(belay, slug, name=None):
    return belay.api("POST", "/api/v1/components", {"slug": slug, "name": name or slug.title()})


def create_integration(belay, name, kind, routing, public=False):
    """POST /api/v1/integrations; checks the documented answer (201, a 32-hex key shown once, the three URLs)."""
    response = belay.request("POST", "/api/v1/integrations", {"name": name, "kind": kind, "routing": routing, "publicIncidents": public})
    assert response.status_code == 201, f"POST /api/v1/integrations -> {response.status_code} {response.text}"
    body = response.json()
    key = body["key"]
    assert re.fullmatch(r"[0-9a-f]{32}", key), body
    assert body["urls"]["alertmanager"].endswith(f"/api/v1/integrations/{key}/alertmanager"), body
    assert body["urls"]["events"].endswith(f"/api/v1/integrations/{key}/events"), body
    assert body["urls"]["pagerduty"].endswith("/v2/enqueue"), body
    assert isinstance(body["integration"], dict) and key not in str(body["integration"]), "the key is shown once, not stored in the integration"
    return body


def impact_slugs(incident):
    return sorted(impact["slug"] for impact in incident["components"])
