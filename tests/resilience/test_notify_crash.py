"""Notifications survive SIGKILL and share a database safely, as docs/notifications.md promises: delivery is at least
once, a message re-sent after a crash carries the same webhook-id (and the same body), and several dispatchers on
one database never send a delivery twice.

1. `test_sigkill_mid_stream_loses_no_message`: a webhook channel (allowedNetworks 127.0.0.1/32) to a receiver in
   this process, incidents declared through the API from four threads, and SIGKILL from inside the receiver
   while it holds the answer to a randomly chosen request (so that message is sent and never acknowledged;
   `BELAY_NOTIFY_KILL_SEED=S` replays a run). The server starts again on the same directory and the rest of the
   200 incidents are declared; then every incident the API lists must have had its incident.declared at least
   once, the cut-off message must come again with its webhook-id and body, each (incident, type) under one
   webhook-id only, no webhook-id with two different bodies, every request verifying with the channel's secret
   (the Standard Webhooks reference verifier), and every delivery ending delivered. The delivery being sent at
   the kill keeps its 60 s lease, so the waits allow for it.
2. `test_two_servers_on_one_data_directory_send_each_message_once`: two `belay serve` on one data directory, both
   declaring incidents; each message must arrive exactly once. If Belay refuses the second server, the test is
   skipped with the reason Belay gave.

The receiver and the API helpers are the external tests' (tests/external/notify_peers.py, notify_support.py)."""
import collections
import importlib.util
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import standardwebhooks

EXTERNAL = Path(__file__).resolve().parents[1] / "external"


def load(name):
    """A helper module of tests/external, by path (this folder's conftest is not that one's)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, EXTERNAL / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


notify_peers = load("notify_peers")
notify = load("notify_support")

INCIDENTS = 200
SEED = int(os.environ.get("BELAY_NOTIFY_KILL_SEED", str(random.randrange(1 << 30))))


def all_incidents(server):
    body = server.api("GET", "/api/v1/incidents?limit=1000")
    found = body["incidents"] if isinstance(body, dict) else body
    assert len(found) < 1000, "the check needs every incident on one page"
    return found


def declarer(server, count, title, acked, stop):
    """Declares `count` incidents one after another until `stop` is set or the server goes away."""
    session = requests.Session()
    for n in range(count):
        if stop.is_set():
            return
        try:
            response = server.request("POST", "/api/v1/incidents", {
                "title": f"{title} {n}", "severity": "sev3", "components": [{"slug": "checkout", "impact": "degraded_performance"}],
                "message": f"{title} {n} declared."}, session=session, timeout=30)
        except requests.RequestException:
            return
        if response.status_code == 201:
            acked.append(response.json()["id"])


def by_message(received):
    """(incident id, type) -> the requests that carried it."""
    grouped = collections.defaultdict(list)
    for request in received:
        payload = request.json()
        incident = payload.get("data", {}).get("incident") or {}
        grouped[(str(incident.get("id")), payload.get("type"))].append(request)
    return grouped


def check_stream(received, secret):
    """The at-least-once invariants over everything the receiver got; returns the problems."""
    problems = []
    bodies = collections.defaultdict(set)
    for request in received:
        bodies[request.header("webhook-id")].add(request.body)
        try:
            standardwebhooks.Webhook(secret).verify(request.body, request.header_dict())
        except standardwebhooks.WebhookVerificationError as error:
            problems.append(f"{request.header('webhook-id')} does not verify: {error}")
    problems += [f"webhook-id {key} came with {len(found)} different bodies" for key, found in bodies.items() if len(found) > 1]
    for message, requests_ in by_message(received).items():
        ids = {r.header("webhook-id") for r in requests_}
        if len(ids) > 1:
            problems.append(f"{message} arrived under {len(ids)} webhook-ids: {sorted(ids)}")
    return problems


def wait_for_declared(receiver, incident_ids, timeout):
    wanted = {(str(i), "incident.declared") for i in incident_ids}
    return receiver.wait_for(lambda got: wanted <= set(by_message(got)), timeout=timeout,
                             message=f"incident.declared for all {len(wanted)} incidents "
                                     f"(missing {sorted(wanted - set(by_message(receiver.received())))[:20]})")


def wait_all_delivered(server, channel_id, timeout=120):
    def settled():
        found = notify.deliveries(server, channel=channel_id, limit=1000)
        return found if found and all(d.get("state") == "delivered" for d in found) else None

    return notify.poll(settled, timeout, lambda: "every delivery ends delivered: " + str(collections.Counter(
        d.get("state") for d in notify.deliveries(server, channel=channel_id, limit=1000))), interval=0.5)


def quiet(receiver, seconds=3.0, timeout=60):
    """Waits until the receiver has had nothing new for `seconds` (a duplicate would come within that)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = len(receiver.received())
        time.sleep(seconds)
        if len(receiver.received()) == count:
            return
    raise AssertionError(f"the receiver never went quiet: {len(receiver.received())} requests")


@pytest.fixture
def receiver():
    peer = notify_peers.HTTPReceiver()
    try:
        yield peer
    finally:
        peer.close()


def test_sigkill_mid_stream_loses_no_message(belay_factory):
    rng = random.Random(SEED)
    print(f"BELAY_NOTIFY_KILL_SEED={SEED}")
    server = belay_factory().start()
    kill_at = rng.randint(5, INCIDENTS // 2)
    unanswered = []

    def kill_while_sending(request):
        # The kill_at-th request is on the wire and not answered yet: Belay dies between sending and recording.
        if len(receiver.received()) >= kill_at and not unanswered:
            unanswered.append(request)
            try:
                os.kill(server.pid, signal.SIGKILL)
            except Exception as error:
                unanswered.append(error)

    receiver = notify_peers.HTTPReceiver(on_request=kill_while_sending)
    try:
        notify.create_component(server, "checkout", "Checkout")
        created, secret = notify.webhook_channel(server, receiver.url_for("/stream"))

        acked, stop = [], threading.Event()
        threads = [threading.Thread(target=declarer, args=(server, INCIDENTS // 4, f"Crash drill {n}", acked, stop), daemon=True)
                   for n in range(4)]
        for thread in threads:
            thread.start()
        notify.poll(lambda: unanswered, 120, lambda: f"the receiver should get {kill_at} messages: it got {len(receiver.received())}")
        assert len(unanswered) == 1, f"SIGKILL failed: {unanswered[1:]}"
        server.kill()  # reaps it
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        print(f"killed while request {kill_at} was unanswered; {len(acked)} incidents acknowledged")

        server.start()
        # The rest of the 200, declared after the restart.
        missing = INCIDENTS - len(all_incidents(server))
        declarer(server, missing, "After the restart", acked, threading.Event())
        incidents = [i["id"] for i in all_incidents(server)]
        assert set(map(str, acked)) <= set(map(str, incidents)), "every incident the API acknowledged is still there"
        assert len(incidents) >= INCIDENTS
        wait_for_declared(receiver, incidents, timeout=300)
        wait_all_delivered(server, created["id"], timeout=180)
        received = receiver.received("/stream")

        assert check_stream(received, secret) == [], check_stream(received, secret)
        known = {str(i) for i in incidents}
        strays = [message for message in by_message(received) if message[0] not in known]
        assert strays == [], f"messages about incidents that do not exist: {strays[:10]}"
        cut = unanswered[0]
        again = [r for r in received if r.header("webhook-id") == cut.header("webhook-id") and r is not cut]
        assert again, "the message whose answer the kill cut off is sent again after the restart (at least once)"
        assert all(r.body == cut.body for r in again), "with the same body"
        duplicates = {m: len(r) for m, r in by_message(received).items() if len(r) > 1}
        print(f"{len(received)} requests for {len(by_message(received))} messages; re-sent after the kill: {duplicates}")
    finally:
        receiver.close()


def test_two_servers_on_one_data_directory_send_each_message_once(belay_factory, receiver):
    first = belay_factory().start()
    notify.create_component(first, "checkout", "Checkout")
    created, secret = notify.webhook_channel(first, receiver.url_for("/shared"))

    second = belay_factory(data=first.data)
    try:
        second.start()
    except AssertionError as refused:
        if not second.alive():
            reason = (second.log().strip().splitlines() or ["(no log)"])[-1]
            pytest.skip(f"Belay refuses a second `belay serve` on one data directory: {reason[:400]} ({str(refused)[:200]})")
        raise

    acked, stop = [], threading.Event()
    threads = [threading.Thread(target=declarer, args=(server, 30, f"Shared drill {n}", acked, stop), daemon=True)
               for n, server in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(acked) == 60, f"both servers take declarations: {len(acked)} of 60 acknowledged"

    wait_for_declared(receiver, acked, timeout=240)
    wait_all_delivered(first, created["id"])
    quiet(receiver)
    received = receiver.received("/shared")
    assert check_stream(received, secret) == [], check_stream(received, secret)
    twice = {m: [r.header("webhook-id") for r in found] for m, found in by_message(received).items() if len(found) > 1}
    assert twice == {}, f"two dispatchers on one database sent these more than once (no crash happened): {twice}"
    assert first.alive() and second.alive()
