"""Belay's signed webhooks, judged by the Standard Webhooks reference verifier (the `standardwebhooks` package on
PyPI, which the spec's authors publish and receivers use): every message an incident produces arrives signed as
the spec says, retries keep their webhook-id and get a fresh timestamp and signature, a rotated secret signs with
both keys, and what the receiver answered (500, 429 with Retry-After, 410) shows in Belay's deliveries, channel
and health exactly as docs/notifications.md promises.

The receiver is an HTTP server in this process on 127.0.0.1, so each channel allows 127.0.0.1/32
(`allowedNetworks`): loopback is refused by default, which one test checks on its own.

    BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/external/test_notify_webhooks.py
"""
import re

import standardwebhooks

from notify_support import (attempt_errors, attempt_statuses, channel, create_component, declare, deliveries, delivery, health,
                            poll, post_update, resend, resolve, send_test, wait_delivery, wait_state, war_room, webhook_channel)

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
SIGNATURE = re.compile(r"v1,[A-Za-z0-9+/]+={0,2}")


def verify(request, secret):
    """The reference verifier's answer for one received request (it raises WebhookVerificationError if the
    signature, headers or timestamp are wrong)."""
    return standardwebhooks.Webhook(secret).verify(request.body, request.header_dict())


def with_one_signature(request, signature):
    headers = request.header_dict()
    headers = {k: v for k, v in headers.items() if k.lower() != "webhook-signature"}
    headers["webhook-signature"] = signature
    return headers


def verifies(secret, body, headers):
    try:
        standardwebhooks.Webhook(secret).verify(body, headers)
        return True
    except standardwebhooks.WebhookVerificationError:
        return False


def check_headers(request):
    """The headers the doc lists, in the form the spec gives."""
    assert request.method == "POST", request
    assert (request.header("content-type") or "").split(";")[0].strip() == "application/json", request.headers
    assert request.header("webhook-id"), f"no webhook-id: {request.headers}"
    stamp = request.header("webhook-timestamp") or ""
    assert stamp.isdigit(), f"webhook-timestamp is Unix seconds: {stamp!r}"
    assert abs(int(stamp) - request.at) < 120, f"webhook-timestamp {stamp} is this attempt's time (arrived {request.at:.0f})"
    signatures = (request.header("webhook-signature") or "").split(" ")
    assert all(SIGNATURE.fullmatch(s) for s in signatures), f"webhook-signature is v1,<base64>, space separated: {signatures}"
    return int(stamp)


def of_type(requests, kind):
    return [r for r in requests if r.json().get("type") == kind]


def test_an_incident_arrives_as_three_signed_messages(belay, receiver):
    create_component(belay, "checkout", "Checkout")
    created, secret = webhook_channel(belay, receiver.url_for("/hook"))

    incident = declare(belay, "Checkout errors", message="Investigating elevated checkout errors.")
    receiver.wait_for(lambda got: of_type(got, "incident.declared"), "/hook", message="incident.declared")
    post_update(belay, incident["id"], "We found the cause.")
    receiver.wait_for(lambda got: of_type(got, "incident.updated"), "/hook", message="incident.updated")
    resolve(belay, incident["id"], "Checkout is working again.")
    got = receiver.wait_for(lambda got: got if of_type(got, "incident.resolved") else None, "/hook", message="incident.resolved")

    assert [r.json()["type"] for r in got] == ["incident.declared", "incident.updated", "incident.resolved"], got
    assert len({r.header("webhook-id") for r in got}) == 3, "each message has its own webhook-id"
    expected = {"incident.declared": ("investigating", "Investigating elevated checkout errors."),
                "incident.updated": ("investigating", "We found the cause."),
                "incident.resolved": ("resolved", "Checkout is working again.")}
    for request in got:
        check_headers(request)
        payload = verify(request, secret)
        assert payload["version"] == 1, payload
        assert TIMESTAMP.fullmatch(payload["timestamp"]), f"timestamp like 2026-12-01T15:04:05.000Z: {payload['timestamp']!r}"
        sent = payload["data"]["incident"]
        status, latest = expected[payload["type"]]
        assert sent["id"] == str(incident["id"]), sent
        assert sent["title"] == "Checkout errors", sent
        assert sent["severity"] == "sev2", sent
        assert sent["status"] == status, f"{payload['type']}: {sent}"
        assert sent["public"] is True, sent
        assert sent["latestUpdate"] == latest, f"{payload['type']}: {sent}"
        assert sent["url"] == war_room(incident["id"]), sent
        assert [(c["slug"], c["name"]) for c in sent["components"]] == [("checkout", "Checkout")], sent
        if payload["type"] != "incident.resolved":
            assert sent["components"][0]["status"] == "major_outage", sent

    # Belay's own record: three deliveries on this channel, delivered at the first attempt with a 200.
    listed = poll(lambda: (lambda found: found if len(found) == 3 and all(d["state"] == "delivered" for d in found) else None)(
        deliveries(belay, channel=created["id"])), 30, lambda: f"three delivered deliveries: {deliveries(belay, channel=created['id'])}")
    for found in listed:
        assert attempt_statuses(delivery(belay, found["id"])) == [200], delivery(belay, found["id"])
    assert len(deliveries(belay, incident=incident["id"])) == 3
    keys = {d.get("key") for d in listed}
    if keys != {None}:
        assert keys == {r.header("webhook-id") for r in got}, f"the webhook-id is the delivery's key: {listed}"


def test_loopback_is_refused_without_allowed_networks(belay, receiver):
    created, _ = webhook_channel(belay, receiver.url_for("/hook"), allow_loopback=False)
    sent = send_test(belay, created["id"])
    failed = wait_delivery(belay, sent["id"], lambda d: d.get("state") in ("failed", "dead") and d["attempts"], 30,
                           "the first attempt should fail with the egress policy's refusal")
    error = failed["attempts"][0]["error"]
    assert "egress" in error.lower() and "127.0.0.1" in error, f"the error names the egress policy and the address: {error!r}"
    assert receiver.received() == [], "nothing may reach a loopback address the channel did not allow"


def test_the_test_endpoint_delivers_a_signed_test_message(belay, receiver):
    created, secret = webhook_channel(belay, receiver.url_for("/hook"))
    sent = send_test(belay, created["id"])
    request = receiver.wait_count(1, "/hook")[0]
    check_headers(request)
    payload = verify(request, secret)
    assert payload["type"] == "test" and payload["version"] == 1, payload
    assert wait_state(belay, sent["id"], "delivered")["id"] == sent["id"]
    assert sent["id"] in [d["id"] for d in deliveries(belay, channel=created["id"])]


def test_a_500_is_retried_after_about_five_seconds_with_the_same_id(belay, receiver):
    created, secret = webhook_channel(belay, receiver.url_for("/flaky"))
    receiver.respond(500, path="/flaky")
    sent = send_test(belay, created["id"])

    first = receiver.wait_count(1, "/flaky")[0]
    failed = wait_state(belay, sent["id"], "failed")  # between the 500 and the retry, 5 s (less 10%) later
    assert attempt_statuses(failed) == [500], failed
    assert sent["id"] in [d["id"] for d in deliveries(belay, state="failed", channel=created["id"])], "?state=failed lists it"

    second = receiver.wait_count(2, "/flaky", timeout=60)[1]
    assert second.monotonic - first.monotonic >= 4.0, f"the first retry waits about 5 s, not {second.monotonic - first.monotonic:.1f} s"
    assert second.header("webhook-id") == first.header("webhook-id"), "a retry keeps the webhook-id"
    assert second.body == first.body, "a retry sends the same body"
    assert check_headers(second) >= check_headers(first) + 4, "a retry carries this attempt's timestamp"
    assert second.header("webhook-signature") != first.header("webhook-signature")
    verify(first, secret)
    verify(second, secret)
    done = wait_state(belay, sent["id"], "delivered")
    assert attempt_statuses(done) == [500, 200], done


def test_a_429_with_retry_after_is_retried(belay, receiver):
    created, secret = webhook_channel(belay, receiver.url_for("/limited"))
    receiver.respond((429, {"Retry-After": "1"}), path="/limited")
    sent = send_test(belay, created["id"])
    first, second = receiver.wait_count(2, "/limited", timeout=60)[:2]
    assert first.answered == 429 and second.answered == 200
    assert second.header("webhook-id") == first.header("webhook-id")
    verify(second, secret)
    assert attempt_statuses(wait_state(belay, sent["id"], "delivered")) == [429, 200]


def test_a_rotated_secret_signs_every_message_with_both(belay, receiver):
    created, old = webhook_channel(belay, receiver.url_for("/hook"))
    response = belay.request("POST", f"/api/v1/channels/{created['id']}/rotate-secret")
    assert response.status_code in (200, 201), f"rotate-secret -> {response.status_code} {response.text}"
    new = response.json()["secret"]
    assert new.startswith("whsec_") and new != old

    send_test(belay, created["id"])
    request = receiver.wait_count(1, "/hook")[0]
    signatures = request.header("webhook-signature").split(" ")
    assert len(signatures) == 2, f"during a rotation a message carries two signatures: {signatures}"
    verify(request, old)
    verify(request, new)
    for secret in (old, new):
        matching = [s for s in signatures if verifies(secret, request.body, with_one_signature(request, s))]
        assert len(matching) == 1, f"exactly one of the signatures is made with each secret: {signatures}"


def test_a_410_kills_the_delivery_and_disables_the_channel(belay, receiver):
    assert health(belay)["status"] == "ok", health(belay)
    created, _ = webhook_channel(belay, receiver.url_for("/gone"), name="gone-away")
    receiver.respond(410, path="/gone")
    sent = send_test(belay, created["id"])

    dead = wait_state(belay, sent["id"], "dead")
    assert attempt_statuses(dead) == [410], f"410 is not retried: {dead}"
    assert len(receiver.received("/gone")) == 1
    disabled = channel(belay, created["id"])
    assert disabled["enabled"] is False, disabled
    reason = disabled.get("disabledReason")
    assert isinstance(reason, str) and ("410" in reason or "gone" in reason.lower()), f"the reason is shown: {disabled}"
    listed = [d for d in deliveries(belay, channel=created["id"]) if d["id"] == sent["id"]]
    assert listed and listed[0]["state"] == "dead", listed

    report = health(belay)
    assert report["status"] == "failing", report
    assert str(created["id"]) in str(report["failingChannels"]) or "gone-away" in str(report["failingChannels"]), report
    assert report["deadLetters"] >= 1, report


def test_resending_a_dead_delivery_keeps_its_webhook_id(belay, receiver):
    created, secret = webhook_channel(belay, receiver.url_for("/gone"))
    receiver.respond(410, path="/gone")
    sent = send_test(belay, created["id"])
    wait_state(belay, sent["id"], "dead")
    first = receiver.received("/gone")[0]

    # The admin fixes the endpoint, turns the channel back on and re-sends the dead letter.
    patched = belay.request("PATCH", f"/api/v1/channels/{created['id']}", {"enabled": True})
    assert patched.status_code == 200, f"PATCH enabled -> {patched.status_code} {patched.text}"
    assert channel(belay, created["id"])["enabled"] is True
    resend(belay, sent["id"])
    again = receiver.wait_count(2, "/gone")[1]
    assert again.header("webhook-id") == first.header("webhook-id"), "a re-send uses the same key"
    assert verify(again, secret)["type"] == "test"
    done = wait_state(belay, sent["id"], "delivered")
    assert attempt_statuses(done)[-1] == 200, done
    assert attempt_errors(done)[-1] in (None, ""), done
