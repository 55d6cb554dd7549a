"""Storage faults: when the data volume turns read-only or fills up under a running server, Belay refuses
writes honestly, keeps the public status page up, and recovers by itself when the fault clears.

Each test puts the data directory on its own 32 MiB tmpfs (so it needs root and `mount`), starts
`belay serve` on it, creates a component, an integration and a public incident, and sends one delivery of
each kind. Then it causes the fault and, for `BELAY_FAULT_HOLD` seconds (default 35, longer than the status
page's 30 s rebuild timer), keeps sending writes of five kinds (declare an incident, post an update,
Alertmanager, PagerDuty and generic deliveries) and reading the status page. It proves that

- every write is answered either 2xx (and then really stored, checked after the fault) or
  503 with `{"error": {"code": "storage_unavailable", "message": ...}}`: never a 2xx for data that was not
  stored, never another status, never no answer; and that each kind is refused at least once (else the
  fault did not take);
- `GET /` and `GET /api/v2/summary.json` keep answering 200 with the last snapshot (the incident is there);
- the server process stays up;
- once the fault clears, writes succeed again within 30 s without a restart, the status page shows new
  data again, everything that got a 2xx is there exactly once, nothing that got a 503 was stored, and the
  database passes `PRAGMA integrity_check` after a graceful stop.

The faults:

- **full**: a filler file takes every free block of the tmpfs (ENOSPC); cleared by deleting it.
- **read-only**: first `mount -o remount,ro`. Linux refuses that with EBUSY while a process holds a file
  on the mount open for writing, which SQLite always does, so the test then makes the volume read-only
  *for the server*: `strace -f -p PID` attaches and fails every pwrite64, pwritev, fsync, fdatasync,
  ftruncate and fallocate with EROFS (what a process sees when the kernel forces a volume read-only);
  cleared by detaching strace. Needs `strace` (tests/resilience/install.sh installs it).

SQLite reports the first as SQLITE_IOERR (10, "disk I/O error", at COMMIT), not SQLITE_READONLY (8), which it
only gives for a file it opened read-only; the second as SQLITE_FULL (13). Both must become the 503."""
import collections
import errno
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

from resilience_support import integrity_check

HOLD = float(os.environ.get("BELAY_FAULT_HOLD", "35"))
RECOVERY = 30.0
WRITE_KINDS = ("declare", "update", "alertmanager", "pagerduty", "generic")


@pytest.fixture
def tmpfs():
    """A fresh 32 MiB tmpfs; unmounted (made writable first) after the test, whatever happened."""
    if os.geteuid() != 0:
        pytest.fail("the storage fault tests mount a tmpfs and need root", pytrace=False)
    path = tempfile.mkdtemp(prefix="belay-tmpfs-")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m,mode=0755", "tmpfs", path], capture_output=True, text=True)
    if mounted.returncode != 0:
        os.rmdir(path)
        pytest.fail(f"cannot mount a tmpfs on {path}: {mounted.stderr.strip()}", pytrace=False)
    try:
        yield path
    finally:
        subprocess.run(["mount", "-o", "remount,rw", path], capture_output=True)
        if subprocess.run(["umount", path], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", path], capture_output=True)
        try:
            os.rmdir(path)
        except OSError:
            pass


class VolumeFull:
    name = "full"

    def __init__(self, volume, server):
        self.filler = os.path.join(volume, "filler")
        self.volume = volume
        self.how = "filler file until ENOSPC"

    def start(self):
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (1 << 20, 1 << 12, 1):
                block = b"\0" * size
                while True:
                    try:
                        if os.write(fd, block) == 0:
                            break
                    except OSError as error:
                        if error.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(fd)
        free = os.statvfs(self.volume)
        assert free.f_bavail == 0, f"the filler left {free.f_bavail} blocks free on {self.volume}"

    def clear(self):
        if os.path.exists(self.filler):
            os.remove(self.filler)


class ReadOnly:
    name = "read-only"
    SYSCALLS = "pwrite64,pwritev,pwritev2,fsync,fdatasync,ftruncate,fallocate"

    def __init__(self, volume, server):
        self.volume = volume
        self.server = server
        self.strace = None
        self.remounted = False
        self.how = None

    def start(self):
        remount = subprocess.run(["mount", "-o", "remount,ro", self.volume], capture_output=True, text=True)
        if remount.returncode == 0:
            self.remounted = True
            self.how = "mount -o remount,ro"
            return
        refusal = " ".join(remount.stderr.split())
        strace = shutil.which("strace")
        if not strace:
            pytest.fail(f"mount -o remount,ro was refused ({refusal}) and strace is missing: run tests/resilience/install.sh", pytrace=False)
        self.stderr_path = os.path.join(self.server.log_dir, "strace.stderr")
        self.strace = subprocess.Popen(
            [strace, "-f", "-p", str(self.server.pid), "-o", "/dev/null", "-e", f"trace={self.SYSCALLS}",
             "-e", f"inject={self.SYSCALLS}:error=EROFS"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(self.stderr_path, "w"))
        deadline = time.monotonic() + 30
        while "attached" not in open(self.stderr_path).read():
            if self.strace.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"strace could not attach to belay: {open(self.stderr_path).read()}", pytrace=False)
            time.sleep(0.05)
        self.how = f"remount refused ({refusal}); EROFS injected with strace"

    def clear(self):
        if self.remounted:
            subprocess.run(["mount", "-o", "remount,rw", self.volume], check=True)
            self.remounted = False
        if self.strace and self.strace.poll() is None:
            self.strace.send_signal(signal.SIGINT)  # strace detaches and the server runs on untouched
            self.strace.wait(timeout=30)


class Ledger:
    """What each write got, what must be stored, and what must not be."""

    def __init__(self):
        self.counts = collections.Counter()
        self.stored = collections.defaultdict(set)     # kind -> identities that got a 2xx
        self.refused = collections.defaultdict(set)    # kind -> identities that got a 503 storage_unavailable
        self.problems = []
        self.examples = {}


def write(server, context, kind, ledger, phase):
    """One write of `kind`; records its outcome in the ledger. Returns the status (None when no answer)."""
    tag = f"{phase}-{kind}-{uuid.uuid4().hex[:8]}"
    key = context["key"]
    if kind == "declare":
        path, body, auth = "/api/v1/incidents", {"title": f"Incident {tag}", "severity": "sev3", "message": f"Investigating {tag}."}, True
    elif kind == "update":
        path, body, auth = f"/api/v1/incidents/{context['incident']}/updates", {"message": f"Update {tag}"}, True
    elif kind == "alertmanager":
        path, auth = f"/api/v1/integrations/{key}/alertmanager", False
        body = {"version": "4", "status": "firing", "receiver": "belay", "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
                "externalURL": "http://alertmanager.example",
                "alerts": [{"status": "firing", "labels": {"alertname": tag}, "annotations": {"summary": tag}, "fingerprint": tag,
                            "startsAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}]}
    elif kind == "pagerduty":
        path, auth = "/v2/enqueue", False
        body = {"routing_key": key, "event_action": "trigger", "dedup_key": tag, "payload": {"summary": tag, "source": "db1", "severity": "error"}}
    else:
        path, auth, body = f"/api/v1/integrations/{key}/events", False, {"dedupKey": tag, "summary": tag, "severity": "warning", "source": "db1"}
    identity = tag
    try:
        response = server.request("POST", path, body, auth=auth, timeout=30)
    except requests.RequestException as error:
        ledger.counts[(phase, kind, "no answer")] += 1
        ledger.problems.append(f"{phase}: {kind} got no answer: {type(error).__name__}: {error}")
        return None
    status = response.status_code
    try:
        parsed = response.json()
    except ValueError:
        parsed = None
    code = parsed.get("error", {}).get("code") if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict) else None
    ledger.counts[(phase, kind, status, code)] += 1
    ledger.examples.setdefault((phase, kind, status), f"{status} {response.text[:300]}")
    if 200 <= status < 300:
        if kind == "declare":
            identity = (tag, parsed["id"])
        ledger.stored[kind].add(identity)
    elif status == 503 and code == "storage_unavailable" and isinstance(parsed["error"].get("message"), str):
        ledger.refused[kind].add(identity)
    elif phase == "fault" and status == 503:
        ledger.problems.append(f"fault: {kind} -> 503 without the storage_unavailable error body: {response.text[:300]}")
    else:
        ledger.problems.append(f"{phase}: {kind} -> {status} {response.text[:300]}")
    return status


def status_page(server, context, ledger, phase):
    for path in ("/", "/api/v2/summary.json"):
        try:
            response = requests.get(server.url + path, timeout=30)
        except requests.RequestException as error:
            ledger.problems.append(f"{phase}: GET {path} got no answer: {error}")
            continue
        ledger.counts[(phase, "GET " + path, response.status_code)] += 1
        if response.status_code != 200:
            ledger.problems.append(f"{phase}: GET {path} -> {response.status_code} {response.text[:300]}")
        elif path == "/" and context["title"] not in response.text:
            ledger.problems.append(f"{phase}: GET / no longer shows the incident {context['title']!r}")
        elif path != "/" and context["incident"] not in [i.get("id") for i in response.json().get("incidents", [])]:
            ledger.problems.append(f"{phase}: summary.json no longer lists incident {context['incident']}: {response.text[:300]}")


def wait_until(condition, timeout, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def baseline(server):
    server.api("POST", "/api/v1/components", {"slug": "web", "name": "Website"}, expect=201)
    created = server.api("POST", "/api/v1/integrations", {"name": "faults", "kind": "generic", "routing": {"defaultComponents": ["web"]}}, expect=201)
    title = f"Baseline incident {uuid.uuid4().hex[:6]}"
    incident = server.api("POST", "/api/v1/incidents", {"title": title, "severity": "sev2", "components": [{"slug": "web", "impact": "degraded_performance"}],
                                                         "message": "Investigating: baseline."}, expect=201)
    context = {"key": created["key"], "integration": created["integration"]["id"], "incident": incident["id"], "title": title}
    shown = wait_until(lambda: title in requests.get(server.url + "/", timeout=30).text, 30)
    assert shown, f"the status page did not show {title!r} within 30 s"
    return context


def run_fault(server, volume, fault_class):
    server.start()
    context = baseline(server)
    ledger = Ledger()
    for kind in WRITE_KINDS:
        write(server, context, kind, ledger, "before")
    assert not ledger.problems, "writes before the fault failed:\n" + "\n".join(ledger.problems)

    fault = fault_class(volume, server)
    started = time.monotonic()
    try:
        fault.start()
        print(f"fault {fault.name}: {fault.how}")
        i = 0
        while time.monotonic() - started < HOLD:
            write(server, context, WRITE_KINDS[i % len(WRITE_KINDS)], ledger, "fault")
            status_page(server, context, ledger, "fault")
            if not server.alive():
                ledger.problems.append(f"fault: belay serve exited with {server.process.returncode}")
                break
            i += 1
            time.sleep(0.3)
    finally:
        fault.clear()
    for kind in WRITE_KINDS:
        if not ledger.refused[kind]:
            ledger.problems.append(f"fault: no {kind} was refused with 503 storage_unavailable (the fault did not take, or the server answers otherwise)")

    # Recovery without a restart.
    if server.alive():
        recovered = wait_until(lambda: write(server, context, "declare", Ledger(), "after") in (200, 201), RECOVERY, interval=1)
        if not recovered:
            ledger.problems.append(f"after: writes still fail {RECOVERY:.0f} s after the fault cleared")
        else:
            for kind in WRITE_KINDS:
                write(server, context, kind, ledger, "after")
            after_title = next((t for t, _ in ledger.stored["declare"] if t.startswith("after-")), None)
            if after_title and not wait_until(lambda: f"Incident {after_title}" in requests.get(server.url + "/", timeout=30).text, 30):
                ledger.problems.append("after: the status page did not show an incident declared after the fault within 30 s")
            check_stored(server, context, ledger)
        code = server.stop()
        if code != 0:
            ledger.problems.append(f"belay serve exited {code} on SIGTERM after the fault")
        ledger.problems += [f"database: {p}" for p in integrity_check(server.database_path())]

    report = "\n".join(f"  {k}: {v}" for k, v in sorted(ledger.counts.items(), key=str))
    examples = "\n".join(f"  {k}: {v}" for k, v in sorted(ledger.examples.items(), key=str) if k[0] == "fault")
    print(f"fault {fault.name} ({fault.how}), answers:\n{report}\nexamples during the fault:\n{examples}")
    assert not ledger.problems, (f"volume {fault.name} ({fault.how}):\n" + "\n".join(dict.fromkeys(ledger.problems))
                                 + f"\nanswers:\n{report}\nexamples during the fault:\n{examples}")


def check_stored(server, context, ledger):
    incidents = server.api("GET", "/api/v1/incidents?limit=1000")["incidents"]
    titles = collections.Counter(i["title"] for i in incidents)
    ids = {i["id"] for i in incidents}
    for tag, incident_id in ledger.stored["declare"]:
        if incident_id not in ids:
            ledger.problems.append(f"LOST: incident {tag} ({incident_id}) got a 2xx and is not there")
    for tag in ledger.refused["declare"]:
        if titles[f"Incident {tag}"]:
            ledger.problems.append(f"incident {tag} was refused with 503 and stored anyway (a retry duplicates it)")
    updates = collections.Counter(u["message"] for u in server.api("GET", f"/api/v1/incidents/{context['incident']}")["updates"])
    for tag in ledger.stored["update"]:
        if updates[f"Update {tag}"] != 1:
            ledger.problems.append(f"update {tag} got a 2xx and is there {updates[f'Update {tag}']} times")
    for tag in ledger.refused["update"]:
        if updates[f"Update {tag}"]:
            ledger.problems.append(f"update {tag} was refused with 503 and stored anyway")
    signals = server.api("GET", "/api/v1/signals?limit=1000")["signals"]
    keys = collections.Counter(s["dedupKey"] for s in signals if s["sourceKind"] == "integration" and s["sourceId"] == context["integration"])
    for kind in ("alertmanager", "pagerduty", "generic"):
        for tag in ledger.stored[kind]:
            if keys[tag] != 1:
                ledger.problems.append(f"{kind} delivery {tag} got a 2xx and is {keys[tag]} signals")
        for tag in ledger.refused[kind]:
            if keys[tag]:
                ledger.problems.append(f"{kind} delivery {tag} was refused with 503 and stored anyway (harmless for a retry, but the 503 was wrong)")


def test_writes_are_refused_while_the_volume_is_read_only_and_resume_after(tmpfs, belay_factory):
    run_fault(belay_factory(data=tmpfs), tmpfs, ReadOnly)


def test_writes_are_refused_while_the_volume_is_full_and_resume_after(tmpfs, belay_factory):
    run_fault(belay_factory(data=tmpfs), tmpfs, VolumeFull)
