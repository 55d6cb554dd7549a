"""The component and Alertmanager integration every ingestion section posts to, checked before loading."""

import json
import re

from .common import BenchError, json_of, log, need
from .payload import fingerprint, single_body

CREATE = "POST /api/v1/integrations"
DELIVER = "POST /api/v1/integrations/{key}/alertmanager"


def setup_ingestion(belay, component="bench-api"):
    """A component and an alertmanager integration routing everything there; returns the ingest path."""
    belay.api("POST", "/api/v1/components",
              {"slug": component, "name": "Bench API", "description": "Target of the Detect benchmark's alerts."},
              expect=(201,))
    integ = {
        "name": "bench-alertmanager",
        "kind": "alertmanager",
        "routing": {"rules": [{"match": {"team": "bench"}, "components": [component], "severity": "sev2"}],
                    "defaultComponents": [component], "defaultSeverity": "sev2"},
        "publicIncidents": False,
    }
    # 201 IntegrationSecret: {"integration": Integration, "key": 32 hex, "urls": {"alertmanager", ...}}
    doc = belay.api("POST", "/api/v1/integrations", integ, expect=(201,), what="docs/detect.md: 201 with key")
    key = need(doc, "key", CREATE, str)
    if not re.fullmatch(r"[0-9a-f]{32}", key):
        raise BenchError("%s answered 201 but 'key' is not 32 hex characters: %r" % (CREATE, json.dumps(doc)[:400]))
    integration = need(doc, "integration", CREATE, dict)
    am_url = need(need(doc, "urls", CREATE, dict), "alertmanager", CREATE + " (urls)", str)
    path = "/api/v1/integrations/%s/alertmanager" % key
    if not am_url.endswith(path):
        log("[%s] note: urls.alertmanager is %s (expected to end with %s)" % (belay.name, am_url, path))
    # One real delivery, to check the contract before loading it.
    status, raw = belay.request("POST", path, single_body(fingerprint(255, 0)), auth=False)
    if status // 100 != 2:
        raise BenchError("first Alertmanager delivery to %s -> HTTP %d: %s"
                         % (path, status, raw[:400].decode("utf-8", "replace")))
    # 200 AlertmanagerAnswer: {"status": "success", "accepted": N}
    answer = json_of(raw, DELIVER)
    said = need(answer, "status", DELIVER, str)
    accepted = need(answer, "accepted", DELIVER, int)
    if status != 200 or said != "success" or accepted != 1:
        log("[%s] note: docs say 200 {\"status\":\"success\",\"accepted\":1}; got HTTP %d %s"
            % (belay.name, status, json.dumps(answer)[:200]))
    return {"path": path, "key_prefix": key[:6], "integration": integration,
            "first_delivery": {"status": status, "body": answer}}
