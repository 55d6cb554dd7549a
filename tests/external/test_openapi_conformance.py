"""schemathesis drives every operation in Belay's own OpenAPI document against a running server, once with a
token of each role, and checks that no request causes a 5xx; that every response matches the documented status
codes, schemas, content types and headers; that schema-invalid requests are refused with a 4xx; that an
operation needing a token refuses a request without one or with a bad one; and that what the API creates can be
read back, and what it deletes cannot. A viewer's run meets a 403 on every write, a responder's on every admin
operation: those must be documented, and after the run the test checks that they really changed nothing.
Besides single requests it follows the document's links (declare an incident, then update, resolve and reopen
it...), so operations also meet real resources. That is what keeps /api/v1/openapi.json true to the code.

Which checks run, and what the stateful phase does, is in schemathesis.toml beside this file; a hook in
schemathesis_hooks.py keeps the run from revoking the tokens it depends on. The run is deterministic
(schemathesis's deterministic generation, a bounded number of examples) and the server is isolated in a network
namespace with only a loopback interface: generated monitors point at whatever hosts schemathesis makes up, and
their checks must not leave the machine.

    BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/external/test_openapi_conformance.py
"""
import os
import re
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DOCUMENT = os.path.join(HERE, "..", "..", "Sources", "BelayServer", "Resources", "openapi.json")



def seed(belay):
    """One of each resource, so that operations on an existing id or slug are not all 404s; returns the secrets
    that schemathesis.toml puts in the paths of heartbeat pings and alert ingestion."""
    belay.api("POST", "/api/v1/components", {"slug": "database", "name": "Database"})
    belay.api("POST", "/api/v1/components", {"slug": "api", "name": "API", "dependsOn": ["database"]})
    belay.api("PUT", "/api/v1/map/nodes/aws-account", {"name": "AWS account", "kind": "aws_account"})
    belay.api("POST", "/api/v1/incidents", {"title": "Elevated errors", "severity": "sev2", "components": [{"slug": "api"}]})
    belay.api("POST", "/api/v1/maintenance", {"title": "Subnet change", "components": ["database"],
                                              "scheduledStart": "2030-12-01T22:00:00Z", "scheduledEnd": "2030-12-01T23:00:00Z"})
    monitor = belay.api("POST", "/api/v1/monitors", {"name": "nightly backup", "kind": "heartbeat", "intervalSeconds": 86400})
    integration = belay.api("POST", "/api/v1/integrations", {"name": "prometheus", "kind": "alertmanager",
                                                             "routing": {"defaultComponents": ["api"]}})
    belay.api("POST", "/api/v1/changes", {"kind": "deploy", "summary": "Release 2026.11.21", "targets": ["api"]})
    return {"BELAY_HEARTBEAT_TOKEN": monitor["heartbeatURL"].rsplit("/", 1)[-1], "BELAY_INTEGRATION_KEY": integration["key"]}


# What only a token of at least this role may change (incidents, signals and changes are left out: alert
# ingestion and the CI webhook change them with a key, no token). Fields that change without any write (a
# component's derived status, a monitor's check state, counters) are left out too.
ADMIN_ONLY = {
    "components": ("/api/v1/components", "components", {"status", "updatedAt"}),
    "map nodes": ("/api/v1/map", "nodes", set()),
    "severities": ("/api/v1/severities", "severities", set()),
    "tokens": ("/api/v1/tokens", "tokens", set()),
    "integrations": ("/api/v1/integrations", "integrations", {"eventCount", "lastEventAt", "updatedAt"}),
    "freezes": ("/api/v1/freezes", "freezes", set()),
}
RESPONDER_ONLY = {
    "maintenance windows": ("/api/v1/maintenance", "maintenances", set()),
    "monitors": ("/api/v1/monitors", "monitors", {"state", "updatedAt"}),
}
UNCHANGEABLE_BY = {"viewer": {**ADMIN_ONLY, **RESPONDER_ONLY}, "responder": ADMIN_ONLY, "admin": {}}


def snapshot(belay, resources):
    """The resources as the admin token lists them, without the fields named as volatile."""
    taken = {}
    for name, (path, key, volatile) in resources.items():
        items = belay.api("GET", path)[key]
        taken[name] = [{field: value for field, value in item.items() if field not in volatile} for item in items]
    return taken


@pytest.mark.parametrize("role", ["viewer", "responder", "admin"])
def test_every_response_matches_the_openapi_document(role, start_belay):
    # No monitor check may reach anything: the namespace has only loopback, and the egress policy refuses all.
    belay = start_belay("--egress-deny", "0.0.0.0/0,::/0", isolated=True)
    secrets = seed(belay)
    token_id, token = belay.create_token(role, name=f"schemathesis-{role}")
    before = snapshot(belay, UNCHANGEABLE_BY[role])
    command = belay.inside([
        "schemathesis", "--config-file", os.path.join(HERE, "schemathesis.toml"), "run", DOCUMENT, "--url", belay.url,
        "-H", f"Authorization: Bearer {token}",
        # The coverage phase's boundary cases do not depend on the role; they run with the admin token, which
        # reaches every operation's validation (the other roles meet 403s, which the Swift authorization
        # matrix checks route by route).
        "--phases", "examples,coverage,fuzzing,stateful" if role == "admin" else "examples,fuzzing,stateful",
        "--max-examples", "8", "--generation-deterministic",
        "--workers", "1", "--request-timeout", "10", "--no-color",
    ])
    env = dict(os.environ, **secrets, SCHEMATHESIS_HOOKS="schemathesis_hooks", BELAY_PROTECTED_TOKEN_IDS=f"{belay.token_id},{token_id}",
               PYTHONPATH=os.pathsep.join(filter(None, [HERE, os.environ.get("PYTHONPATH")])))
    # In the data directory, so that what schemathesis and Hypothesis keep on disk goes with it.
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=belay.data)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12000:]
    assert re.search(r"\d+ passed", output), output[-4000:]
    log = belay.log()
    assert "unhandled error" not in log, log[-4000:]
    errors = [line for line in log.splitlines() if re.search(r'"level":"(error|critical)"', line)]
    assert not errors, "\n".join(errors[:20])
    # A 403 must mean that nothing was done, not only that the answer says so.
    after = snapshot(belay, UNCHANGEABLE_BY[role])
    for name in before:
        assert after[name] == before[name], f"a {role} token changed the {name}: {before[name]} -> {after[name]}"
