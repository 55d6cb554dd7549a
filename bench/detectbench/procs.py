"""Child processes (each stopped by its pid) and what /proc says about them."""

import os
import re
import signal
import socket
import subprocess
import threading
import time


class Procs:
    """Every child this script starts, so each one is stopped on exit (by its pid)."""

    def __init__(self):
        self.live = []

    def start(self, argv, stdout, stderr, **kw):
        p = subprocess.Popen(argv, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, **kw)
        self.live.append(p)
        return p

    def stop(self, p, grace=5.0):
        if p is None:
            return None
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            except ProcessLookupError:
                pass
        if p in self.live:
            self.live.remove(p)
        return p.returncode

    def stop_all(self):
        for p in list(reversed(self.live)):
            self.stop(p)


PROCS = Procs()


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening_ports(pid):
    """TCP ports in LISTEN state on sockets the process holds (from /proc, no tools needed)."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            m = re.fullmatch(r"socket:\[(\d+)\]", target)
            if m:
                inodes.add(m.group(1))
    except OSError:
        return []
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if len(parts) > 9 and parts[3] == "0A" and parts[9] in inodes:
                        ports.append(int(parts[1].rsplit(":", 1)[1], 16))
        except OSError:
            continue
    return ports


def proc_cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime is field 14, stime field 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return None


def proc_threads(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return None


class Sampler(threading.Thread):
    """Belay's CPU seconds and RSS once a second."""

    def __init__(self, pid, interval=1.0):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples = []  # (monotonic, cpu_seconds, rss_mb, threads)
        self.stop_event = threading.Event()

    def run(self):
        while not self.stop_event.is_set():
            try:
                self.samples.append((time.monotonic(), proc_cpu_seconds(self.pid), proc_rss_mb(self.pid),
                                     proc_threads(self.pid)))
            except (OSError, IndexError, ValueError):
                break
            self.stop_event.wait(self.interval)

    def window(self, t_from, t_to):
        s = [x for x in self.samples if t_from <= x[0] <= t_to]
        if len(s) < 2:
            return None
        cores = (s[-1][1] - s[0][1]) / (s[-1][0] - s[0][0])
        rss = [x[2] for x in s if x[2] is not None]
        # busiest 10 s within the window
        peak = 0.0
        j = 0
        for i in range(len(s)):
            while s[i][0] - s[j][0] > 10.0:
                j += 1
            if s[i][0] - s[j][0] >= 5.0:
                peak = max(peak, (s[i][1] - s[j][1]) / (s[i][0] - s[j][0]))
        return {"seconds": round(s[-1][0] - s[0][0], 1), "cpu_cores": round(cores, 4),
                "cpu_cores_peak_10s": round(peak, 4), "rss_mb_max": round(max(rss), 1) if rss else None,
                "rss_mb_end": round(rss[-1], 1) if rss else None, "threads_max": max(x[3] or 0 for x in s)}
