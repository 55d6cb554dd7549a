"""Three `belay serve` replicas on one database send webhooks, and the one sending a message is killed
with SIGKILL while the receiver holds that request's answer: no message is lost, the cut-off one comes again under
the same webhook-id, and nothing is sent under two ids or with two bodies.

The receiver runs in this process and knows only the TCP connection a request came on; every replica sends with
the same User-Agent. So the sender is found by the socket: the connection's port in /proc/net/tcp gives its
inode, and the replica whose /proc/PID/fd holds that inode is the one sending (it is waiting for the answer, so
the socket is open). Belay has no setting for the delivery lease (60 s, NotifySettings.lease): the deliveries the
dead replica had claimed wait that long for the others, and the waits allow for it.

The test runs on both shared stores: three replicas on one PostgreSQL database, and three servers on one SQLite
data directory. `BELAY_NOTIFY_KILL_SEED=S` replays the choice of which message is cut off (the helpers are
test_notify_crash's).

    scripts/postgres run -- env BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/resilience/test_replicas_notify.py
"""
import os
import random
import signal
import threading

import pytest

from test_notify_crash import (SEED, all_incidents, by_message, check_stream, declarer, notify, notify_peers, quiet,
                               wait_all_delivered, wait_for_declared)
from test_replicas import fresh_database, start_replicas

DECLARERS_PER_REPLICA = 2
INCIDENTS_PER_DECLARER = 25


def socket_inodes(local_port, remote_port):
    """The inodes of the TCP sockets from `local_port` to `remote_port` on this machine (IPv4 or IPv6 tables)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(table).read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            fields = row.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if int(local.rsplit(":", 1)[1], 16) == local_port and int(remote.rsplit(":", 1)[1], 16) == remote_port and inode != "0":
                found.add(f"socket:[{inode}]")
    return found


def holders(inodes, servers):
    """The servers whose process has one of `inodes` open."""
    owners = []
    for server in servers:
        directory = f"/proc/{server.pid}/fd"
        try:
            descriptors = os.listdir(directory)
        except OSError:
            continue  # gone
        links = set()
        for descriptor in descriptors:
            try:
                links.add(os.readlink(os.path.join(directory, descriptor)))
            except OSError:
                pass  # closed since the listing
        if links & inodes:
            owners.append(server)
    return owners


def three_servers(belay_factory, backend):
    """Three `belay serve` sharing one store: replicas on a fresh PostgreSQL database, or three servers on one SQLite
    data directory (which Belay also allows: the deliveries' leases are in the database either way)."""
    if backend == "postgresql":
        return start_replicas(belay_factory, fresh_database())
    args = ["--egress-allow", "127.0.0.1/32"]
    first = belay_factory(args=args)
    servers = [first] + [belay_factory(data=first.data, token=first.token, args=args) for _ in range(2)]
    for server in servers:
        server.start()
    return servers


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_sigkill_of_the_sending_replica_loses_no_message(belay_factory, backend):
    rng = random.Random(SEED)
    print(f"BELAY_NOTIFY_KILL_SEED={SEED}")
    kill_at = rng.randint(5, 40)
    replicas = []
    cut, victims, problems = [], [], []
    lock = threading.Lock()

    def kill_the_sender(request):
        # The kill_at-th request is on the wire and unanswered: whoever sent it dies between sending and recording.
        with lock:
            if len(receiver.received()) < kill_at or cut:
                return
            cut.append(request)
        owners = holders(socket_inodes(request.peer[1], receiver.port), replicas)
        if len(owners) != 1:
            problems.append(f"request from {request.peer}: {len(owners)} replicas hold its connection")
            return
        try:
            os.kill(owners[0].pid, signal.SIGKILL)
            victims.append(owners[0])
        except OSError as error:
            problems.append(f"SIGKILL of {owners[0].pid} failed: {error}")

    receiver = notify_peers.HTTPReceiver(on_request=kill_the_sender)
    try:
        replicas += three_servers(belay_factory, backend)
        first = replicas[0]
        notify.create_component(first, "checkout", "Checkout")
        created, secret = notify.webhook_channel(first, receiver.url_for("/replicas"))

        acked, stop = [], threading.Event()
        threads = [threading.Thread(target=declarer, args=(replica, INCIDENTS_PER_DECLARER, f"Replica {r} drill {n}", acked, stop),
                                    daemon=True)
                   for r, replica in enumerate(replicas) for n in range(DECLARERS_PER_REPLICA)]
        for thread in threads:
            thread.start()
        notify.poll(lambda: victims or problems, 180,
                    lambda: f"the receiver should get {kill_at} messages: it got {len(receiver.received())}")
        assert problems == [], problems
        victim = victims[0]
        victim.kill()  # reaps it
        survivors = [r for r in replicas if r is not victim]
        # The victim's declarers end at its first refused connection; the others declare all of theirs.
        for thread in threads:
            thread.join(timeout=240)
        assert not any(thread.is_alive() for thread in threads), "a declarer hung"
        print(f"killed replica {replicas.index(victim)} while request {kill_at} was unanswered; "
              f"{len(acked)} incidents acknowledged")
        assert len(acked) >= INCIDENTS_PER_DECLARER * DECLARERS_PER_REPLICA * len(survivors), "the survivors took every declaration"

        incidents = [i["id"] for i in all_incidents(survivors[0])]
        assert set(map(str, acked)) <= set(map(str, incidents)), "every incident the API acknowledged is still there"
        # Includes an incident the victim committed but could not acknowledge: the API lists it, so it is announced.
        wait_for_declared(receiver, incidents, timeout=300)
        wait_all_delivered(survivors[0], created["id"], timeout=240)
        quiet(receiver)
        received = receiver.received("/replicas")

        assert check_stream(received, secret) == [], check_stream(received, secret)
        known = {str(i) for i in incidents}
        strays = [message for message in by_message(received) if message[0] not in known]
        assert strays == [], f"messages about incidents that do not exist: {strays[:10]}"
        again = [r for r in received if r.header("webhook-id") == cut[0].header("webhook-id") and r is not cut[0]]
        assert again, "the message whose answer the kill cut off is sent again by a survivor (at least once)"
        assert all(r.body == cut[0].body for r in again), "with the same body"
        assert all(s.alive() for s in survivors) and not victim.alive()
        duplicates = {m: len(r) for m, r in by_message(received).items() if len(r) > 1}
        print(f"{len(received)} requests for {len(by_message(received))} messages; re-sent after the kill: {len(duplicates)}")
    finally:
        receiver.close()
