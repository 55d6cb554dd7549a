"""The raw SQLite ceiling: how many durable one-row commits/s the data directory's disk allows."""

import json
import os
import sqlite3
import time

from .common import fs_type
from .payload import make_alert, single_body


def sqlite_ceiling(directory, seconds_, row_bytes):
    """Rows/s for one INSERT per transaction, WAL, synchronous=FULL, in `directory`."""
    path = os.path.join(directory, "ceiling.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = sqlite3.connect(path, isolation_level=None)
    jm = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    db.execute("PRAGMA synchronous=FULL")
    sync = db.execute("PRAGMA synchronous").fetchone()[0]
    db.execute("""CREATE TABLE signal (
        id INTEGER PRIMARY KEY, integration_id INTEGER NOT NULL, dedup_key TEXT NOT NULL, status TEXT NOT NULL,
        summary TEXT NOT NULL, labels TEXT NOT NULL, payload TEXT NOT NULL, received_at REAL NOT NULL,
        UNIQUE (integration_id, dedup_key))""")
    payload = single_body("0" * 16).decode()
    labels = json.dumps(make_alert("0" * 16)["labels"])
    filler = max(0, row_bytes - len(payload))
    payload = payload + " " * filler
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds_
    while True:
        n += 1
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO signal (integration_id, dedup_key, status, summary, labels, payload, received_at) "
                   "VALUES (1, ?, 'firing', ?, ?, ?, ?)",
                   ("%016x" % n, "Error rate above 5%% on bench-%016x" % n, labels, payload, time.time()))
        db.execute("COMMIT")
        now = time.perf_counter()
        if now >= deadline:
            break
    elapsed = now - t0
    db.close()
    size = sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return {"rows": n, "seconds": round(elapsed, 3), "rows_per_sec": round(n / elapsed, 1),
            "journal_mode": jm, "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(sync, sync),
            "row_payload_bytes": len(payload), "db_bytes": size, "sqlite_version": sqlite3.sqlite_version,
            "directory": directory, "filesystem": fs_type(directory)}
