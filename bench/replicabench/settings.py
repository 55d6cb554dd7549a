"""The BENCH_* knobs of bench/replicas and its goals (bench/README.md, section "Replicas")."""

from detectbench.common import env, seconds

# What docs/SCALING.md promises: a change on one replica shows on every other one's status page within a
# second (NOTIFY, or the one-second poll of the event log's head when a notification is lost), and a dead
# replica's monitors are checked by the others within its lease (15 s, ReplicaMembership), one renewal
# period (5 s: the survivors notice the lapsed lease when they next renew) and one interval.
GOALS = {
    "propagation_max_s": 1.0,
    "lease_s": 15.0,
    "renewal_s": 5.0,
}


def failover_bound(interval):
    return GOALS["lease_s"] + GOALS["renewal_s"] + interval


class Settings:
    """Every knob lands in the JSON's `settings`."""

    def __init__(self):
        self.replica_counts = [int(x) for x in env("BENCH_REPLICAS", "1 2 3").replace(",", " ").split()]
        self.duration = seconds(env("BENCH_DURATION", "10s"))
        self.warmup = seconds(env("BENCH_WARMUP", "2s"))
        # Totals over all replicas, split round-robin, so every scenario offers the same concurrency.
        self.connections = int(env("BENCH_CONNECTIONS", "64"))
        self.status_connections = int(env("BENCH_STATUS_CONNECTIONS", "64"))
        self.status_encoding = env("BENCH_STATUS_ENCODING", "identity")
        self.status_components = int(env("BENCH_STATUS_COMPONENTS", "20"))
        self.propagation_tries = int(env("BENCH_PROPAGATION_TRIES", "10"))
        self.propagation_poll = seconds(env("BENCH_PROPAGATION_POLL", "10ms"))
        self.propagation_timeout = seconds(env("BENCH_PROPAGATION_TIMEOUT", "10s"))
        self.monitors = int(env("BENCH_MONITORS", "30"))
        self.monitor_interval = int(env("BENCH_MONITOR_INTERVAL", "2"))
        self.settle_timeout = seconds(env("BENCH_SETTLE_TIMEOUT", "60s"))
        self.failover_timeout = seconds(env("BENCH_FAILOVER_TIMEOUT", "60s"))
        self.failover_poll = seconds(env("BENCH_FAILOVER_POLL", "250ms"))
        self.belay_args = env("BENCH_BELAY_ARGS", "").split()
        self.keep_tmp = env("BENCH_KEEP_TMP", "0") == "1"
        # run_ingest_wrk (bench/detectbench/ingest.py) reads these per wrk; bench/replicas posts distinct alerts.
        self.ingest_mode = "distinct"
        self.repeat_pool = 1000
        self.wrk_threads = 1
        if not self.replica_counts or any(n < 1 for n in self.replica_counts):
            raise SystemExit("BENCH_REPLICAS must list replica counts >= 1, e.g. '1 2 3'")
        if self.status_encoding not in ("identity", "gzip"):
            raise SystemExit("BENCH_STATUS_ENCODING must be identity or gzip")
        if self.connections < max(self.replica_counts) or self.status_connections < max(self.replica_counts):
            raise SystemExit("BENCH_CONNECTIONS and BENCH_STATUS_CONNECTIONS need at least one per replica")
        if self.monitor_interval < 1 or self.monitors < 1:
            raise SystemExit("BENCH_MONITORS and BENCH_MONITOR_INTERVAL must be >= 1")

    def as_dict(self):
        return dict(vars(self))


def split(total, parts):
    """`total` connections over `parts` replicas, round-robin: 64 over 3 -> [22, 21, 21]."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]
