"""Subscribers moved in and out as CSV, through a real SMTP relay (aiosmtpd with STARTTLS and AUTH).

The sample `fixtures/statuspage-subscribers.csv` has the columns of Atlassian Statuspage's subscriber records
(`id, mode, email, endpoint, created_at, quarantined_at, purge_at, components`, and the `state` its API filters
by: active, unconfirmed, quarantined). No real export could be fetched here, so the file follows those
documented fields. The import must keep only Statuspage's confirmed (active) email subscribers confirmed, send
everyone else a new opt-in and nothing more, skip what it cannot import with a reason, and the export must
neutralise cells a spreadsheet would run as a formula while reading back as it was.

    BELAY_BIN=.build/debug/belay python3 -m pytest -q tests/external/test_notify_import.py
"""
import csv
import io
import os
import time

import pytest
import requests

from notify_support import create_component, declare

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "fixtures", "statuspage-subscribers.csv")


@pytest.fixture
def mailing(start_belay, smtp_relay):
    server = start_belay(*smtp_relay.belay_args(sender="Status <status@example.com>"), env={"BELAY_SMTP_PASSWORD": smtp_relay.password})
    return server, smtp_relay


def upload(belay, body):
    response = requests.post(belay.url + "/api/v1/subscribers/import", data=body, timeout=60,
                             headers={"Authorization": f"Bearer {belay.token}", "Content-Type": "text/csv"})
    return response


def subscribers(belay):
    return {s["address"]: s for s in belay.api("GET", "/api/v1/subscribers")["subscribers"]}


def test_a_statuspage_export_keeps_only_confirmed_subscribers_confirmed(mailing):
    belay, relay = mailing
    create_component(belay, "api", "API")
    create_component(belay, "database", "Database")
    with open(SAMPLE, "rb") as handle:
        response = upload(belay, handle.read())
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["imported"], result["confirmed"], result["pendingConfirmation"]) == (4, 2, 2), result
    # The webhook row cannot be imported (its secret could never be shown), and says so.
    assert result["skipped"] == 1 and any("webhook" in error for error in result["errors"]), result
    found = subscribers(belay)
    assert found["alice@example.com"]["state"] == "confirmed"
    assert sorted(found["alice@example.com"]["components"]) == ["api", "database"]
    assert found["bob@example.com"]["state"] == "pending"
    # Quarantined by Statuspage: not confirmed here either.
    assert found["carol@example.com"]["state"] == "pending"
    assert found["=1+2@example.com"]["state"] == "confirmed"

    # The two unconfirmed get an opt-in, and only they.
    relay.wait_count(1, "bob@example.com")
    relay.wait_count(1, "carol@example.com")
    time.sleep(2)
    assert len(relay.received("alice@example.com")) == 0

    # A public incident reaches the confirmed ones only.
    declare(belay, "Checkout errors", components=[("api", "major_outage")])
    relay.wait_count(1, "alice@example.com")
    time.sleep(2)
    assert len(relay.received("bob@example.com")) == 1 and len(relay.received("carol@example.com")) == 1


def test_the_export_neutralises_formulas_and_imports_back_unchanged(mailing):
    belay, relay = mailing
    rows = "email,confirmed\n+1@example.com,yes\n-x@example.com,yes\nplain@example.com,yes\n"
    assert upload(belay, rows.encode()).status_code == 200
    exported = requests.get(belay.url + "/api/v1/subscribers/export", timeout=30, headers={"Authorization": f"Bearer {belay.token}"})
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    addresses = sorted(row["address"] for row in table)
    assert addresses == ["'+1@example.com", "'-x@example.com", "plain@example.com"], addresses
    # Importing the export again changes nothing and makes no new subscriber out of the neutralised cells.
    again = upload(belay, exported.content).json()
    assert again["imported"] == 3 and again["pendingConfirmation"] == 0, again
    assert sorted(subscribers(belay)) == ["+1@example.com", "-x@example.com", "plain@example.com"]


def test_malformed_files_are_refused_and_change_nothing(mailing):
    belay, _ = mailing
    assert upload(belay, b'email\n"never closed\n').status_code == 422
    assert upload(belay, b"name,phone\nx,1\n").status_code == 422
    assert upload(belay, b"\xff\xfe\x00").status_code == 400
    assert subscribers(belay) == {}
