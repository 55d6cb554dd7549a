"""Starts a real `belay serve` for tests that check Belay against the real clients of its formats."""
import json
import os
import re
import subprocess
import tempfile
import time

import pytest
import requests


def belay_binary():
    path = os.environ.get("BELAY_BIN")
    if path:
        return path
    bin_dir = subprocess.run(["swift", "build", "--show-bin-path"], check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(bin_dir, "belay")


class Belay:
    def __init__(self, binary, data):
        self.binary = binary
        self.data = data
        created = subprocess.run([binary, "admin", "create-token", "--role", "admin", "--data", data], check=True, capture_output=True, text=True)
        self.token = created.stdout.strip().splitlines()[-1]
        self.stderr_path = os.path.join(data, "serve.stderr")
        self.process = subprocess.Popen(
            [binary, "serve", "--port", "0", "--data", data, "--public-url", "https://status.example.com"],
            stdout=subprocess.DEVNULL, stderr=open(self.stderr_path, "w"))
        deadline = time.time() + 30
        while time.time() < deadline:
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", open(self.stderr_path).read())
            if match:
                self.url = f"http://127.0.0.1:{match.group(1)}"
                return
            if self.process.poll() is not None:
                raise RuntimeError("belay serve exited: " + open(self.stderr_path).read())
            time.sleep(0.05)
        raise RuntimeError("belay serve did not start")

    def api(self, method, path, body=None):
        response = requests.request(method, self.url + path, json=body, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def wait_for(self, path, text, timeout=2.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            body = requests.get(self.url + path, timeout=10).text
            if text in body:
                return body
            time.sleep(0.05)
        raise AssertionError(f"{text!r} did not appear on {path}")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def belay():
    with tempfile.TemporaryDirectory() as data:
        server = Belay(belay_binary(), data)
        try:
            yield server
        finally:
            server.stop()
