"""Belay's notifications API as docs/notifications.md describes it (channels, deliveries, health, subscribers), and
the incident calls that make something to announce. Works with any server object that has `request(method, path,
body)` and `api(method, path, body)`: the external harness's `Belay` and the resilience harness's `BelayProcess`.

Where the doc leaves a JSON name open (an attempt's status code, whether an answer wraps its object), the helpers
here say which spellings they take, in one place."""
import time
import urllib.parse
from html.parser import HTMLParser

PUBLIC_URL = "https://status.example.com"  # what both harnesses pass as --public-url


def war_room(incident_id):
    return f"{PUBLIC_URL}/app/incidents/{incident_id}"


def unwrap(body, key):
    """An object the API answers either bare or wrapped as {key: {...}}."""
    if isinstance(body, dict) and isinstance(body.get(key), dict):
        return body[key]
    return body


def poll(condition, timeout, message, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout} s: {message() if callable(message) else message}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------- channels

def create_channel(server, **fields):
    """POST /api/v1/channels; (channel, secret): the doc promises 201 and, for a webhook, the secret once."""
    response = server.request("POST", "/api/v1/channels", fields)
    assert response.status_code == 201, f"POST /api/v1/channels {fields} -> {response.status_code} {response.text}"
    body = response.json()
    channel = unwrap(body, "channel")
    secret = body.get("secret") if isinstance(body, dict) and "secret" in body else channel.get("secret")
    assert channel.get("id") is not None, f"the answer names the channel's id: {body}"
    return channel, secret


def webhook_channel(server, url, name="receiver", allow_loopback=True, **fields):
    """A webhook channel to `url`; with `allow_loopback` its allowedNetworks admit 127.0.0.1 (refused by default)."""
    if allow_loopback:
        fields.setdefault("allowedNetworks", ["127.0.0.1/32"])
    channel, secret = create_channel(server, name=name, kind="webhook", url=url, **fields)
    assert isinstance(secret, str) and secret.startswith("whsec_"), f"a webhook channel's answer carries its whsec_ secret: {channel}"
    return channel, secret


def channel(server, channel_id):
    return unwrap(server.api("GET", f"/api/v1/channels/{channel_id}"), "channel")


def send_test(server, channel_id):
    """POST /api/v1/channels/{id}/test: 202 with the test delivery."""
    response = server.request("POST", f"/api/v1/channels/{channel_id}/test")
    assert response.status_code == 202, f"POST /api/v1/channels/{channel_id}/test -> {response.status_code} {response.text}"
    delivery = unwrap(response.json(), "delivery")
    assert delivery.get("id") is not None, f"the answer is the test delivery: {response.text}"
    return delivery


# ---------------------------------------------------------------------------------------------- deliveries

def deliveries(server, **query):
    path = "/api/v1/deliveries" + ("?" + urllib.parse.urlencode({k: str(v) for k, v in query.items()}) if query else "")
    body = server.api("GET", path)
    assert isinstance(body, dict) and isinstance(body.get("deliveries"), list), f"GET {path} answers {{\"deliveries\": [...]}}: {body}"
    return body["deliveries"]


def delivery(server, delivery_id):
    """GET /api/v1/deliveries/{id}: the delivery with its `attempts`."""
    body = server.api("GET", f"/api/v1/deliveries/{delivery_id}")
    found = unwrap(body, "delivery")
    if "attempts" not in found and isinstance(body, dict) and "attempts" in body:
        found = {**found, "attempts": body["attempts"]}
    assert isinstance(found.get("attempts"), list), f"GET /api/v1/deliveries/{delivery_id} adds `attempts`: {body}"
    return found


def attempt_status(attempt):
    """An attempt's HTTP status code (the doc says each attempt is logged 'with its status code'; the name is
    not given: statusCode, or status/code when that is a number)."""
    for key in ("statusCode", "status", "code", "httpStatus"):
        if isinstance(attempt.get(key), int):
            return attempt[key]
    return None


def attempt_statuses(found):
    return [attempt_status(a) for a in found["attempts"]]


def attempt_errors(found):
    return [a.get("error") for a in found["attempts"]]


def wait_delivery(server, delivery_id, condition, timeout=30, message="the delivery did not reach the expected state"):
    """Polls GET /deliveries/{id} until `condition(delivery)`; returns the delivery."""
    last = {}

    def probe():
        last["value"] = delivery(server, delivery_id)
        return last["value"] if condition(last["value"]) else None

    return poll(probe, timeout, lambda: f"{message}: {last.get('value')}")


def wait_state(server, delivery_id, *states, timeout=30):
    return wait_delivery(server, delivery_id, lambda d: d.get("state") in states, timeout,
                         f"delivery {delivery_id} should become {' or '.join(states)}")


def resend(server, delivery_id):
    response = server.request("POST", f"/api/v1/deliveries/{delivery_id}/resend")
    assert response.status_code == 202, f"POST /api/v1/deliveries/{delivery_id}/resend -> {response.status_code} {response.text}"
    return response


def health(server):
    response = server.request("GET", "/api/v1/notifications/health")
    assert response.status_code == 200, f"/api/v1/notifications/health answers 200 whatever its status: {response.status_code} {response.text}"
    body = response.json()
    for key in ("status", "failingChannels", "deadLetters", "pending", "subscribers"):
        assert key in body, f"/api/v1/notifications/health has {key!r}: {body}"
    return body


# ---------------------------------------------------------------------------------------------- incidents

def create_component(server, slug, name):
    return server.api("POST", "/api/v1/components", {"slug": slug, "name": name})


def declare(server, title, components=(("checkout", "major_outage"),), severity="sev2", message=None, public=True):
    body = {"title": title, "severity": severity, "isPublic": public,
            "components": [{"slug": slug, "impact": impact} for slug, impact in components]}
    if message is not None:
        body["message"] = message
    response = server.request("POST", "/api/v1/incidents", body)
    assert response.status_code == 201, f"POST /api/v1/incidents -> {response.status_code} {response.text}"
    return response.json()


def post_update(server, incident_id, message, status=None, **extra):
    body = {"message": message, **({"status": status} if status else {}), **extra}
    response = server.request("POST", f"/api/v1/incidents/{incident_id}/updates", body)
    assert response.status_code == 201, f"POST /api/v1/incidents/{incident_id}/updates -> {response.status_code} {response.text}"
    return response.json()


def resolve(server, incident_id, message):
    return server.api("POST", f"/api/v1/incidents/{incident_id}/resolve", {"message": message})


# ---------------------------------------------------------------------------------------------- subscribers

def subscribers(server, **query):
    path = "/api/v1/subscribers" + ("?" + urllib.parse.urlencode(query) if query else "")
    body = server.api("GET", path)
    return body["subscribers"] if isinstance(body, dict) and "subscribers" in body else body


def subscriber_by_address(server, address):
    """The subscriber whose address (email, or url for a webhook one) is `address`, whatever the field is called."""
    for found in subscribers(server):
        if address in [found.get(key) for key in ("email", "address", "url", "target", "destination")]:
            return found
    return None


def on_server(server, url):
    """The same path and query on the server under test (links in messages name --public-url's host)."""
    parts = urllib.parse.urlsplit(url)
    return server.url + parts.path + (f"?{parts.query}" if parts.query else "")


# ---------------------------------------------------------------------------------------------- HTML forms

class Form:
    def __init__(self, action, method):
        self.action = action
        self.method = method
        self.fields = []  # [(name, value, type)]
        self.buttons = []  # [(text, name, value)]

    def names(self):
        return [name for name, _, _ in self.fields]

    def values(self, **overrides):
        """The fields a browser would send (hidden and pre-filled ones, checked boxes), with `overrides`."""
        data = [(name, value) for name, value, kind in self.fields if name and not kind.startswith(("checkbox", "radio", "submit", "button"))]
        data += [(name, value) for name, value, kind in self.fields if name and kind in ("checkbox checked", "radio checked")]
        data = [(n, v) for n, v in data if n not in overrides] + list(overrides.items())
        return data

    def __repr__(self):
        return f"<form {self.method} {self.action} {self.fields} {self.buttons}>"


def forms(html):
    """The forms on a page, with their inputs, textareas, selects and buttons."""
    found = []

    class Parser(HTMLParser):
        button = None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "form":
                found.append(Form(a.get("action") or "", (a.get("method") or "get").lower()))
            elif not found:
                return
            elif tag == "input":
                kind = (a.get("type") or "text").lower()
                if kind in ("checkbox", "radio") and "checked" in a:
                    kind += " checked"
                if kind == "submit":
                    found[-1].buttons.append((a.get("value") or "", a.get("name"), a.get("value")))
                found[-1].fields.append((a.get("name"), a.get("value") or ("on" if kind.startswith(("checkbox", "radio")) else ""), kind))
            elif tag in ("textarea", "select"):
                found[-1].fields.append((a.get("name"), "", tag))
            elif tag == "button":
                self.button = [a.get("name"), a.get("value"), ""]

        def handle_data(self, data):
            if self.button is not None:
                self.button[2] += data

        def handle_endtag(self, tag):
            if tag == "button" and self.button is not None and found:
                name, value, text = self.button
                found[-1].buttons.append((text.strip(), name, value))
                self.button = None

    Parser().feed(html)
    return found


def submit(session_or_requests, page_url, form, **overrides):
    """Sends `form` as a browser would (its action resolved against the page it is on)."""
    target = urllib.parse.urljoin(page_url, form.action) if form.action else page_url
    data = form.values(**overrides)
    if form.method == "post":
        return session_or_requests.post(target, data=data, allow_redirects=True, timeout=30)
    return session_or_requests.get(target, params=data, allow_redirects=True, timeout=30)
