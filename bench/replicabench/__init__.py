"""bench/replicas: 1, 2 and 3 `belay serve` replicas on one PostgreSQL database (run it through `bash bench/replicas`).

settings (knobs, goals), cluster (the PostgreSQL cluster and the replicas on it), throughput (ingestion and the
status page, one wrk per replica), propagation (a change on A seen on C's summary.json), owners (the HTTP
target that tells which replica ran each check), failover (SIGKILL one replica, time until its monitors are
checked again), report (table and JSON). The pieces shared with bench/detect come from bench/detectbench.
"""
