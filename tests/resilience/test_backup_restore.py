"""`belay backup` and `belay restore` against a real server:

1. a server receives a steady stream of writes (incidents declared through the API, one after another);
2. `belay backup --to FILE` runs in the middle of that stream, and the writes go on after it;
3. `belay restore` refuses while the server holds the data directory, and refuses garbage, a SQLite file that
   is not Belay's, a database from a newer Belay, a missing file and a missing directory, each with its own
   message and a non-zero exit;
4. the server stops; the backup is restored into a fresh directory, a server starts on it, and every incident
   whose declaration had been answered before the backup began is there, with nothing from after the copy
   half-written (the file passes integrity_check and foreign_key_check)."""
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading

from resilience_support import BelayProcess, belay_binary, integrity_check


def belay(*args):
    return subprocess.run([belay_binary(), *args], capture_output=True, text=True, timeout=120)


def declare(server, title):
    response = server.request("POST", "/api/v1/incidents", {"title": title, "severity": "sev3"})
    assert response.status_code == 201, f"declare -> {response.status_code} {response.text[:500]}"
    return int(response.json()["id"])


def test_a_backup_taken_while_serving_restores_every_write_answered_before_it(belay_factory):
    server = belay_factory().start()
    answered = []  # ids, in the order their 201s arrived
    lock = threading.Lock()
    stop = threading.Event()
    errors = []

    def writer():
        n = 0
        try:
            while not stop.is_set():
                n += 1
                incident = declare(server, f"write {n}")
                with lock:
                    answered.append(incident)
        except Exception as error:  # reported by the main thread
            errors.append(error)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    while True:
        with lock:
            if len(answered) >= 20 or errors:
                break
        stop.wait(0.01)

    scratch = tempfile.mkdtemp(prefix="belay-backup-")
    try:
        backup_file = os.path.join(scratch, "belay-backup.sqlite")
        with lock:
            before_backup = list(answered)
        made = belay("backup", "--to", backup_file, "--data", server.data, "--json")
        with lock:
            after_backup = len(answered)
        # Writes go on after the copy, so the live database moves past it.
        while True:
            with lock:
                if len(answered) >= after_backup + 10 or errors:
                    break
            stop.wait(0.01)
        assert made.returncode == 0, made.stderr
        assert '"path"' in made.stdout and made.stdout.count("\n") == 1, made.stdout

        # While the server runs, restoring over its directory is refused, and nothing changes.
        refused = belay("restore", "--from", backup_file, "--data", server.data)
        assert refused.returncode != 0
        assert "in use" in refused.stderr and "stop it" in refused.stderr, refused.stderr
        assert not os.path.exists(os.path.join(server.data, "belay.sqlite.before-restore"))

        stop.set()
        thread.join(timeout=60)
        assert not errors, errors
        live_count = len(server.api("GET", "/api/v1/incidents?limit=1000")["incidents"])
        server.stop()
        assert live_count == len(answered)

        assert integrity_check(backup_file) == []
        fresh = os.path.join(scratch, "restored")
        os.mkdir(fresh)
        restored = belay("restore", "--from", backup_file, "--data", fresh)
        assert restored.returncode == 0, restored.stderr
        assert os.path.exists(os.path.join(fresh, "belay.sqlite"))

        # The restored database has no tokens of the old server's that we know; make one, as an operator would.
        again = BelayProcess(belay_binary(), fresh, scratch).start()
        try:
            ids = {int(i["id"]) for i in again.api("GET", "/api/v1/incidents?limit=1000")["incidents"]}
            missing = set(before_backup) - ids
            assert not missing, f"{len(missing)} incidents answered before the backup are missing: {sorted(missing)[:10]}"
            # A prefix of the stream: nothing after the copy, nothing skipped within it.
            assert ids == set(range(1, len(ids) + 1)), sorted(ids)[:20]
            assert len(before_backup) <= len(ids) <= after_backup + 1 < len(answered)
            titles = {i["title"] for i in again.api("GET", "/api/v1/incidents?limit=1000")["incidents"]}
            assert "write 1" in titles
        finally:
            again.stop()
    finally:
        stop.set()
        shutil.rmtree(scratch, ignore_errors=True)


def test_restore_refuses_what_it_cannot_put_back_and_changes_nothing(belay_factory):
    server = belay_factory().start()
    declare(server, "kept")
    scratch = tempfile.mkdtemp(prefix="belay-restore-")
    try:
        good = os.path.join(scratch, "good.sqlite")
        made = belay("backup", "--to", good, "--data", server.data)
        assert made.returncode == 0, made.stderr
        assert belay("backup", "--to", good, "--data", server.data).returncode != 0, "an existing file was overwritten"
        server.stop()

        garbage = os.path.join(scratch, "garbage.sqlite")
        with open(garbage, "wb") as f:
            f.write(b"not a database at all\n" * 100)
        other = os.path.join(scratch, "other.sqlite")
        connection = sqlite3.connect(other)
        connection.execute("CREATE TABLE note (body TEXT)")
        connection.commit()
        connection.close()
        newer = os.path.join(scratch, "newer.sqlite")
        shutil.copy(good, newer)
        connection = sqlite3.connect(newer)
        connection.execute("INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
        connection.commit()
        connection.close()

        cases = [
            (garbage, server.data, "is not a SQLite database"),
            (other, server.data, "not Belay's"),
            (newer, server.data, "written by a newer Belay"),
            (os.path.join(scratch, "missing.sqlite"), server.data, "does not exist"),
            (good, os.path.join(scratch, "no-such-directory"), "data directory"),
        ]
        for source, data, message in cases:
            result = belay("restore", "--from", source, "--data", data)
            assert result.returncode != 0, f"{source} into {data} was accepted"
            assert message in result.stderr, f"{source}: {result.stderr}"
            assert "Error:" in result.stderr and "Fatal error" not in result.stderr, result.stderr
        assert not os.path.exists(os.path.join(scratch, "no-such-directory")), "restore created the missing directory"
        assert sorted(os.listdir(server.data)) == sorted(n for n in os.listdir(server.data) if not n.endswith(".restoring"))

        checked = belay("restore", "--check", "--from", good)
        assert checked.returncode == 0 and "can be restored" in checked.stdout, checked.stderr

        # The server's directory still holds its own database, which starts as before.
        server.start()
        assert [i["title"] for i in server.api("GET", "/api/v1/incidents?limit=1000")["incidents"]] == ["kept"]
        server.stop()

        # Over an existing database: the old one is kept beside it.
        declare_free = belay("restore", "--from", good, "--data", server.data)
        assert declare_free.returncode == 0, declare_free.stderr
        assert os.path.exists(os.path.join(server.data, "belay.sqlite.before-restore"))
        assert integrity_check(os.path.join(server.data, "belay.sqlite.before-restore")) == []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
