"""Graceful shutdown: SIGTERM while 500 alert deliveries are in flight loses none that got a 2xx.

The server stops listening, finishes the requests it is serving, and its ingest queue (a service that stops
after the HTTP server) commits every delivery it accepted before the process exits. A delivery refused
while the door closes gets 503 or a closed connection, never a 2xx for events that were then dropped."""
import collections
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

DELIVERIES = 500
WORKERS = 64
SIGTERM_AFTER = 60  # answers


def test_sigterm_during_500_deliveries_loses_none_that_got_a_2xx(belay_factory):
    server = belay_factory()
    server.start()
    server.api("POST", "/api/v1/components", {"slug": "api", "name": "API"})
    created = server.api("POST", "/api/v1/integrations",
                         {"name": "shutdown", "kind": "generic", "routing": {"defaultComponents": ["api"]}}, expect=201)
    key, integration = created["key"], created["integration"]["id"]
    keys = [f"term-{uuid.uuid4().hex[:12]}" for _ in range(DELIVERIES)]
    acked, outcomes = set(), collections.Counter()
    lock = threading.Lock()
    answered = threading.Event()
    local = threading.local()

    def send(dedup):
        if not hasattr(local, "session"):
            local.session = requests.Session()
        body = {"action": "trigger", "dedupKey": dedup, "summary": f"shutdown event {dedup}", "severity": "warning"}
        try:
            response = server.request("POST", f"/api/v1/integrations/{key}/events", body, auth=False, session=local.session, timeout=60)
            outcome = str(response.status_code)
        except requests.RequestException as error:
            response, outcome = None, type(error).__name__
        with lock:
            outcomes[outcome] += 1
            if response is not None and 200 <= response.status_code < 300:
                assert response.json().get("dedupKey") == dedup
                acked.add(dedup)
            if sum(outcomes.values()) >= SIGTERM_AFTER:
                answered.set()

    def terminate():
        answered.wait(timeout=120)
        server.process.terminate()

    stopper = threading.Thread(target=terminate)
    stopper.start()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(send, keys))
    stopper.join()
    code = server.process.wait(timeout=60)
    print(f"SIGTERM after {SIGTERM_AFTER} answers: {len(acked)} of {DELIVERIES} acknowledged; outcomes {dict(outcomes)}; exit {code}")
    assert code == 0, f"belay serve exited with {code} after SIGTERM:\n{server.log()[-4000:]}"
    unexpected = {k: v for k, v in outcomes.items() if k not in ("202", "503", "ConnectionError", "ChunkedEncodingError")}
    assert not unexpected, f"answers other than 202, 503 or a closed connection: {unexpected}"
    assert len(acked) >= SIGTERM_AFTER // 2, f"too few deliveries acknowledged to prove anything: {dict(outcomes)}"

    server.start()
    signals = server.api("GET", "/api/v1/signals?limit=1000")["signals"]
    stored = {s["dedupKey"] for s in signals if s["sourceKind"] == "integration" and s["sourceId"] == integration}
    lost = sorted(acked - stored)
    assert not lost, f"LOST: {len(lost)} of {len(acked)} acknowledged deliveries are no signal after SIGTERM, e.g. {lost[:5]}"
    assert stored <= set(keys), "a signal exists that was never sent"
