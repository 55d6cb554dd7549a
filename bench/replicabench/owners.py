"""The HTTP target the failover monitors check. It answers 200 and records, for every check, which replica
made it: the check's connection is still open while the request waits for the answer, so the client end
of it is in /proc/net/tcp and its socket inode among one replica's file descriptors.

Check results carry no replica (CheckResult: monitorID, checkedAt, outcome, latencyMs, message), so this is
how the benchmark knows which monitors the killed replica owned and that another replica checked them next."""

import http.server
import os
import re
import threading
import time


def _client_inode(peer_port, server_port):
    """The inode of the socket 127.0.0.1:peer_port -> 127.0.0.1:server_port (the client's end)."""
    local = "0100007F:%04X" % peer_port
    remote = "0100007F:%04X" % server_port
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if len(parts) > 9 and parts[1] == local and parts[2] == remote:
                return parts[9]
    return None


def _socket_inodes(pid):
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                m = re.fullmatch(r"socket:\[(\d+)\]", os.readlink("/proc/%d/fd/%s" % (pid, fd)))
            except OSError:
                continue
            if m:
                inodes.add(m.group(1))
    except OSError:
        pass
    return inodes


class OwnerTarget:
    """http://127.0.0.1:PORT/m/N -> 200; `hits` holds (epoch seconds, N, pid of the checking replica or None)."""

    def __init__(self):
        self.pids = []
        self.hits = []
        self.lock = threading.Lock()
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                at = time.time()
                m = re.fullmatch(r"/m/(\d+)", self.path.split("?", 1)[0])
                pid = target._who(self.client_address[1])
                with target.lock:
                    target.hits.append((at, int(m.group(1)) if m else None, pid))
                body = b"ok\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self.thread.start()

    def _who(self, peer_port):
        try:
            inode = _client_inode(peer_port, self.port)
        except OSError:
            return None
        if inode is None or inode == "0":
            return None
        for pid in self.pids:
            if inode in _socket_inodes(pid):
                return pid
        return None

    def url(self, n):
        return "http://127.0.0.1:%d/m/%d" % (self.port, n)

    def snapshot(self):
        with self.lock:
            return list(self.hits)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
