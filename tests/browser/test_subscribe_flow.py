"""A status page reader's subscription, in a real browser against a real server that sends its email through a
real SMTP relay (aiosmtpd with STARTTLS and AUTH, tests/external/notify_peers.py): subscribe with the status
page's form, confirm with the link from the email (a page with a button: the link alone confirms nothing), get
an email when the incident is updated, and leave with one click on the manage page's button.

The server runs with `--public-url https://status.example.com`, so the links in the emails name that host; the
browser opens the same path and query on the server under test (`Page.on_server`)."""
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.by import By

EXTERNAL = Path(__file__).resolve().parents[1] / "external"
PUBLIC_URL = "https://status.example.com"


def load(name):
    """A helper module of tests/external, by path (this folder has a conftest of its own)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, EXTERNAL / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


notify_peers = load("notify_peers")
notify = load("notify_support")


@pytest.fixture
def relay():
    peer = notify_peers.SMTPRelay()
    try:
        yield peer
    finally:
        peer.close()


@pytest.fixture
def belay_options(relay):
    """Overrides conftest's: a public URL (without one nobody can subscribe) and the relay."""
    return (["--public-url", PUBLIC_URL, *relay.belay_args()], {"BELAY_SMTP_PASSWORD": relay.password})


class Admin:
    """The API with an admin token made by `belay admin create-token` on the server's data directory."""

    def __init__(self, server):
        created = subprocess.run([server.binary, "admin", "create-token", "--role", "admin", "--data", server.data],
                                 check=True, capture_output=True, text=True, timeout=60)
        self.token = created.stdout.strip().splitlines()[-1]
        self.url = server.url

    def request(self, method, path, body=None, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, json=body, headers=headers, timeout=30, **kwargs)

    def api(self, method, path, body=None):
        response = self.request(method, path, body)
        assert response.status_code < 300, f"{method} {path} -> {response.status_code} {response.text[:500]}"
        return response.json() if response.content else None


def text_of(mail):
    message = mail.message()
    return "\n".join(part.get_content() for part in message.walk() if part.get_content_type() == "text/plain")


def link_in(mail, path):
    found = re.findall(re.escape(PUBLIC_URL + path) + r"\?token=[^\s\"'<>]+", text_of(mail))
    assert found, f"no {PUBLIC_URL}{path}?token=... link in the email:\n{text_of(mail)}"
    return found[0]


def form_with_field(p, name):
    for form in p.els("form"):
        if p.els(f"[name='{name}']", form):
            return form
    raise AssertionError(f"no form with a field named {name!r} on {p.d.current_url}: {p.body_text()[:600]}")


def press(p, form, label):
    """Clicks the form's (first) submit button and waits for the page it loads."""
    buttons = p.els("button, input[type=submit]", form)
    assert buttons, f"the form has no button on {p.d.current_url}"
    text = (buttons[0].text or buttons[0].get_attribute("value") or "").strip()
    p.submit(text, within=form, label=label)


def subscriber_state(admin, address):
    found = notify.subscriber_by_address(admin, address)
    return found and found.get("state")


def wait_state(admin, address, state):
    return notify.poll(lambda: subscriber_state(admin, address) == state, 30,
                       lambda: f"{address} should be {state}: {notify.subscriber_by_address(admin, address)}")


def test_subscribe_confirm_hear_an_update_and_unsubscribe(belay, relay, browsers, ui):
    admin = Admin(belay)
    notify.create_component(admin, "checkout", "Checkout")
    address = "reader@example.com"
    p = ui(browsers())

    # The status page's form, found by its field.
    p.go("/", "status-page")
    form = form_with_field(p, "email")
    p.fill("email", address, form)
    everything = p.els("input[name='all']", form)
    if everything and everything[0].get_attribute("type") == "checkbox":
        p.check(everything[0])
    press(p, form, "subscribed")
    mail = relay.wait_count(1, address)[0]
    confirm = link_in(mail, "/subscriptions/confirm")
    assert subscriber_state(admin, address) == "pending"

    # The link shows a page with a button; only the button confirms.
    p.go(p.on_server(confirm), "confirm-page")
    assert subscriber_state(admin, address) == "pending", "opening the link confirms nothing"
    posting = [f for f in p.els("form") if (f.get_attribute("method") or "").lower() == "post"]
    assert posting, f"the confirmation page has a form that POSTs: {p.body_text()[:600]}"
    press(p, posting[0], "confirmed")
    wait_state(admin, address, "confirmed")

    # An incident, then an update: the update reaches the reader's mailbox.
    incident = notify.declare(admin, "Checkout errors", message="Customers see errors at checkout.")
    relay.wait_for(lambda got: [m for m in got if "Checkout errors" in (m.message()["Subject"] or "")], address)
    notify.post_update(admin, incident["id"], "We rolled back the deploy; checkout recovers.", status="monitoring")
    update = relay.wait_for(lambda got: [m for m in got if "We rolled back the deploy" in text_of(m)], address,
                            message="the update's email")[0]

    # The manage page (linked from every email): one button, and the reader is gone.
    p.go(p.on_server(link_in(update, "/subscriptions/manage")), "manage-page")
    assert subscriber_state(admin, address) == "confirmed", "opening the manage link changes nothing"
    buttons = [b for b in p.d.find_elements(By.CSS_SELECTOR, "button, input[type=submit]")
               if "unsubscribe" in ((b.text or "") + " " + (b.get_attribute("value") or "")).lower()]
    assert buttons, f"the manage page has an Unsubscribe button: {p.body_text()[:600]}"
    form = buttons[0].find_element(By.XPATH, "./ancestor::form[1]")
    text = (buttons[0].text or buttons[0].get_attribute("value")).strip()
    p.submit(text, within=form, label="unsubscribed")
    wait_state(admin, address, "unsubscribed")
