#!/usr/bin/env python3
"""bench/notify: what 10,000 email subscribers cost (see bench/README.md).

1. The API call that posts an incident update, timed (p50, p99) with 0 and with 10,000 confirmed email
   subscribers: the outbox takes the fan-out, so the call should not notice it.
2. Fan-out: after one update, the time until a local SMTP sink (aiosmtpd, plain SMTP on 127.0.0.1) has
   received the message for every one of the 10,000 subscribers (goal: within 60 s).

    BELAY_BIN=.build/release/belay python3 bench/notify.py [--subscribers 10000] [--samples 30]
"""
import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sink:
    """Counts messages by subject; stores nothing else."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_subject = {}
        self.first_at = {}
        self.last_at = {}
        self.total = 0

    async def handle_DATA(self, server, session, envelope):
        subject = ""
        for line in envelope.content.split(b"\r\n"):
            if not line:
                break
            if line.lower().startswith(b"subject:"):
                subject = line[8:].strip().decode("ascii", "replace")
        now = time.monotonic()
        with self.lock:
            self.total += 1
            self.by_subject[subject] = self.by_subject.get(subject, 0) + 1
            self.first_at.setdefault(subject, now)
            self.last_at[subject] = now
        return "250 OK"


class Belay:
    def __init__(self, binary, smtp_port):
        self.binary = binary
        self.data = tempfile.mkdtemp(prefix="belay-bench-notify-")
        out = subprocess.run([binary, "admin", "create-token", "--role", "admin", "--data", self.data],
                             check=True, capture_output=True, text=True).stdout.strip().splitlines()
        self.token = out[-1]
        self.port = free_port()
        self.log = open(os.path.join(self.data, "serve.log"), "w")
        self.process = subprocess.Popen(
            [binary, "serve", "--port", str(self.port), "--data", self.data, "--public-url", "https://status.example.com",
             "--smtp-url", f"smtp://127.0.0.1:{smtp_port}", "--smtp-security", "none", "--smtp-from", "Status <status@example.com>",
             "--smtp-allow", "127.0.0.1/32", "--log-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=self.log)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/api/v1/health", timeout=2)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("belay did not start")

    def call(self, method, path, body=None, content_type="application/json"):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Authorization": f"Bearer {self.token}", "Content-Type": content_type})
        with urllib.request.urlopen(request, timeout=120) as response:
            text = response.read()
            return json.loads(text) if text else None

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def time_updates(belay, incident, samples, label):
    timings = []
    for index in range(samples):
        started = time.perf_counter()
        belay.call("POST", f"/api/v1/incidents/{incident}/updates", {"message": f"{label} update {index}"})
        timings.append((time.perf_counter() - started) * 1000)
        time.sleep(0.05)
    return {"samples": samples, "p50_ms": round(percentile(timings, 0.5), 2), "p99_ms": round(percentile(timings, 0.99), 2),
            "max_ms": round(max(timings), 2)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    binary = os.environ.get("BELAY_BIN") or ".build/release/belay"

    sink = Sink()
    smtp_port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    result = {"subscribers": args.subscribers, "samples": args.samples, "binary": binary, "nproc": os.cpu_count(),
              "loadavg_1m_before": os.getloadavg()[0]}
    try:
        # With no subscriber.
        belay = Belay(binary, smtp_port)
        incident = belay.call("POST", "/api/v1/incidents", {"title": "Bench without subscribers", "severity": "sev2"})["id"]
        result["update_without_subscribers"] = time_updates(belay, incident, args.samples, "quiet")
        belay.stop()

        # With N confirmed subscribers, imported as Statuspage's confirmed rows.
        belay = Belay(binary, smtp_port)
        rows = ["email,confirmed"] + [f"reader{index}@example.com,yes" for index in range(args.subscribers)]
        started = time.perf_counter()
        imported = belay.call("POST", "/api/v1/subscribers/import", ("\n".join(rows) + "\n").encode(), content_type="text/csv")
        result["import_seconds"] = round(time.perf_counter() - started, 2)
        assert imported["confirmed"] == args.subscribers, imported
        # The call with N subscribers stored but nothing to fan out (an internal incident): its own cost.
        internal = belay.call("POST", "/api/v1/incidents", {"title": "Bench internal", "severity": "sev2", "isPublic": False})["id"]
        time.sleep(2)
        result["update_with_subscribers_stored_no_fan_out"] = time_updates(belay, internal, args.samples, "internal")
        incident = belay.call("POST", "/api/v1/incidents", {"title": "Bench fan-out", "severity": "sev2"})["id"]
        subject = "[Belay Status] Incident declared: Bench fan-out"
        started = time.monotonic()
        deadline = started + 600
        while time.monotonic() < deadline and sink.by_subject.get(subject, 0) < args.subscribers:
            time.sleep(0.1)
        received = sink.by_subject.get(subject, 0)
        result["fan_out"] = {
            "received": received, "expected": args.subscribers,
            "seconds_to_last": round(sink.last_at.get(subject, time.monotonic()) - started, 2),
            "seconds_to_first": round(sink.first_at.get(subject, time.monotonic()) - started, 2),
            "goal_seconds": 60,
        }
        result["fan_out"]["messages_per_second"] = round(received / max(0.001, result["fan_out"]["seconds_to_last"]), 1)
        # Updates with the outbox idle at the moment of the call (each waits for the previous fan-out to drain):
        # the call's own cost with N subscribers.
        idle = []
        for index in range(max(3, args.samples // 6)):
            drain_deadline = time.monotonic() + 300
            while time.monotonic() < drain_deadline and belay.call("GET", "/api/v1/notifications/health")["pending"] > 0:
                time.sleep(0.2)
            idle.append(time_updates(belay, incident, 1, f"idle{index}")["p50_ms"])
        result["update_with_subscribers_idle_outbox"] = {
            "samples": len(idle), "p50_ms": round(percentile(idle, 0.5), 2), "max_ms": round(max(idle), 2)}
        # Updates one after another while the outbox fans out the earlier ones (the machine's two cores are
        # shared with the dispatcher and the Python SMTP sink).
        result["update_with_subscribers"] = time_updates(belay, incident, args.samples, "busy")
        health = belay.call("GET", "/api/v1/notifications/health")
        result["health_after"] = {key: health[key] for key in ("pending", "delivered", "deadLetters", "failed")}
        belay.stop()
    finally:
        controller.stop()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")
    fan_out = result["fan_out"]
    ok = fan_out["received"] == fan_out["expected"] and fan_out["seconds_to_last"] <= 60
    print(f"fan-out: {fan_out['received']}/{fan_out['expected']} in {fan_out['seconds_to_last']} s "
          f"({'within' if ok else 'NOT within'} 60 s); update p50/p99: "
          f"{result['update_without_subscribers']['p50_ms']}/{result['update_without_subscribers']['p99_ms']} ms with 0, "
          f"{result['update_with_subscribers']['p50_ms']}/{result['update_with_subscribers']['p99_ms']} ms with {args.subscribers} during fan-outs, "
          f"p50 {result['update_with_subscribers_idle_outbox']['p50_ms']} ms with {args.subscribers} and the outbox idle",
          file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
