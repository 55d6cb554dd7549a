"""The peers Belay's notifications talk to, run in the test process: an HTTP receiver (the stand-in for a webhook
endpoint, Slack, Teams or Discord) and an SMTP relay (aiosmtpd, with STARTTLS and AUTH as a real relay has them).

    receiver = HTTPReceiver()                      # http://127.0.0.1:PORT, answers 200 unless scripted
    receiver.respond((500, {}), 200, path="/hook") # the next two requests to /hook get 500, then 200
    receiver.wait_for(lambda got: len(got) >= 2, path="/hook")

    relay = SMTPRelay(user="belay", password="...", reject={"bounce@example.com"})
    relay.ca_path                                   # the self-signed certificate, for `belay serve --smtp-ca`

Both record everything they were sent (a request's headers, raw body and arrival time; a message's envelope and
raw bytes), so a test judges what Belay actually put on the wire. `receiver` and `smtp_relay` are pytest
fixtures wrapping them, which conftest.py makes available to every test here.

Nothing here imports the harness (conftest.py, support.py), so the browser and resilience tests can load this
file too (`load_notify_peers()` in their own modules)."""
import collections
import email
import email.policy
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import pytest


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def poll(condition, timeout, message, interval=0.05):
    """Calls `condition` until it returns something truthy and returns that; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout} s: {message() if callable(message) else message}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------- HTTP receiver

class RecordedRequest:
    """One request as it arrived: `headers` keeps every header as sent (`header()` looks one up by any case)."""

    def __init__(self, method, path, headers, body, answered, peer=None):
        self.method = method
        self.path = path
        self.headers = headers  # [(name, value)] in order
        self.body = body        # bytes, exactly as read off the socket (chunked encoding undone)
        self.at = time.time()
        self.monotonic = time.monotonic()
        self.answered = answered  # the status the receiver answered
        self.peer = peer          # the sender's (host, port): which process sent it, while the connection is open

    def header(self, name, default=None):
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return default

    def header_dict(self):
        """Headers as a plain dict (last one wins), the shape webhook verifiers take."""
        return {key: value for key, value in self.headers}

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.method} {self.path} {self.answered} at {self.at:.3f}: {self.body[:300]!r}>"


class HTTPReceiver:
    """A threaded HTTP/1.1 server on 127.0.0.1 and a free port that records every request. `respond()` scripts the
    answers: each request takes the next scripted answer for its path (or, failing that, for any path); with
    none left it answers 200. `on_request(request)`, if given, runs after a request is recorded and before it is
    answered (a crash test kills the sender there, so that one delivery is sent but never acknowledged)."""

    def __init__(self, on_request=None):
        self.requests = []
        self.on_request = on_request  # called with each RecordedRequest before it is answered
        self._lock = threading.Lock()
        self._scripts = collections.defaultdict(collections.deque)  # path (or None: any) -> answers
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _read_body(self):
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailers
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _handle(self):
                body = self._read_body()
                path = self.path.split("?")[0]
                status, headers, payload = receiver._next_answer(path)
                recorded = RecordedRequest(self.command, self.path, list(self.headers.items()), body, status, self.client_address)
                with receiver._lock:
                    receiver.requests.append(recorded)
                if receiver.on_request is not None:
                    receiver.on_request(recorded)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, str(value))
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if payload:
                    self.wfile.write(payload)

            do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = _handle

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url_for(self, path):
        return self.url + path

    def respond(self, *answers, path=None):
        """Queues answers: each an int status, a (status, headers) pair or (status, headers, body bytes)."""
        with self._lock:
            for answer in answers:
                if isinstance(answer, int):
                    answer = (answer, {})
                status, headers, *rest = answer
                self._scripts[path].append((status, dict(headers), rest[0] if rest else b""))

    def _next_answer(self, path):
        with self._lock:
            for key in (path, None):
                if self._scripts.get(key):
                    return self._scripts[key].popleft()
        return 200, {"Content-Type": "text/plain"}, b"ok"

    def received(self, path=None):
        with self._lock:
            return [r for r in self.requests if path is None or r.path.split("?")[0] == path]

    def wait_for(self, condition, path=None, timeout=30, message="the receiver did not get what was expected"):
        """Polls `condition(requests so far on path)` until it is truthy; returns its value."""
        return poll(lambda: condition(self.received(path)), timeout,
                    lambda: f"{message}; it got {self.received(path)}", interval=0.05)

    def wait_count(self, count, path=None, timeout=30):
        return self.wait_for(lambda got: got if len(got) >= count else None, path, timeout,
                             f"expected at least {count} requests on {path or 'any path'}")

    def close(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver():
    peer = HTTPReceiver()
    try:
        yield peer
    finally:
        peer.close()


# ---------------------------------------------------------------------------------------------- SMTP relay

def self_signed_certificate(directory):
    """(certificate path, key path): a self-signed certificate for localhost and 127.0.0.1, valid one day."""
    cert, key = os.path.join(directory, "relay.crt"), os.path.join(directory, "relay.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class ReceivedMail:
    """One message the relay accepted: its envelope, the raw bytes of DATA, and how the client got there."""

    def __init__(self, mail_from, rcpt_tos, raw, peer, tls, login):
        self.mail_from = mail_from
        self.rcpt_tos = rcpt_tos
        self.raw = raw
        self.peer = peer      # (host, port) of the client's connection
        self.tls = tls        # STARTTLS was done before this message
        self.login = login    # the user it authenticated as
        self.at = time.time()

    def message(self):
        return email.message_from_bytes(self.raw, policy=email.policy.default)

    def __repr__(self):
        return f"<mail from {self.mail_from} to {self.rcpt_tos}: {self.message().get('Subject')!r}>"


class SMTPRelay:
    """aiosmtpd on 127.0.0.1 and a free port, as a submission relay is: STARTTLS with a self-signed certificate
    (`ca_path`), AUTH PLAIN and LOGIN only after STARTTLS, one user and password, and mail refused without AUTH.
    Recipients in `reject` get `550 5.1.1` at RCPT TO. `auth_attempts` lists (mechanism, login, accepted)."""

    def __init__(self, user="belay", password="relay-secret-0123", reject=()):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.user = user
        self.password = password
        self.reject = {address.lower() for address in reject}
        self.messages = []
        self.auth_attempts = []
        self.rejected = []  # recipients refused at RCPT
        self._lock = threading.Lock()
        self.directory = tempfile.mkdtemp(prefix="belay-smtp-")
        self.ca_path, key = self_signed_certificate(self.directory)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.ca_path, key)
        relay = self

        def authenticate(server, session, envelope, mechanism, auth_data):
            login = auth_data.login.decode(errors="replace") if isinstance(auth_data.login, bytes) else str(auth_data.login)
            password = auth_data.password.decode(errors="replace") if isinstance(auth_data.password, bytes) else str(auth_data.password)
            accepted = login == relay.user and password == relay.password
            with relay._lock:
                relay.auth_attempts.append((mechanism, login, accepted))
            return AuthResult(success=accepted, handled=False, auth_data=login if accepted else None)

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if address.lower() in relay.reject:
                    with relay._lock:
                        relay.rejected.append(address)
                    return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                raw = envelope.original_content if envelope.original_content is not None else envelope.content
                with relay._lock:
                    relay.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), bytes(raw),
                                                       session.peer, session.ssl is not None, session.auth_data))
                return "250 2.0.0 Ok: queued"

        self.port = free_port()
        self.host = "127.0.0.1"
        self.url = f"smtp://{self.host}:{self.port}"
        self._controller = Controller(Handler(), hostname=self.host, port=self.port, server_hostname="localhost",
                                      tls_context=context, require_starttls=True, authenticator=authenticate,
                                      auth_required=True, auth_require_tls=True, decode_data=False)
        self._controller.start()

    def received(self, recipient=None):
        with self._lock:
            return [m for m in self.messages if recipient is None or recipient.lower() in [r.lower() for r in m.rcpt_tos]]

    def wait_for(self, condition, recipient=None, timeout=30, message="the relay did not get what was expected"):
        return poll(lambda: condition(self.received(recipient)), timeout,
                    lambda: f"{message}; it got {self.received(recipient)} (auth attempts {self.auth_attempts}, rejected {self.rejected})")

    def wait_count(self, count, recipient=None, timeout=30):
        return self.wait_for(lambda got: got if len(got) >= count else None, recipient, timeout,
                             f"expected at least {count} messages" + (f" to {recipient}" if recipient else ""))

    def belay_args(self, user=None, sender="Status <status@example.com>"):
        """The `belay serve` flags that send through this relay (the password goes in BELAY_SMTP_PASSWORD)."""
        return ["--smtp-url", self.url, "--smtp-security", "starttls", "--smtp-ca", self.ca_path,
                "--smtp-user", user or self.user, "--smtp-from", sender, "--smtp-allow", "127.0.0.1/32"]

    def close(self):
        try:
            self._controller.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def smtp_relay():
    relay = SMTPRelay(reject={"bounce@example.com"})
    try:
        yield relay
    finally:
        relay.close()
