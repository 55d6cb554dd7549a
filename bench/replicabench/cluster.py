"""A fresh PostgreSQL cluster per scenario (scripts/postgres) and the `belay serve` replicas on it."""

import glob
import os
import re
import shutil
import subprocess

from detectbench.common import BENCH_DIR, BenchError, log
from detectbench.procs import PROCS
from detectbench.server import Belay

SCRIPT = os.path.join(os.path.dirname(BENCH_DIR), "scripts", "postgres")
# Replicas may check monitors on the benchmark's own loopback target.
REPLICA_ARGS = ["--egress-allow", "127.0.0.1/32"]


def _psql_binary():
    found = shutil.which("psql") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))[::-1]), None)
    if not found:
        raise BenchError("psql not found (scripts/postgres installs Debian's postgresql, which has it)")
    return found


class Postgres:
    """One cluster in its own directory, started and stopped with scripts/postgres (it runs as the
    unprivileged user belaypg when the benchmark runs as root, so the directory must be world-readable)."""

    def __init__(self, workdir, name):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        os.chmod(self.dir, 0o755)
        self.url = None

    def start(self):
        out = subprocess.run(["bash", SCRIPT, "start", self.dir], capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            raise BenchError("scripts/postgres start %s failed (exit %d): %s"
                             % (self.dir, out.returncode, (out.stderr or out.stdout)[-800:]))
        with open(os.path.join(self.dir, "url")) as f:
            self.url = f.read().strip()
        log("PostgreSQL cluster in %s on port %s" % (self.dir, re.search(r":(\d+)/", self.url).group(1)))
        return self

    def stop(self):
        if self.url is None:
            return
        subprocess.run(["bash", SCRIPT, "stop", self.dir], capture_output=True, text=True, timeout=120)
        self.url = None

    def query(self, sql):
        """Rows of `sql` (psql -At: one line per row, columns split on '|')."""
        out = subprocess.run([_psql_binary(), self.url, "-Atc", sql], capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise BenchError("psql %r failed: %s" % (sql, out.stderr[-500:]))
        return [line.split("|") for line in out.stdout.splitlines() if line]

    def postmaster_pid(self):
        try:
            with open(os.path.join(self.dir, "data", "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None


def postgres_cpu_seconds(pid):
    """CPU seconds of the postmaster and its backends: its own and reaped children's time, plus the live
    children's (Belay's pooled connections stay open, so their backends are live)."""
    if pid is None:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # fields[1] is the parent pid; utime, stime, cutime, cstime are fields[11:15]
            if int(entry) == pid:
                total += sum(int(x) for x in fields[11:15]) / tick
            elif int(fields[1]) == pid:
                total += (int(fields[11]) + int(fields[12])) / tick
    except OSError:
        return None
    return total


def start_replicas(binary, workdir, tag, count, database, settings):
    """`count` replicas on `database`, the first making the admin token the others reuse (it is in the database)."""
    first = Belay(binary, workdir, "%s-r0" % tag, extra_args=REPLICA_ARGS, settings=settings,
                  database=database).start()
    replicas = [first]
    for i in range(1, count):
        replicas.append(Belay(binary, workdir, "%s-r%d" % (tag, i), extra_args=REPLICA_ARGS, settings=settings,
                              database=database, token=first.token).start())
    return replicas


def replica_leases(pg):
    """{belay pid: lease end (epoch seconds)} from the `replica` table; ids are host-pid-random (ReplicaMembership)."""
    leases = {}
    for row in pg.query("SELECT id, until FROM replica"):
        m = re.search(r"-(\d+)-\d+$", row[0])
        if m and len(row) > 1:
            leases[int(m.group(1))] = float(row[1])
    return leases


def stop_replicas(replicas):
    for b in reversed(replicas):
        if b.proc is not None:
            PROCS.stop(b.proc, grace=10)
