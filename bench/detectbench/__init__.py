"""The Detect benchmarks, one module per section (run them through `bash bench/detect`).

Shared:   common (settings, goals, errors, stats, response shapes), procs (child processes, /proc),
          server (one `belay serve` and its database), payload (Alertmanager bodies),
          integration (the component + integration every ingest section posts to), report.
Sections: ingest (+ ceiling), latency, bulk, isolation, monitors (+ nginx).

Every section module has run(settings, binary, workdir) -> dict and rows(result, settings) -> table rows.
"""
