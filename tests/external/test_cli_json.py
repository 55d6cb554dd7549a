"""Every `belay` command that takes `--json` prints exactly one JSON document with it, against a real `belay serve`,
so `belay incident declare ... --json | jq -r .id` works.

The commands are not listed by hand: they come from the binary's own command tree (ArgumentParser's
`--experimental-dump-help`), and the test fails when a command with `--json` has no run below, so a new one cannot
slip past. The runs also walk a responder's day through the CLI: roles, milestones, notes, severity, visibility,
components, tokens and integrations.

    BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/external/test_cli_json.py
"""
import datetime
import itertools
import json
import os
import re
import subprocess

import pytest

from conftest import postgres_database

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SUBSCRIBERS_CSV = os.path.join(HERE, "fixtures", "statuspage-subscribers.csv")
REPLAY = os.path.join(REPO, "replays", "002-unvetted-firewall-change.json")


def commands_with_json(binary):
    """Every leaf command that has a --json flag, as a tuple of names, from the binary's command tree."""
    tree = json.loads(subprocess.run([binary, "--experimental-dump-help"], check=True, capture_output=True, text=True).stdout)
    found = set()

    def walk(command, path):
        subcommands = command.get("subcommands") or []
        for sub in subcommands:
            walk(sub, path + (sub["commandName"],))
        names = {name["name"] for argument in command.get("arguments") or [] for name in argument.get("names") or []}
        if not subcommands and "json" in names:
            found.add(path)

    walk(tree["command"], ())
    return found


class CLI:
    def __init__(self, belay, tmp_path):
        self.belay = belay
        self.tmp_path = tmp_path
        self.env = {**os.environ, "BELAY_URL": belay.url, "BELAY_TOKEN": belay.token}
        self.ran = set()

    def json(self, *args, exit_codes=(0,)):
        """Runs `belay ARGS --json`; checks the exit code and that stdout is one JSON document, and returns it."""
        command = [self.belay.binary, *args, "--json"]
        result = subprocess.run(command, capture_output=True, text=True, env=self.env, cwd=self.tmp_path, timeout=120)
        assert result.returncode in exit_codes, f"{args}: exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
        try:
            document = json.loads(result.stdout)
        except json.JSONDecodeError as error:
            raise AssertionError(f"{args}: stdout is not one JSON document ({error}):\n{result.stdout!r}") from None
        self.ran.add(tuple(itertools.takewhile(lambda word: re.fullmatch(r"[a-z][a-z-]*", word), args[:2])))
        return document


def minutes_ago(minutes):
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=minutes)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


@pytest.fixture
def server(start_belay, smtp_relay):
    # An SMTP relay, so that `subscriber import` has somewhere to send its opt-ins.
    return start_belay(*smtp_relay.belay_args(), env={"BELAY_SMTP_PASSWORD": smtp_relay.password})


def test_every_command_with_json_prints_one_json_document(server, tmp_path):
    cli = CLI(server, tmp_path)

    # Tokens
    created = cli.json("token", "create", "--name", "ci-bot", "--role", "responder")
    assert created["id"] and created["token"].startswith("belay_")
    assert any(token["name"] == "ci-bot" for token in cli.json("token", "list")["tokens"])
    assert cli.json("token", "revoke", created["id"])["revokedAt"]

    # Components
    assert cli.json("component", "add", "--slug", "db", "--name", "Database")["slug"] == "db"
    cli.json("component", "add", "--slug", "api", "--name", "API", "--depends-on", "db")
    cli.json("component", "add", "--slug", "spare", "--name", "Spare")
    assert len(cli.json("component", "list")["components"]) == 3
    assert cli.json("component", "show", "api")["dependsOn"] == ["db"]
    edited = cli.json("component", "edit", "api", "--name", "Public API", "--group", "Core", "--automatic-incidents", "public")
    assert (edited["name"], edited["group"], edited["automaticIncidentsPublic"]) == ("Public API", "Core", True)
    assert cli.json("component", "edit", "api", "--internal")["isPublic"] is False
    assert cli.json("component", "edit", "api", "--public", "--group", "")["isPublic"] is True
    assert cli.json("component", "delete", "spare") == {"id": "spare", "deleted": True}
    assert [c["slug"] for c in cli.json("component", "list")["components"]].count("spare") == 0

    # An incident, worked from declaration to reopening
    incident = cli.json("incident", "declare", "--title", "Elevated errors", "--severity", "sev2", "--component", "api",
                        "--impact", "partial_outage", "--message", "Investigating.")
    iid = incident["id"]
    assert iid and incident["isPublic"] is True
    cli.json("incident", "update", iid, "--status", "identified", "--message", "Identified: an expired certificate.")
    assert any(i["id"] == iid for i in cli.json("incident", "list")["incidents"])
    roles = cli.json("incident", "assign", iid, "--commander", "Dana", "--scribe", "Lee")["roles"]
    assert roles == {"commander": "Dana", "scribe": "Lee"}
    assert cli.json("incident", "unassign", iid, "--scribe")["roles"] == {"commander": "Dana"}
    started = minutes_ago(30)
    milestones = cli.json("incident", "milestone", iid, "impact-started", "--at", started)["milestones"]
    assert milestones["impactStartedAt"].startswith(started[:-1])
    assert cli.json("incident", "note", iid, "--text", "Rolled back deploy 42.")["kind"] == "note"
    edited = cli.json("incident", "edit", iid, "--severity", "sev1", "--internal")
    assert (edited["severity"], edited["isPublic"]) == ("sev1", False)
    assert cli.json("incident", "edit", iid, "--public")["isPublic"] is True
    assert cli.json("incident", "show", iid)["roles"] == {"commander": "Dana"}
    assert cli.json("incident", "resolve", iid, "--message", "Resolved: stable.")["status"] == "resolved"
    assert cli.json("incident", "reopen", iid, "--reason", "Errors are back")["status"] != "resolved"
    kinds = {entry["kind"] for entry in cli.json("incident", "timeline", iid)["entries"]}
    assert {"role_change", "milestone", "note", "severity_change", "visibility_change"} <= kinds, kinds

    # Maintenance
    window = cli.json("maintenance", "schedule", "--title", "Subnet change", "--component", "db",
                      "--start", "2030-01-01T22:00:00Z", "--end", "2030-01-01T23:00:00Z", "--manual")
    assert window["id"]
    other = cli.json("maintenance", "schedule", "--title", "Disk swap", "--start", "2030-02-01T22:00:00Z", "--end", "2030-02-01T23:00:00Z")
    assert len(cli.json("maintenance", "list")["maintenances"]) == 2
    cli.json("maintenance", "start", window["id"])
    cli.json("maintenance", "complete", window["id"])
    cli.json("maintenance", "cancel", other["id"])

    # Monitors
    monitor = cli.json("monitor", "add", "--name", "nightly backup", "--kind", "heartbeat", "--interval", "3600")
    mid = str(monitor["id"])
    assert monitor["id"] and monitor["heartbeatURL"]
    assert len(cli.json("monitor", "list")["monitors"]) == 1
    cli.json("monitor", "pause", mid)
    cli.json("monitor", "resume", mid)
    assert cli.json("monitor", "delete", mid) == {"id": mid, "deleted": True}

    # Changes; the guard answers 409 and exit 3 while the reopened incident is open, still one document
    change = cli.json("change", "record", "--kind", "deploy", "--target", "api", "--summary", "Release 42")
    assert change["id"]
    assert len(cli.json("change", "list")["changes"]) == 1
    assert cli.json("change", "check", "--target", "db", exit_codes=(0, 3))["ok"] is False

    # Notifications; the test delivery cannot succeed here (exit 1), its JSON is still one document
    channel = cli.json("channel", "add", "--name", "hook", "--kind", "webhook", "--webhook-url", "https://hooks.example.com/belay")
    assert channel["channel"]["id"] and channel["secret"]
    assert len(cli.json("channel", "list")["channels"]) == 1
    assert cli.json("channel", "test", channel["channel"]["id"], "--wait", "1", exit_codes=(0, 1))["id"]
    assert "deliveries" in cli.json("delivery", "list")
    assert cli.json("subscriber", "import", SUBSCRIBERS_CSV)["imported"] >= 1
    assert cli.json("subscriber", "list")["subscribers"]

    # Integrations
    added = cli.json("integration", "add", "--name", "prometheus", "--kind", "alertmanager", "--component", "api", "--severity", "sev1")
    integration = str(added["integration"]["id"])
    assert len(added["key"]) == 32 and added["urls"]["alertmanager"]
    assert len(cli.json("integration", "list")["integrations"]) == 1
    assert cli.json("integration", "show", integration)["routing"]["defaultComponents"] == ["api"]
    edited = cli.json("integration", "edit", integration, "--disable", "--public-incidents", "--component", "db")
    assert (edited["enabled"], edited["publicIncidents"], edited["routing"]["defaultComponents"]) == (False, True, ["db"])
    assert edited["routing"]["defaultSeverity"] == "sev1", "a routing edit keeps what it was not told to change"
    assert cli.json("integration", "rotate-key", integration)["key"] != added["key"]
    assert cli.json("integration", "delete", integration) == {"id": integration, "deleted": True}

    # Offline commands on the server's data directory
    token = cli.json("admin", "create-token", "--role", "viewer", "--data", server.data)
    assert token["id"] and token["token"].startswith("belay_")
    backup = str(tmp_path / "copy.sqlite")
    cli.json("backup", "--to", backup, "--data", server.data)
    cli.json("restore", "--check", "--from", backup, "--data", server.data)
    assert cli.json("replay", REPLAY)["incidents"]
    replayed = str(tmp_path / "replayed")
    cli.json("replay", REPLAY, "--data", replayed)
    copied = cli.json("migrate-data", "--from", replayed, "--to", postgres_database(always=True))
    assert copied["rows"] > 0 and any(t["table"] == "incident" and t["rows"] >= 1 for t in copied["tables"])

    missing = commands_with_json(server.binary) - cli.ran
    assert not missing, f"commands with --json that this test does not run: {sorted(' '.join(p) for p in missing)}"


def test_a_create_command_without_json_still_ends_with_the_id(belay, tmp_path):
    """The README captures ids with `| tail -1`; that stays true without --json."""
    env = {**os.environ, "BELAY_URL": belay.url, "BELAY_TOKEN": belay.token}
    result = subprocess.run([belay.binary, "incident", "declare", "--title", "Slow", "--severity", "sev3"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].isdigit(), result.stdout
