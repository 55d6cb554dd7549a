"""Pathological bodies: JSON nested 10,000 (and 1,000,000) deep, JSON with too many values, declared and chunked
bodies over the size limits, and malformed urlencoded forms. Each must get its 4xx promptly, and the server must
stay up (process alive, GET / answering) after every one.

    BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/hostile/test_limits.py

The contract under test: JSON nested deeper than 64 levels or with more than 100,000 values is 400 with
`{"error":{"code":...,"message":...}}` (PagerDuty's `{"status":"invalid event","message":...,"errors":[...]}` on
/v2/enqueue), at a cost that does not grow with depth; an unknown integration key is refused (404) before the
body is decoded; a Content-Length over `--max-body` / `--max-alert-body` is answered 413 before the body has been
sent; a chunked body over the limit is cut off with 413; a malformed form body is 400.

The value-count limit is not asserted for the Alertmanager endpoint: docs/detect.md and bench/detect (`bulk`)
promise that one notification with 20,000 alerts (some 340,000 JSON values) is accepted there.
"""
import json
import select
import socket
import time

import pytest

from conftest import connect, form_token, raw_request, read_response, status_of

PROMPT = 5.0  # seconds: "promptly" on a loaded 2-core machine, for a debug build
ALERT = {"status": "firing", "labels": {"alertname": "Deep"}, "annotations": {}, "startsAt": "2026-01-01T00:00:00Z",
         "fingerprint": "00aa"}


def deep_array(depth):
    return "[" * depth + "]" * depth


def deep_object(depth):
    return '{"a":' * depth + "1" + "}" * depth


def envelope(endpoint, inner, key):
    """A body that is valid for `endpoint` except for `inner` (raw JSON text) in a field that takes any JSON
    (or an object), so the nesting sits where a decoder would really go."""
    if endpoint == "alertmanager":
        alert = json.dumps(ALERT)[:-1] + ', "annotations": {"deep": ' + inner + "}}"
        return '{"version":"4","status":"firing","receiver":"belay","groupLabels":{},"commonLabels":{},' \
               '"commonAnnotations":{},"externalURL":"http://am","alerts":[' + alert + "]}"
    if endpoint == "events":
        return '{"action":"trigger","summary":"deep","severity":"critical","source":"db1","labels":' + inner + "}"
    if endpoint == "pagerduty":
        return ('{"routing_key":"' + key + '","event_action":"trigger","payload":{"summary":"deep","source":"db1",'
                '"severity":"critical","custom_details":' + inner + "}}")
    if endpoint == "incidents":
        return '{"title":"deep","severity":"sev2","message":"x","components":' + inner + "}"
    raise ValueError(endpoint)


def target(belay, endpoint, key):
    """(path, headers) for posting to `endpoint`."""
    headers = {"Content-Type": "application/json"}
    if endpoint == "alertmanager":
        return f"/api/v1/integrations/{key}/alertmanager", headers
    if endpoint == "events":
        return f"/api/v1/integrations/{key}/events", headers
    if endpoint == "pagerduty":
        return "/v2/enqueue", headers
    if endpoint == "incidents":
        return "/api/v1/incidents", {**headers, "Authorization": f"Bearer {belay.token}"}
    raise ValueError(endpoint)


def new_key(belay, kind="alertmanager"):
    return belay.api("POST", "/api/v1/integrations", {"name": f"limits-{kind}", "kind": kind,
                                                       "routing": {"defaultSeverity": "sev3"}})["key"]


def post_timed(belay, path, headers, body, timeout=30.0):
    started = time.monotonic()
    try:
        status, answer_headers, answer = raw_request(belay.port, "POST", path, headers=headers,
                                                     body=body.encode() if isinstance(body, str) else body,
                                                     timeout=timeout)
    except OSError as error:
        return repr(error), {}, b"", time.monotonic() - started
    return status, answer_headers, answer, time.monotonic() - started


def check_error_shape(endpoint, answer_headers, answer):
    assert "json" in answer_headers.get("content-type", ""), f"error is not JSON: {answer_headers} {answer[:300]!r}"
    body = json.loads(answer)
    if endpoint == "pagerduty":
        assert body.get("status") == "invalid event" and isinstance(body.get("message"), str) \
            and isinstance(body.get("errors"), list), f"not PagerDuty's error shape: {body}"
    else:
        error = body.get("error")
        assert isinstance(error, dict) and isinstance(error.get("code"), str) and isinstance(error.get("message"), str), (
            f"not Belay's error shape: {body}")


ENDPOINTS = ["alertmanager", "events", "pagerduty", "incidents"]


# ---------------------------------------------------------------- nesting

@pytest.mark.parametrize("shape", ["array", "object", "in-a-field"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_json_nested_10000_deep_is_400_promptly(start_belay, endpoint, shape):
    belay = start_belay()
    key = new_key(belay)
    path, headers = target(belay, endpoint, key)
    deep = {"array": deep_array, "object": deep_object}.get(shape, deep_array)(10_000)
    body = envelope(endpoint, deep, key) if shape == "in-a-field" else deep
    status, answer_headers, answer, took = post_timed(belay, path, headers, body)
    belay.assert_serving(what=f"after JSON nested 10,000 deep ({shape}) to {path}")
    assert status == 400, f"{path}, JSON nested 10,000 deep ({shape}): {status} {answer[:300]!r}"
    assert took < PROMPT, f"{path}: the 400 took {took:.2f} s"
    check_error_shape(endpoint, answer_headers, answer)


@pytest.mark.parametrize("endpoint", ["alertmanager", "pagerduty"])
def test_json_nested_a_million_deep_costs_no_more(start_belay, endpoint):
    """2 MB of nesting (under the 16 MiB alert limit): refused as fast as 10,000 levels, no stack overflow."""
    belay = start_belay()
    key = new_key(belay)
    path, headers = target(belay, endpoint, key)
    _, _, _, shallow = post_timed(belay, path, headers, envelope(endpoint, deep_array(10_000), key))
    status, answer_headers, answer, took = post_timed(belay, path, headers, envelope(endpoint, deep_array(1_000_000), key))
    belay.assert_serving(what=f"after JSON nested 1,000,000 deep to {path}")
    assert status == 400, f"{path}, JSON nested 1,000,000 deep: {status} {answer[:300]!r}"
    assert took < 2 * PROMPT, f"{path}: 1,000,000 levels took {took:.2f} s (10,000 levels: {shallow:.2f} s)"
    check_error_shape(endpoint, answer_headers, answer)


@pytest.mark.parametrize("endpoint", ["events", "pagerduty", "incidents"])
def test_json_with_more_than_100000_values_is_400(start_belay, endpoint):
    belay = start_belay()
    key = new_key(belay)
    path, headers = target(belay, endpoint, key)
    many = "[" + ",".join(["0"] * 150_000) + "]"  # 300 KB, under the 1 MiB body limit
    status, answer_headers, answer, took = post_timed(belay, path, headers, envelope(endpoint, many, key))
    belay.assert_serving(what=f"after 150,000 JSON values to {path}")
    assert status == 400, f"{path}, 150,000 JSON values: {status} {answer[:300]!r}"
    assert took < PROMPT, f"{path}: the 400 took {took:.2f} s"
    check_error_shape(endpoint, answer_headers, answer)


@pytest.mark.parametrize("endpoint", ["alertmanager", "events"])
def test_unknown_integration_key_is_refused_before_the_body_is_decoded(start_belay, endpoint):
    belay = start_belay()
    new_key(belay)
    path, headers = target(belay, endpoint, "0" * 32)
    status, answer_headers, answer, took = post_timed(belay, path, headers, deep_array(10_000))
    belay.assert_serving(what=f"after a deep body to an unknown key at {path}")
    assert status == 404, f"{path} with an unknown key and a body nested 10,000 deep: {status} {answer[:300]!r} " \
                          "(a 400 means the body was decoded before the key was checked)"
    assert took < PROMPT, f"{path}: the 404 took {took:.2f} s"


# ---------------------------------------------------------------- size limits

MAX_BODY, MAX_ALERT_BODY = 65_536, 262_144
SMALL_LIMITS = ("--max-body", str(MAX_BODY), "--max-alert-body", str(MAX_ALERT_BODY))


def limited_target(belay, name, key):
    """(path, extra headers, limit) for a route under the small limits."""
    if name == "incidents":
        return "/api/v1/incidents", {"Authorization": f"Bearer {belay.token}", "Content-Type": "application/json"}, MAX_BODY
    if name == "sign-in":
        return "/app/sign-in", {"Content-Type": "application/x-www-form-urlencoded"}, MAX_BODY
    if name == "alertmanager":
        return f"/api/v1/integrations/{key}/alertmanager", {"Content-Type": "application/json"}, MAX_ALERT_BODY
    if name == "events":
        return f"/api/v1/integrations/{key}/events", {"Content-Type": "application/json"}, MAX_ALERT_BODY
    if name == "pagerduty":
        return "/v2/enqueue", {"Content-Type": "application/json"}, MAX_ALERT_BODY
    raise ValueError(name)


def head_bytes(method, path, headers):
    lines = [f"{method} {path} HTTP/1.1", "Host: belay.test"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.parametrize("name", ["incidents", "sign-in", "alertmanager", "events", "pagerduty"])
def test_declared_length_over_the_limit_is_413_before_the_body_is_sent(start_belay, name):
    belay = start_belay(*SMALL_LIMITS)
    key = new_key(belay)
    path, headers, limit = limited_target(belay, name, key)
    declared = 10 * limit
    sock = connect(belay.port)
    try:
        sock.sendall(head_bytes("POST", path, {**headers, "Content-Length": str(declared)}))
        sock.sendall(b"[" + b"0," * 512)  # ~1 KB of the announced body, then nothing more
        try:
            status, head, answer = read_response(sock, timeout=PROMPT * 2)
        except TimeoutError as error:
            status, head, answer = f"no answer ({error})", "", b""
    finally:
        sock.close()
    belay.assert_serving(what=f"after Content-Length {declared} to {path}")
    assert status == 413, (f"{path}: Content-Length {declared} over the limit {limit}, ~1 KB sent, then waiting: "
                           f"{status} {head[:200]!r} {answer[:200]!r}")


def test_alert_endpoints_take_the_larger_limit(start_belay):
    belay = start_belay(*SMALL_LIMITS)
    key = new_key(belay)
    # 200 alerts of ~650 bytes: over --max-body, under --max-alert-body, every field of ordinary size.
    alerts = [dict(ALERT, fingerprint=f"{i:016x}", labels={"alertname": "Big", "instance": f"host-{i}"},
                   annotations={"description": "d" * 600}) for i in range(200)]
    body = json.dumps({"version": "4", "status": "firing", "receiver": "belay", "groupLabels": {}, "commonLabels": {},
                       "commonAnnotations": {}, "externalURL": "http://am", "alerts": alerts})
    assert MAX_BODY < len(body) < MAX_ALERT_BODY
    status, _, answer, _ = post_timed(belay, f"/api/v1/integrations/{key}/alertmanager",
                                      {"Content-Type": "application/json"}, body)
    assert status == 200, f"an Alertmanager delivery of {len(body)} bytes (limit {MAX_ALERT_BODY}): {status} {answer[:300]!r}"


@pytest.mark.parametrize("name", ["incidents", "sign-in", "alertmanager"])
def test_chunked_body_over_the_limit_is_cut_off_with_413(start_belay, name):
    belay = start_belay(*SMALL_LIMITS)
    key = new_key(belay)
    path, headers, limit = limited_target(belay, name, key)
    sock = connect(belay.port)
    chunk = b"0," * 8192  # 16 KiB
    framed = b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    sent, received, cut_off, status = 0, b"", False, None
    try:
        sock.sendall(head_bytes("POST", path, {**headers, "Transfer-Encoding": "chunked"}) + b"1\r\n[\r\n")
        sock.setblocking(False)
        give_up = time.monotonic() + 15
        answered_at = None
        # Offer up to 64 times the limit, for at most 15 s, reading all the while; after the answer, go on
        # offering for up to 10 s more to see whether the server stops reading (closes) or drains forever.
        while time.monotonic() < give_up and sent < 64 * limit:
            readable, writable, _ = select.select([sock], [sock], [], 0.5)
            if readable:
                try:
                    data = sock.recv(65536)
                except (ConnectionResetError, BrokenPipeError):
                    cut_off = True
                    break
                except BlockingIOError:
                    data = None
                if data == b"":
                    cut_off = True
                    break
                if data:
                    received += data
                    if answered_at is None and b"\r\n\r\n" in received:
                        answered_at = time.monotonic()
                        status = status_of(received)
                        give_up = min(give_up + 10, answered_at + 10)
            if writable:
                try:
                    sent += sock.send(framed)
                except (BrokenPipeError, ConnectionResetError):
                    cut_off = True
                    break
                except BlockingIOError:
                    pass
    finally:
        sock.close()
    if status is None:
        status = status_of(received)
    belay.assert_serving(what=f"after a chunked body over the limit to {path}")
    assert status == 413, (f"{path}: a chunked body over the limit {limit} ({sent} bytes offered): "
                           f"{status} {received[:300]!r}")
    assert cut_off, (f"{path}: after its 413 the server went on reading the chunked body ({sent} bytes taken, "
                     f"64x the limit or 10 s more) instead of closing the connection")


# ---------------------------------------------------------------- malformed forms

MALFORMED = [b"%zz", b"email=%", b"email=\xff\xfe&password=%E0%A4%A", b"email=%00", b"email=%1B[2J"]
# Bytes a browser would have escaped are read as they came (the WHATWG urlencoded rule): these bodies are
# forms, wrong ones, and must be answered like any wrong sign-in, never with a 5xx or a dead server.
LENIENT = [b"email=a b", b"{", b"email=\"x\"&password={}|<>"]


@pytest.mark.parametrize("body", LENIENT, ids=["space", "brace", "quotes"])
@pytest.mark.parametrize("path", ["/app/sign-in", "/app/setup"])
def test_unescaped_form_bytes_are_read_as_they_came_and_the_server_stays_up(start_belay, path, body):
    belay = start_belay()
    token = form_token(belay, path)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"belay_form={token}"}
    full = b"_csrf=" + token.encode() + b"&" + body
    status, _, answer, took = post_timed(belay, path, headers, full, timeout=15)
    time.sleep(0.3)  # a crash may take a moment to end the process
    assert belay.alive(), f"POST {path} with the body {full!r} killed the server ({status}): " + belay.death_note()
    belay.assert_serving(what=f"after POST {path} {full!r}")
    assert status in (401, 422), f"POST {path} with the body {full!r}: {status} {answer[:300]!r}"


@pytest.mark.parametrize("body", MALFORMED, ids=["bad-escape", "truncated-escape", "bad-utf8", "nul", "escape-sequence"])
@pytest.mark.parametrize("path", ["/app/sign-in", "/app/setup"])
def test_malformed_form_body_is_400_and_the_server_stays_up(start_belay, path, body):
    belay = start_belay()
    token = form_token(belay, path)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"belay_form={token}"}
    full = b"_csrf=" + token.encode() + b"&" + body
    status, _, answer, took = post_timed(belay, path, headers, full, timeout=15)
    time.sleep(0.3)  # a crash may take a moment to end the process
    assert belay.alive(), f"POST {path} with the body {full!r} killed the server ({status}): " + belay.death_note()
    belay.assert_serving(what=f"after POST {path} {full!r}")
    assert status == 400, f"POST {path} with the malformed body {full!r}: {status} {answer[:300]!r}"
