"""Belay's email, through a real SMTP relay: aiosmtpd on 127.0.0.1 with STARTTLS (a self-signed certificate that
Belay trusts through `--smtp-ca`) and AUTH PLAIN/LOGIN allowed only after STARTTLS, as a submission relay is. What
the relay receives is parsed with Python's own email package (the RFC 5322/MIME parser mail clients are built
like), so headers, multipart structure and links are checked as a mail client would see them. Through it the
test walks the status page subscriber's path of docs/notifications.md: double opt-in that a mail scanner's GET
cannot complete, a subscriber email with RFC 8058 one-click unsubscribe that works without a cookie, internal
incidents that never go out, and a 550 bounce that stops the address. A wrong relay password must fail readably
without the password showing anywhere.

    BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/external/test_notify_email.py
"""
import email.utils
import re

import pytest
import requests

from notify_support import (PUBLIC_URL, attempt_errors, channel, create_channel, create_component, declare, deliveries, delivery,
                            forms, on_server, poll, subscriber_by_address, submit, wait_state, war_room)

SENDER = "Status <status@example.com>"
CONFIRM_LINK = re.compile(re.escape(PUBLIC_URL) + r"/subscriptions/confirm\?token=[^\s\"'<>]+")
MANAGE_LINK = re.compile(re.escape(PUBLIC_URL) + r"/subscriptions/manage\?token=[^\s\"'<>]+")
UNSUBSCRIBE_HEADER = re.compile(r"<(" + re.escape(PUBLIC_URL) + r"/subscriptions/unsubscribe\?token=[^\s<>]+)>")


@pytest.fixture
def mailing(start_belay, smtp_relay):
    """A server that sends through the relay; (belay, relay)."""
    server = start_belay(*smtp_relay.belay_args(sender=SENDER), env={"BELAY_SMTP_PASSWORD": smtp_relay.password})
    return server, smtp_relay


def parts(message):
    """{content type: decoded text} of a message's leaves."""
    return {part.get_content_type(): part.get_content() for part in message.walk() if not part.is_multipart()}


def plain_text(message):
    found = parts(message)
    assert "text/plain" in found, f"no text/plain part: {list(found)}"
    return found["text/plain"]


def state_of(belay, address):
    found = subscriber_by_address(belay, address)
    return found and found.get("state")


def wait_subscriber_state(belay, address, state, timeout=30):
    return poll(lambda: state_of(belay, address) == state and subscriber_by_address(belay, address), timeout,
                lambda: f"subscriber {address} should be {state}: {subscriber_by_address(belay, address)}")


def subscribe(belay, address):
    """POST /subscribe as the status page's form does, with no session or token of any kind."""
    response = requests.post(belay.url + "/subscribe", data={"email": address, "all": "1"}, timeout=30, allow_redirects=True)
    assert response.status_code < 400, f"POST /subscribe -> {response.status_code} {response.text[:500]}"
    return response


def confirmation_link(relay, address):
    mail = relay.wait_count(1, address)[0]
    message = mail.message()
    found = CONFIRM_LINK.findall(plain_text(message))
    assert found, f"the confirmation email to {address} carries {PUBLIC_URL}/subscriptions/confirm?token=...:\n{plain_text(message)}"
    return found[0]


def confirm(belay, relay, address):
    """Subscribes `address` and completes the double opt-in the way a person does: opens the link (a GET that
    only shows a page) and presses its button (the POST)."""
    subscribe(belay, address)
    link = on_server(belay, confirmation_link(relay, address))
    page = requests.get(link, timeout=30)
    assert page.status_code == 200, f"GET the confirmation link -> {page.status_code} {page.text[:500]}"
    posting = [f for f in forms(page.text) if f.method == "post"]
    assert posting, f"the confirmation page shows a form that POSTs: {page.text[:1500]}"
    answer = submit(requests, link, posting[0])
    assert answer.status_code < 400, f"POST the confirmation form -> {answer.status_code} {answer.text[:500]}"
    return wait_subscriber_state(belay, address, "confirmed")


def test_an_email_channel_gets_multipart_messages(mailing):
    belay, relay = mailing
    create_component(belay, "checkout", "Checkout")
    create_channel(belay, name="on-call mail", kind="email", recipients=["oncall@example.com", "lead@example.com"])
    incident = declare(belay, "Checkout errors", message="Customers see errors at checkout.")

    mail = relay.wait_count(1, "oncall@example.com")[0]
    other = relay.wait_count(1, "lead@example.com")[0]
    assert other.peer == mail.peer, "one connection carries the channel's messages (docs/notifications.md, Email)"
    assert mail.mail_from == "status@example.com", f"envelope sender from --smtp-from: {mail.mail_from!r}"
    assert mail.tls, "the message went over STARTTLS"
    assert mail.login == relay.user, "Belay authenticated as --smtp-user"

    message = mail.message()
    sender = message["From"].addresses
    assert [(a.display_name, a.addr_spec) for a in sender] == [("Status", "status@example.com")], message["From"]
    assert mail.rcpt_tos == ["oncall@example.com"] or set(mail.rcpt_tos) == {"oncall@example.com", "lead@example.com"}, mail.rcpt_tos
    shown = {a.addr_spec for header in ("To", "Cc") if message[header] for a in message[header].addresses}
    assert set(mail.rcpt_tos) <= shown, f"To names the recipients: To {message['To']!r}, envelope {mail.rcpt_tos}"
    assert "Checkout errors" in message["Subject"], message["Subject"]
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", message["Message-ID"].strip()), f"Message-ID: {message['Message-ID']!r}"
    sent_at = email.utils.parsedate_to_datetime(message["Date"])
    assert sent_at.tzinfo is not None, f"Date carries a zone: {message['Date']!r}"
    assert message.get_content_type() == "multipart/alternative", message.get_content_type()
    found = parts(message)
    assert set(found) >= {"text/plain", "text/html"}, list(found)
    for kind in ("text/plain", "text/html"):
        assert "Checkout errors" in found[kind], f"{kind} names the incident:\n{found[kind]}"
        assert war_room(incident["id"]) in found[kind], f"{kind} links the war room:\n{found[kind]}"

    sent = [d for d in deliveries(belay, incident=incident["id"]) if d.get("state") == "delivered"]
    assert sent, f"the email delivery is delivered: {deliveries(belay, incident=incident['id'])}"


def test_double_opt_in_then_one_click_unsubscribe(mailing):
    belay, relay = mailing
    create_component(belay, "checkout", "Checkout")
    address = "reader@example.com"
    subscribe(belay, address)
    link = confirmation_link(relay, address)
    assert state_of(belay, address) == "pending", subscriber_by_address(belay, address)

    # A mail scanner opens the link: it gets a page with a form, and nothing is confirmed.
    page = requests.get(on_server(belay, link), timeout=30)
    assert page.status_code == 200, page.text[:500]
    posting = [f for f in forms(page.text) if f.method == "post"]
    assert posting, f"the confirmation page shows a form that POSTs: {page.text[:1500]}"
    requests.get(on_server(belay, link), timeout=30)
    assert state_of(belay, address) == "pending", f"a GET never confirms: {subscriber_by_address(belay, address)}"

    # The person presses the button.
    answer = submit(requests, on_server(belay, link), posting[0])
    assert answer.status_code < 400, answer.text[:500]
    wait_subscriber_state(belay, address, "confirmed")

    declare(belay, "Checkout errors", message="Customers see errors at checkout.")
    update = relay.wait_for(lambda got: [m for m in got if "Checkout errors" in (m.message()["Subject"] or "")], address,
                            message="the subscriber hears of the public incident")[0]
    message = update.message()
    unsubscribe = UNSUBSCRIBE_HEADER.fullmatch((message["List-Unsubscribe"] or "").strip())
    assert unsubscribe, f"List-Unsubscribe: <{PUBLIC_URL}/subscriptions/unsubscribe?token=...>, got {message['List-Unsubscribe']!r}"
    assert (message["List-Unsubscribe-Post"] or "").strip() == "List-Unsubscribe=One-Click", message["List-Unsubscribe-Post"]
    text = plain_text(message)
    assert MANAGE_LINK.search(text), f"every email carries a manage link:\n{text}"
    assert "/app/incidents/" not in "\n".join(parts(message).values()), "a subscriber gets the public page's link, not the war room's"

    # RFC 8058: the mailbox provider POSTs the header's URL with this body, no cookie, no page in between.
    one_click = requests.post(on_server(belay, unsubscribe.group(1)), data="List-Unsubscribe=One-Click",
                              headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30, allow_redirects=False)
    assert 200 <= one_click.status_code < 300, f"one-click unsubscribe -> {one_click.status_code} {one_click.text[:500]}"
    wait_subscriber_state(belay, address, "unsubscribed")


def test_internal_incidents_never_reach_subscribers(mailing):
    belay, relay = mailing
    for slug, name in (("payments", "Payments"), ("search", "Search")):
        create_component(belay, slug, name)
    address = "follower@example.com"
    confirm(belay, relay, address)
    before = len(relay.received(address))

    declare(belay, "Internal payments drill", components=(("payments", "major_outage"),), public=False, message="Drill.")
    declare(belay, "Search is slow", components=(("search", "degraded_performance"),), message="Looking into it.")
    # Events go out in order: once the later public incident's email is here, the internal one had its turn.
    relay.wait_for(lambda got: [m for m in got if "Search is slow" in (m.message()["Subject"] or "")], address)
    subjects = [m.message()["Subject"] for m in relay.received(address)[before:]]
    bodies = "\n".join(m.raw.decode(errors="replace") for m in relay.received(address)[before:])
    assert "Internal payments drill" not in bodies and not any("Internal payments drill" in s for s in subjects), subjects


def test_a_550_bounce_stops_the_subscriber(mailing):
    belay, relay = mailing
    create_component(belay, "checkout", "Checkout")
    address = "leaving@example.com"
    subscriber = confirm(belay, relay, address)
    relay.reject.add(address)  # the mailbox is deleted after it confirmed

    declare(belay, "Checkout errors", message="Customers see errors at checkout.")
    poll(lambda: address in relay.rejected, 60, f"the relay should see RCPT TO {address}")
    found = poll(lambda: [d for d in deliveries(belay, subscriber=subscriber["id"]) if d.get("state") == "dead"], 30,
                 lambda: f"a 5xx reply makes the delivery dead: {deliveries(belay, subscriber=subscriber['id'])}")
    errors = attempt_errors(delivery(belay, found[0]["id"]))
    assert any(e and "550" in e for e in errors), f"the attempt shows the relay's 550: {errors}"
    wait_subscriber_state(belay, address, "stopped")


def test_a_wrong_smtp_password_fails_readably_without_showing_it(start_belay, smtp_relay):
    wrong = "not-the-relay-password-5f2b9c"
    belay = start_belay(*smtp_relay.belay_args(sender=SENDER), env={"BELAY_SMTP_PASSWORD": wrong})
    create_component(belay, "checkout", "Checkout")
    created, _ = create_channel(belay, name="on-call mail", kind="email", recipients=["oncall@example.com"])
    incident = declare(belay, "Checkout errors", message="Customers see errors at checkout.")

    listed = poll(lambda: deliveries(belay, incident=incident["id"]), 30, "a delivery for the email channel")
    failed = wait_state(belay, listed[0]["id"], "failed", "dead")
    error = attempt_errors(failed)[0]
    assert error and ("auth" in error.lower() or "535" in error), f"the error says authentication failed: {error!r}"
    assert any(login == smtp_relay.user and not accepted for _, login, accepted in smtp_relay.auth_attempts), smtp_relay.auth_attempts
    assert smtp_relay.received() == []

    for place, text in (("the attempt's error", str(failed)), ("the channel", str(channel(belay, created["id"]))),
                        ("the deliveries list", str(deliveries(belay))), ("the server's log", belay.log())):
        assert wrong not in text, f"the SMTP password shows in {place}"


def test_the_relays_certificate_is_verified(start_belay, smtp_relay):
    """Without --smtp-ca the relay's self-signed certificate is not trusted: nothing is sent, and the password is
    not offered to a relay Belay could not verify."""
    args = smtp_relay.belay_args(sender=SENDER)
    at = args.index("--smtp-ca")
    belay = start_belay(*(args[:at] + args[at + 2:]), env={"BELAY_SMTP_PASSWORD": smtp_relay.password})
    create_component(belay, "checkout", "Checkout")
    create_channel(belay, name="on-call mail", kind="email", recipients=["oncall@example.com"])
    incident = declare(belay, "Checkout errors", message="Customers see errors at checkout.")

    listed = poll(lambda: deliveries(belay, incident=incident["id"]), 30, "a delivery for the email channel")
    error = attempt_errors(wait_state(belay, listed[0]["id"], "failed", "dead"))[0] or ""
    assert any(word in error.lower() for word in ("certificate", "verif", "tls", "ssl", "trust")), \
        f"the error says the relay's certificate was not trusted: {error!r}"
    assert smtp_relay.auth_attempts == [], "no AUTH over a connection whose certificate failed"
    assert smtp_relay.received() == []
