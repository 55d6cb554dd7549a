"""`belay migrate-data` moves a single-box install to PostgreSQL without changing what anyone sees: the five seed
postmortems replayed into SQLite (`serve --demo`), copied, and served from each backend give the same incidents,
timelines, suspects and public pages, byte for byte.

    scripts/postgres run -- env BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/external/test_migrate_data.py
"""
import json
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import Belay, belay_binary, postgres_database


@pytest.fixture
def servers():
    started = []
    folders = []

    def start(data, args=(), database=None):
        server = Belay(belay_binary(), data, args, database=database)
        started.append(server)
        return server

    def folder():
        path = tempfile.mkdtemp(prefix="belay-migrate-")
        folders.append(path)
        return path

    try:
        yield start, folder
    finally:
        for server in started:
            try:
                server.stop()
            except Exception:
                server.process.kill()
        for path in folders:
            shutil.rmtree(path, ignore_errors=True)


def migrate(source, target, *extra):
    return subprocess.run([belay_binary(), "migrate-data", "--from", source, "--to", target, *extra],
                          capture_output=True, text=True, timeout=300)


# The page's own build time is the only thing allowed to differ between two servers.
STAMP = re.compile(r'("page":\{[^}]*?"updated_at":")[^"]*')
BUILT = re.compile(r'Updated <time datetime="[^"]*" title="[^"]*">[^<]*</time>')


def public_bytes(server, path):
    response = server.request("GET", path, auth=False, headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200, f"{path}: {response.status_code}"
    return STAMP.sub(r"\1", response.text) if path.endswith(".json") else BUILT.sub("Updated", response.text)


def test_a_replayed_install_reads_the_same_on_postgresql(servers):
    start, folder = servers
    data = folder()
    demo = start(data, ["--demo"])
    incidents = demo.api("GET", "/api/v1/incidents")["incidents"]
    assert len(incidents) >= 5, "the five seeds should be loaded"
    demo.stop()

    target = postgres_database(always=True)
    copied = migrate(data, target, "--json")
    assert copied.returncode == 0, copied.stderr
    report = {t["table"]: t for t in json.loads(copied.stdout)["tables"]}
    assert report["incident"]["rows"] == len(incidents) and report["event"]["rows"] > 0 and report["change"]["rows"] > 0

    # A second copy into the same database is refused and changes nothing.
    again = migrate(data, target)
    assert again.returncode != 0 and "already holds Belay data" in again.stderr

    # The status page's time is frozen to the replays' own clock by neither server, so both run now; everything
    # compared below is derived from stored facts alone.
    sqlite = start(data)
    postgres = start(folder(), database=target)
    for server in (sqlite, postgres):
        server.token = demo.token  # made before the copy, so copied with everything else
    assert postgres.api("GET", "/api/v1/incidents") == sqlite.api("GET", "/api/v1/incidents")
    for incident in incidents:
        for suffix in ("", "/timeline", "/suspects", "/signals"):
            path = f"/api/v1/incidents/{incident['id']}{suffix}"
            assert postgres.api("GET", path) == sqlite.api("GET", path), path
    assert postgres.api("GET", "/api/v1/changes") == sqlite.api("GET", "/api/v1/changes")
    for path in ("/api/v2/incidents.json", "/api/v2/scheduled-maintenances.json", "/history", "/history.atom"):
        assert public_bytes(postgres, path) == public_bytes(sqlite, path), path
    for incident in incidents:
        if incident["isPublic"]:
            path = f"/incidents/{incident['id']}"
            assert public_bytes(postgres, path) == public_bytes(sqlite, path), path

    # New writes on PostgreSQL take ids after the copied ones.
    declared = postgres.api("POST", "/api/v1/incidents", {"title": "After the move", "severity": "sev3", "message": "Checking"})
    assert int(declared["id"]) > max(int(i["id"]) for i in incidents)


def test_a_target_with_another_schema_or_bad_address_is_refused(servers):
    start, folder = servers
    data = folder()
    subprocess.run([belay_binary(), "admin", "create-token", "--role", "admin", "--data", data, "--create"], check=True, capture_output=True)
    refused = migrate(data, "postgres://belay:secret-word@127.0.0.1:1/none")
    assert refused.returncode != 0 and "secret-word" not in refused.stderr and "is PostgreSQL running" in refused.stderr
    bad = migrate(data, "mysql://x@y/z")
    assert bad.returncode != 0 and "postgres://" in bad.stderr
