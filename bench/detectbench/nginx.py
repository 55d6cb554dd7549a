"""A private nginx on 127.0.0.1 serving a 3-byte /health: the target of the `monitors` section."""

import http.client
import os
import shutil
import subprocess
import time

from .common import BenchError
from .procs import PROCS, free_port

NGINX_CONF = """# Private nginx for bench/detect: the monitors' target.
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    server_tokens off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    types {{ }}
    default_type text/plain;
    server {{
        listen 127.0.0.1:{port};
        root {www};
        location = /health {{ try_files /health =404; }}
        location / {{ return 404; }}
    }}
}}
"""


def start_nginx(workdir):
    """Starts nginx (stopped with the other children) and waits for /health; returns (process, port)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    d = os.path.join(workdir, "nginx")
    www = os.path.join(d, "www")
    os.makedirs(www)
    with open(os.path.join(www, "health"), "w") as f:
        f.write("ok\n")
    # nginx's worker may run as another user: it must be able to reach and read the file.
    for p in (workdir, d, www):
        os.chmod(p, 0o755)
    os.chmod(os.path.join(www, "health"), 0o644)
    port = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(dir=d, port=port, www=www))
    t = subprocess.run([nginx, "-p", d, "-e", os.path.join(d, "error.log"), "-c", conf, "-t"],
                       capture_output=True, text=True)
    if t.returncode != 0:
        raise BenchError("nginx config test failed: %s" % t.stderr)
    p = PROCS.start([nginx, "-p", d, "-e", os.path.join(d, "error.log"), "-c", conf],
                    stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr.log"), "wb"))
    for _ in range(100):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            r = c.getresponse()
            body = r.read()
            c.close()
            if r.status == 200 and body == b"ok\n":
                return p, port
        except OSError:
            pass
        if p.poll() is not None:
            raise BenchError("nginx exited: %s" % open(os.path.join(d, "error.log")).read()[-800:])
        time.sleep(0.1)
    raise BenchError("nginx did not answer within 10 s")
