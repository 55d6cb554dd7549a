"""Alertmanager v4 webhook bodies, as Alertmanager sends them (bench/README.md, "The payload")."""

import json
from datetime import datetime, timedelta, timezone

# A minute before the run, so every alert has begun before it arrives, as a real one has.
STARTS_AT = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def make_alert(fp, starts_at=STARTS_AT):
    """One firing Alertmanager alert whose fingerprint, instance and summary carry `fp`."""
    return {
        "status": "firing",
        "labels": {"alertname": "BenchHighErrorRate", "team": "bench", "severity": "critical",
                   "job": "bench-api", "instance": "bench-%s.internal:9100" % fp, "env": "bench"},
        "annotations": {"summary": "Error rate above 5%% on bench-%s" % fp,
                        "description": "More than 5% of requests to bench-api on this instance failed "
                                       "during the last 5 minutes.",
                        "runbook_url": "https://runbooks.example/bench-api/high-error-rate"},
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.bench:9090/graph?g0.expr=job%3A5xx_ratio%3Arate5m+%3E+0.05",
        "fingerprint": fp,
    }


def make_notification(alerts):
    """An Alertmanager v4 webhook body around `alerts`."""
    common = {"alertname": "BenchHighErrorRate", "team": "bench", "severity": "critical", "job": "bench-api",
              "env": "bench"}
    return {
        "version": "4",
        "groupKey": "{}/{team=\"bench\"}:{alertname=\"BenchHighErrorRate\"}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "belay",
        "groupLabels": {"alertname": "BenchHighErrorRate"},
        "commonLabels": common if len(alerts) > 0 else {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.bench:9093",
        "alerts": alerts,
    }


def single_body(fp):
    return json.dumps(make_notification([make_alert(fp)]), separators=(",", ":")).encode()


def write_template(path):
    """The one-alert body with @@FP@@ for the fingerprint, for detect_ingest.lua."""
    with open(path, "wb") as f:
        f.write(single_body("@@FP@@"))
    return len(single_body("0" * 16))


def fingerprint(run, n):
    # 16 hex digits: the run in the first byte, so each run (and the bulk's "03fe" prefix) is recognisable.
    return "%02x%02x%012x" % (run % 256, 0xfe, n)
