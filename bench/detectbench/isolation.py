"""Section `isolation`: the ingest wrk run alone, then on fresh Belays while wrk loads the status page.

Three fresh Belays, one after the other, all started alike with a public listener (`--public-listen`):
ingestion alone; ingestion while wrk loads `/` on the main listener, the one ingestion uses too (the old
figure, informational); and ingestion while wrk loads `/` on the public listener, which has event loops
of its own (the goal)."""

import http.client
import os
import re
import subprocess
import time

from status_page import parse_wrk  # bench/ is on sys.path (detect.py); the same wrk parsing as bench/status-page

from .common import GOALS, BenchError, fmt, log, okmiss
from .ingest import describe_ingest, run_ingest_wrk
from .integration import setup_ingestion
from .procs import PROCS, free_port, listening_ports
from .server import Belay

# (mode, where wrk loads the status page: None, "main" or "public")
MODES = [("alone", None), ("with_status_load", "main"), ("with_public_load", "public")]


class PublicListenerBelay(Belay):
    """A Belay with `--public-listen 127.0.0.1:PORT` on a port chosen here.

    Both listeners log "listening on" in no set order, so the main port is read from Belay's own
    "serving" line (or from /proc, leaving out the public port) instead."""

    def __init__(self, binary, workdir, name, settings):
        self.public_port = free_port()
        super().__init__(binary, workdir, name, extra_args=["--public-listen", "127.0.0.1:%d" % self.public_port],
                         settings=settings)

    def _find_port(self):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            text = ""
        for line in text.splitlines():
            if re.search(r"\bserving\b", line) and "public pages" not in line:
                m = re.search(r"http://[^\s\"]*:(\d+)", line)
                if m and int(m.group(1)) not in (0, self.public_port):
                    return int(m.group(1))
        ports = [p for p in listening_ports(self.proc.pid) if p != self.public_port]
        return ports[0] if len(ports) == 1 else None

    @property
    def public_base(self):
        return "http://127.0.0.1:%d" % self.public_port

    def wait_public(self, timeout=60):
        """The public listener may come up a moment after the main one; wait until it serves `/`."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.alive():
                raise BenchError("belay serve exited before its public listener answered: %s" % self.tail())
            conn = http.client.HTTPConnection("127.0.0.1", self.public_port, timeout=5)
            try:
                conn.request("GET", "/")
                resp = conn.getresponse()
                body = resp.read()
                if resp.status == 200:
                    return body
                last = "HTTP %d" % resp.status
            except OSError as e:
                last = repr(e)
            finally:
                conn.close()
            time.sleep(0.2)
        raise BenchError("the public listener on 127.0.0.1:%d never answered GET / with 200 (last: %s)"
                         % (self.public_port, last))


def seed_components(belay, n):
    for i in range(n):
        belay.api("POST", "/api/v1/components",
                  {"slug": "status-%02d" % i, "name": "Service %02d" % i, "group": "Group %d" % (i % 4),
                   "description": "Component %d of the isolation benchmark's status page." % i}, expect=(201,))


def run(settings, binary, workdir):
    runs = {}
    status = {}  # listener -> wrk result on `/` during the ingest run
    for mode, listener in MODES:
        b = PublicListenerBelay(binary, workdir, "isolation-" + mode, settings).start()
        try:
            seed_components(b, settings.status_components)
            setup = setup_ingestion(b)
            time.sleep(1.0)  # let the status page snapshot rebuild after seeding
            st, page = b.request("GET", "/", auth=False)
            if st != 200:
                raise BenchError("GET / -> HTTP %d" % st)
            public_page = b.wait_public()
            if public_page != page:
                log("[isolation] note: the public listener's / differs from the main listener's (a rebuild?)")
            if settings.warmup > 0:
                run_ingest_wrk(b, setup["path"], settings, b.dir, 140, settings.warmup, "warmup")
            sp = wrk_out = argv = None
            if listener is not None:
                base = b.base if listener == "main" else b.public_base
                wrk_out = os.path.join(b.dir, "wrk-status-%s.txt" % listener)
                argv = ["wrk", "-t%d" % settings.status_wrk_threads, "-c%d" % settings.status_wrk_connections,
                        "-d%ds" % max(1, round(settings.duration)), "--latency", base + "/"]
                log("[isolation] %s while ingesting (%s listener)"
                    % (" ".join(argv[:-1] + ["http://127.0.0.1:PORT/"]), listener))
                sp = PROCS.start(argv, stdout=open(wrk_out, "wb"), stderr=subprocess.STDOUT)
            else:
                log("[isolation] ingest alone (%d components on the status page, fresh Belay, idle public listener)"
                    % settings.status_components)
            r = run_ingest_wrk(b, setup["path"], settings, b.dir, 40 + len(runs), settings.duration, mode)
            if sp is not None:
                sp.wait()
                PROCS.stop(sp)
                with open(wrk_out, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
                sw = parse_wrk(text)
                sw.update({"raw": text, "page_bytes": len(page), "listener": listener,
                           "command": " ".join(argv[:-1] + ["URL"])})
                if sp.returncode != 0 or sw.get("rps") is None:
                    raise BenchError("wrk against / (%s listener) failed (status %s): %s"
                                     % (listener, sp.returncode, text[-1500:]))
                status[listener] = sw
                log("[isolation] status page / on the %s listener under load: %.1f req/s (p99 %s ms, "
                    "non-2xx/3xx %s, socket errors %s)" % (listener, sw["rps"], sw.get("p99_ms"),
                                                           sw.get("non_2xx_3xx"), sw.get("socket_errors")))
            if not b.alive():
                raise BenchError("belay serve died during the isolation run: %s" % b.tail())
            log("[isolation] %s: %s" % (mode, describe_ingest(r)))
            runs[mode] = r
        finally:
            b.stop()
    alone = runs["alone"]["accepted_per_sec"]

    def over_alone(mode):
        loaded = runs[mode]["accepted_per_sec"]
        return round(loaded / alone, 4) if alone and loaded is not None else None

    ratio, public_ratio = over_alone("with_status_load"), over_alone("with_public_load")
    return {"alone": runs["alone"], "with_status_load": runs["with_status_load"],
            "with_public_load": runs["with_public_load"],
            "status_wrk": status["main"], "public_status_wrk": status["public"],
            # The load on the listener ingestion uses: kept for comparison with earlier runs, not counted.
            "ratio": ratio, "goal_ratio": GOALS["isolation_ratio"], "ratio_is_informational": True,
            "meets_same_listener_goal": ratio is not None and ratio >= GOALS["isolation_ratio"],
            # The goal: the load on --public-listen's listener.
            "public_ratio": public_ratio, "public_goal_ratio": GOALS["isolation_public_ratio"],
            "meets_goal": public_ratio is not None and public_ratio >= GOALS["isolation_public_ratio"]}


def rows(x, settings):
    wrk = "wrk -t%d -c%d" % (settings["status_wrk_threads"], settings["status_wrk_connections"])
    return [
        ("ingest accepted/s alone", fmt(x["alone"]["accepted_per_sec"]), "", ""),
        ("ingest accepted/s with wrk on / (same listener)", fmt(x["with_status_load"]["accepted_per_sec"]), "", ""),
        ("  status page / req/s during it (%s)" % wrk, fmt(x["status_wrk"]["rps"]), "", ""),
        ("  with / alone, same listener (informational)", fmt(x["ratio"], "%.3f"),
         "(>= %.2f)" % x["goal_ratio"], "info"),
        ("ingest accepted/s with wrk on --public-listen's /", fmt(x["with_public_load"]["accepted_per_sec"]), "", ""),
        ("  public / req/s during it (%s)" % wrk, fmt(x["public_status_wrk"]["rps"]), "", ""),
        ("with public / alone", fmt(x["public_ratio"], "%.3f"), ">= %.2f" % x["public_goal_ratio"],
         okmiss(x["meets_goal"])),
    ]
