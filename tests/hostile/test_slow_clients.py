"""Slow and idle clients: thousands of idle connections, request heads and bodies trickled a byte a second, too
many connections from one address, and X-Forwarded-For from trusted and untrusted peers.

    BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/hostile/test_slow_clients.py

The serve flags under test: `--idle-timeout` (an idle keep-alive connection, or one that has not finished its
request head, is closed after it), `--body-timeout` (a body must arrive completely within it after its head),
`--max-connections-per-client` and `--trusted-proxy`. Every loop here is bounded in count and time; all traffic
is on loopback. Connections are spread over several 127.x.y.z source addresses so the per-client cap (default
128) is not what closes them, except in the test of that cap.
"""
import selectors
import threading
import time

import pytest

from conftest import NOFILE, connect, form_token, raw_request, read_response, status_of, wait_closed

CROWD = 2000  # idle sockets
TRICKLERS = 10  # of each kind
SLACK = 10.0  # seconds a loaded 2-core machine may take beyond a configured timeout
GET_BOUND = 5.0  # seconds GET / may take while the crowd is connected


def sources(prefix, count):
    return [f"{prefix}.{i}" for i in range(1, count + 1)]


SLOW_HEAD = (b"GET / HTTP/1.1\r\nHost: belay.test\r\nUser-Agent: slowloris\r\nX-Padding: " + b"a" * 600 + b"\r\n\r\n")


def slow_body_head(path, key_or_token=None, length=100_000):
    headers = [f"POST {path} HTTP/1.1", "Host: belay.test", f"Content-Length: {length}"]
    if path.startswith("/app/"):
        headers.append("Content-Type: application/x-www-form-urlencoded")
    else:
        headers.append("Content-Type: application/json")
    if key_or_token:
        headers.append(f"Authorization: Bearer {key_or_token}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode()


class Crowd:
    """Many connections held by one background thread (epoll): `idle` ones never send a byte; `head` ones send a
    request head one byte a second; `body` ones send a complete head announcing a body, then the body one byte a
    second. Notes when the server closes each (EOF or reset), and what it sent first."""

    def __init__(self, port):
        self.port = port
        self.conns = []
        self.selector = selectors.DefaultSelector()
        self.stop_flag = threading.Event()
        self.thread = None
        self.lock = threading.Lock()
        self.errors = []

    def open(self, kind, count, source_list, head=b"", trickle=b""):
        if kind == "idle" and NOFILE < count + 500:
            pytest.fail(f"RLIMIT_NOFILE is {NOFILE} and could not be raised; {count + 500} descriptors are needed "
                        "(raise the hard limit: ulimit -Hn)", pytrace=False)
        for i in range(count):
            source = source_list[i % len(source_list)]
            try:
                sock = connect(self.port, source=source, timeout=10)
            except OSError as error:
                self.errors.append(f"connect {kind} #{i} from {source}: {error!r}")
                continue
            opened = time.monotonic()
            if head:
                sock.sendall(head)
            sock.setblocking(False)
            conn = {"sock": sock, "kind": kind, "source": source, "opened": opened, "closed": None, "data": b"",
                    "trickle": iter([trickle[j:j + 1] for j in range(len(trickle))]) if trickle else None,
                    "next_send": opened + 1.0, "sent": 0}
            with self.lock:
                self.conns.append(conn)
                self.selector.register(sock, selectors.EVENT_READ, conn)
        return self

    def _close(self, conn, now):
        conn["closed"] = now
        try:
            self.selector.unregister(conn["sock"])
        except (KeyError, ValueError):
            pass
        conn["sock"].close()

    def _run(self):
        while not self.stop_flag.is_set():
            with self.lock:
                events = self.selector.select(timeout=0.1) if self.selector.get_map() else []
                now = time.monotonic()
                for key, _ in events:
                    conn = key.data
                    try:
                        chunk = conn["sock"].recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        chunk = b""
                    if chunk:
                        conn["data"] += chunk[: max(0, 4096 - len(conn["data"]))]
                    else:
                        self._close(conn, now)
                for conn in self.conns:
                    if conn["closed"] is None and conn["trickle"] is not None and now >= conn["next_send"]:
                        byte = next(conn["trickle"], None)
                        conn["next_send"] = now + 1.0
                        if byte is None:
                            continue
                        try:
                            conn["sock"].send(byte)
                            conn["sent"] += 1
                        except BlockingIOError:
                            pass
                        except OSError:
                            self._close(conn, now)
            if not events:
                time.sleep(0.02)

    def start(self):
        self.thread = threading.Thread(target=self._run, name="crowd", daemon=True)
        self.thread.start()
        return self

    def of(self, kind):
        with self.lock:
            return [c for c in self.conns if c["kind"] == kind]

    def open_count(self, kind=None):
        with self.lock:
            return sum(1 for c in self.conns if c["closed"] is None and (kind is None or c["kind"] == kind))

    def wait_all_closed(self, deadline):
        while time.monotonic() < deadline and self.open_count() > 0:
            time.sleep(0.2)

    def close(self):
        self.stop_flag.set()
        if self.thread:
            self.thread.join(timeout=10)
        with self.lock:
            for conn in self.conns:
                if conn["closed"] is None:
                    conn["sock"].close()
            self.selector.close()


def measure_root(port, seconds, pause=0.25, max_requests=200):
    """GET / on a fresh connection from 127.0.0.1, again and again for `seconds`: [(status or error, seconds)]."""
    results = []
    end = time.monotonic() + seconds
    while time.monotonic() < end and len(results) < max_requests:
        started = time.monotonic()
        try:
            status, _, _ = raw_request(port, "GET", "/", timeout=GET_BOUND * 2)
        except OSError as error:
            status = repr(error)
        results.append((status, time.monotonic() - started))
        time.sleep(pause)
    return results


def integration_key(belay):
    created = belay.api("POST", "/api/v1/integrations", {"name": "slow", "kind": "alertmanager",
                                                          "routing": {"defaultSeverity": "sev3"}})
    return created["key"]


def check_root_results(results, what):
    assert results, "no GET / was made"
    bad = [(s, round(t, 2)) for s, t in results if s != 200 or t > GET_BOUND]
    worst = max(t for _, t in results)
    assert not bad, (f"{what}: {len(bad)} of {len(results)} GET / were not a 200 within {GET_BOUND} s "
                     f"(status, seconds): {bad[:10]}; slowest {worst:.2f} s")


# The main listener and --public-listen's hold the same line against slow clients.
@pytest.fixture(params=["main", "public"])
def listener(request):
    return request.param


def start_on(start_belay, listener, *args):
    """A server with `args` (and a public listener when `listener` is "public") and the port under test."""
    if listener == "public":
        args = (*args, "--public-listen", "127.0.0.1:0")
    belay = start_belay(*args)
    return belay, belay.public_port if listener == "public" else belay.port


# ---------------------------------------------------------------- the status page stays up

def test_root_answers_while_2000_idle_and_trickling_connections_are_held(start_belay, listener):
    belay, port = start_on(start_belay, listener, "--idle-timeout", "60s", "--body-timeout", "60s")
    key = integration_key(belay)
    crowd = Crowd(port)
    try:
        crowd.open("idle", CROWD, sources("127.0.10", 20))  # 100 per address, under the default cap of 128
        crowd.open("head", TRICKLERS, sources("127.0.11", 5), trickle=SLOW_HEAD)
        crowd.open("body", TRICKLERS, sources("127.0.12", 5),
                   head=slow_body_head(f"/api/v1/integrations/{key}/alertmanager"), trickle=b"[" * 1000)
        crowd.start()
        assert not crowd.errors, f"could not open the crowd: {crowd.errors[:5]} ({len(crowd.errors)} failures)"
        results = measure_root(port, seconds=8)
        held = crowd.open_count("idle")
        trickling = crowd.open_count("head") + crowd.open_count("body")
    finally:
        crowd.close()
    belay.assert_serving(what="after the crowd left")
    check_root_results(results, f"with {CROWD} idle and {2 * TRICKLERS} trickling connections")
    # With 60 s timeouts the crowd must still have been there, or this measured nothing.
    assert held >= CROWD * 0.95, f"only {held} of {CROWD} idle connections were still open after ~8 s (idle timeout 60 s)"
    assert trickling == 2 * TRICKLERS, f"only {trickling} of {2 * TRICKLERS} trickling connections were still open"


# ---------------------------------------------------------------- timeouts close them

def test_idle_and_trickling_connections_are_closed_after_the_timeouts(start_belay, listener):
    idle_timeout, body_timeout = 2.0, 3.0
    belay, port = start_on(start_belay, listener, "--idle-timeout", "2s", "--body-timeout", "3s")
    key = integration_key(belay)
    crowd = Crowd(port)
    try:
        crowd.open("idle", CROWD, sources("127.0.20", 20))
        crowd.open("head", TRICKLERS, sources("127.0.21", 5), trickle=SLOW_HEAD)
        targets = [(f"/api/v1/integrations/{key}/alertmanager", None), ("/api/v1/incidents", belay.token),
                   ("/app/sign-in", None)]
        for i in range(TRICKLERS):
            path, auth = targets[i % len(targets)]
            crowd.open("body", 1, [f"127.0.22.{i + 1}"], head=slow_body_head(path, auth), trickle=b"x" * 1000)
        crowd.start()
        assert not crowd.errors, f"could not open the crowd: {crowd.errors[:5]} ({len(crowd.errors)} failures)"
        # Meanwhile the page answers: closing thousands of connections must not stall the server either.
        results = measure_root(port, seconds=4)
        crowd.wait_all_closed(time.monotonic() + max(idle_timeout, body_timeout) + SLACK)
        conns = {kind: crowd.of(kind) for kind in ("idle", "head", "body")}
    finally:
        crowd.close()
    check_root_results(results, "while the timeouts closed the crowd")

    problems = []
    for kind, limit in (("idle", idle_timeout), ("head", idle_timeout), ("body", body_timeout)):
        still_open = [c for c in conns[kind] if c["closed"] is None]
        late = [c for c in conns[kind] if c["closed"] is not None and c["closed"] - c["opened"] > limit + SLACK]
        if still_open:
            sample = still_open[0]
            problems.append(f"{len(still_open)} of {len(conns[kind])} {kind} connections were still open "
                            f"{limit + SLACK:.0f} s after they were opened (timeout {limit:.0f} s; e.g. one from "
                            f"{sample['source']} had sent {sample['sent']} trickled bytes, server sent "
                            f"{sample['data'][:80]!r})")
        if late:
            problems.append(f"{len(late)} {kind} connections were closed later than {limit + SLACK:.0f} s")
    early = [c for c in conns["idle"] if c["closed"] is not None and c["closed"] - c["opened"] < 0.5]
    if early:
        problems.append(f"{len(early)} idle connections were closed within 0.5 s, long before --idle-timeout 2s "
                        f"(server sent {early[0]['data'][:80]!r})")
    answered_200 = [c for c in conns["head"] + conns["body"] if status_of(c["data"]) == 200]
    if answered_200:
        problems.append(f"{len(answered_200)} trickling requests got a 200 instead of being cut off")
    assert not problems, "; ".join(problems)
    belay.assert_serving(what="after the timeouts")


def test_keep_alive_connection_is_closed_once_idle_but_not_while_in_use(start_belay, listener):
    belay, port = start_on(start_belay, listener, "--idle-timeout", "2s", "--body-timeout", "3s")
    sock = connect(port)
    try:
        # In use: a request every 0.7 s for ~5 s (longer than the idle timeout) on the same connection.
        for i in range(7):
            sock.sendall(b"GET / HTTP/1.1\r\nHost: belay.test\r\n\r\n")
            status, head, _ = read_response(sock, timeout=10)
            assert status == 200, f"request {i + 1} on a busy keep-alive connection: {status} {head[:200]!r}"
            time.sleep(0.7)
        went_idle = time.monotonic()
        closed, data, when = wait_closed(sock, went_idle + 2.0 + SLACK)
        assert closed, f"an idle keep-alive connection was still open {2 + SLACK:.0f} s after its last response"
        assert when - went_idle >= 0.5, f"closed {when - went_idle:.2f} s after the last response, long before 2 s"
        assert status_of(data) in (None, 408), f"the server sent {data[:200]!r} on an idle connection"
    finally:
        sock.close()


def test_a_slow_body_that_arrives_within_the_body_timeout_is_served(start_belay):
    belay = start_belay("--idle-timeout", "2s", "--body-timeout", "3s")
    key = integration_key(belay)
    body = (b'{"version":"4","status":"firing","receiver":"belay","groupLabels":{},"commonLabels":{},'
            b'"commonAnnotations":{},"externalURL":"http://am","alerts":[{"status":"firing","labels":'
            b'{"alertname":"SlowButFine"},"annotations":{},"startsAt":"2026-01-01T00:00:00Z","fingerprint":"00ff"}]}')
    sock = connect(belay.port)
    try:
        sock.sendall(slow_body_head(f"/api/v1/integrations/{key}/alertmanager", length=len(body)))
        third = len(body) // 3
        for piece in (body[:third], body[third:2 * third], body[2 * third:]):
            sock.sendall(piece)
            time.sleep(0.6)  # ~1.8 s in all: slower than a healthy client, inside --body-timeout 3s
        status, head, answer = read_response(sock, timeout=10)
        assert status == 200, f"a body completed in ~1.8 s (under --body-timeout 3s) got {status}: {answer[:300]!r}"
    finally:
        sock.close()


# ---------------------------------------------------------------- per-client cap

def test_connections_over_the_per_client_cap_are_closed_while_other_clients_are_served(start_belay, listener):
    cap = 8
    belay, port = start_on(start_belay, listener, "--max-connections-per-client", str(cap), "--idle-timeout", "30s")
    crowded, other = "127.0.30.1", "127.0.30.2"
    held = []
    try:
        for i in range(cap):
            sock = connect(port, source=crowded)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: belay.test\r\n\r\n")
            status, head, _ = read_response(sock, timeout=10)
            assert status == 200, f"connection {i + 1} of {cap} (at the cap, not over it) got {status}: {head[:200]!r}"
            held.append(sock)

        refused = []
        for i in range(4):
            extra = connect(port, source=crowded)
            try:
                try:
                    extra.sendall(b"GET / HTTP/1.1\r\nHost: belay.test\r\n\r\n")
                except OSError:
                    refused.append((i, "closed before the request was sent"))
                    continue
                closed, data, _ = wait_closed(extra, time.monotonic() + 5.0)
                if status_of(data) == 200:
                    continue
                if closed:
                    refused.append((i, data[:60]))
            finally:
                extra.close()
        assert len(refused) == 4, (f"with {cap} connections open from {crowded} (--max-connections-per-client {cap}), "
                                   f"only {len(refused)} of 4 more from the same address were closed; the rest were served")

        # Another client is served meanwhile, and so is a connection already under the cap.
        status, _, _ = raw_request(port, "GET", "/", source=other, timeout=10)
        assert status == 200, f"GET / from {other} while {crowded} is at its cap -> {status}"
        held[0].sendall(b"GET / HTTP/1.1\r\nHost: belay.test\r\n\r\n")
        status, head, _ = read_response(held[0], timeout=10)
        assert status == 200, f"an existing connection of {crowded} under the cap -> {status} {head[:200]!r}"
    finally:
        for sock in held:
            sock.close()

    # Once its connections are gone, the client may connect again.
    deadline = time.monotonic() + 10
    last = None
    while time.monotonic() < deadline:
        try:
            last, _, _ = raw_request(port, "GET", "/", source=crowded, timeout=5)
            if last == 200:
                break
        except OSError as error:
            last = repr(error)
        time.sleep(0.3)
    assert last == 200, f"{crowded} was not served again after closing its connections: {last}"
    belay.assert_serving()


# ---------------------------------------------------------------- trusted proxies and the sign-in throttle
#
# Failed sign-ins are counted per client and account (10 in 15 minutes, README: Access) and per client (more).
# Each test fails one account from one client until 429, then checks who else is blocked. A failed sign-in costs a
# bcrypt even for an unknown account, so these are few and bounded.

MAX_ATTEMPTS = 40
ACCOUNT = "victim@example.com"


def sign_in(belay, token, source=None, headers=None, email=ACCOUNT):
    """One sign-in attempt with a wrong password, on its own connection from `source`; returns the status."""
    body = f"_csrf={token}&email={email}&password=wrong-password-123&next=%2Fapp".encode()
    all_headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"belay_form={token}",
                   "Host": "belay.test", **(headers or {})}
    status, _, answer = raw_request(belay.port, "POST", "/app/sign-in", headers=all_headers, body=body, source=source,
                                    timeout=30)
    assert status in (401, 429), f"sign-in attempt for {email} from {source or '127.0.0.1'} -> {status}: {answer[:300]!r}"
    return status


def forwarded(style, address):
    return {"X-Forwarded-For": address} if style == "x-forwarded-for" else {"Forwarded": f"for={address}"}


def fail_until_throttled(belay, token, source=None, headers=lambda i: {}):
    """Fails sign-ins for ACCOUNT from one client until the first 429; returns how many failed first.
    `headers(i)` gives attempt i's extra headers."""
    deadline = time.monotonic() + 60
    for i in range(MAX_ATTEMPTS):
        if sign_in(belay, token, source, headers(i)) == 429:
            assert i > 0, "the very first sign-in was throttled"
            return i
        if time.monotonic() > deadline:
            break
    raise AssertionError(f"{i + 1} failed sign-ins for one account from one client ({source or '127.0.0.1'}, "
                         f"headers like {headers(0)} then {headers(1)}) were never answered 429")


@pytest.mark.parametrize("style", ["x-forwarded-for", "forwarded"])
def test_forwarded_client_from_a_trusted_proxy_counts_for_the_sign_in_throttle(start_belay, style):
    belay = start_belay("--trusted-proxy", "127.0.0.1/32")
    token = form_token(belay)
    fail_until_throttled(belay, token, headers=lambda i: forwarded(style, "203.0.113.7"))
    assert sign_in(belay, token, headers=forwarded(style, "203.0.113.7")) == 429, "203.0.113.7 was let in again at once"
    assert sign_in(belay, token, headers=forwarded(style, "203.0.113.8")) == 401, (
        "another client behind the same trusted proxy was blocked: the proxy's address was counted, not the client's")
    assert sign_in(belay, token) == 401, "the proxy itself (no forwarding header) was blocked"


def test_forwarded_header_from_an_untrusted_peer_is_ignored(start_belay):
    belay = start_belay("--trusted-proxy", "127.0.0.1/32")
    token = form_token(belay)
    untrusted = "127.0.0.2"
    # A new X-Forwarded-For on every attempt: believed, it would make every attempt a new client.
    fail_until_throttled(belay, token, source=untrusted, headers=lambda i: {"X-Forwarded-For": f"203.0.113.{i + 1}"})
    assert sign_in(belay, token, source=untrusted, headers={"X-Forwarded-For": "198.51.100.1"}) == 429, (
        f"{untrusted} (not a trusted proxy) escaped the throttle with yet another X-Forwarded-For")
    assert sign_in(belay, token, headers={"X-Forwarded-For": "203.0.113.1"}) == 401, (
        "203.0.113.1 was blocked, so X-Forwarded-For from an untrusted peer was believed")
    assert sign_in(belay, token, source="127.0.0.3") == 401, "an unrelated client was blocked"


def test_without_trusted_proxies_forwarding_headers_are_ignored(belay):
    token = form_token(belay)
    fail_until_throttled(belay, token, headers=lambda i: {"X-Forwarded-For": f"203.0.113.{i + 1}",
                                                          "Forwarded": f"for=198.51.100.{i + 1}"})
    assert sign_in(belay, token, headers={"X-Forwarded-For": "192.0.2.1"}) == 429, (
        "with no --trusted-proxy, a client escaped the throttle by sending a new X-Forwarded-For")
    assert sign_in(belay, token, source="127.0.0.2") == 401, "another peer address was blocked"
