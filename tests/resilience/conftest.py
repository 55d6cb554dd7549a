"""Fixtures of the resilience tests: `belay_factory` makes `BelayProcess`es (resilience_support.py) that are
killed after the test, with their logs printed when it failed."""
import shutil
import tempfile

import pytest

from resilience_support import BelayProcess, belay_binary


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.belay_call_failed = report.failed
    return report


@pytest.fixture
def belay_factory(request):
    """`belay_factory(data_dir=None, args, database=None, token=None)`: a BelayProcess (not started) on `data_dir` (a
    fresh temporary folder when None), or a replica on the PostgreSQL `database`. Every process is killed after the test; a failed test prints the end of its logs."""
    made = []
    scratch = tempfile.mkdtemp(prefix="belay-resilience-")

    def make(data=None, args=(), database=None, token=None):
        if data is None:
            data = tempfile.mkdtemp(prefix="data-", dir=scratch)
        log_dir = tempfile.mkdtemp(prefix="logs-", dir=scratch)
        server = BelayProcess(belay_binary(), data, log_dir, args, database=database, token=token)
        made.append(server)
        return server

    try:
        yield make
    finally:
        for server in made:
            if getattr(request.node, "belay_call_failed", False):
                print(f"--- belay serve {' '.join(server.args)} in {server.data}, logs (last 6000 characters):\n{server.all_logs()[-6000:]}")
            try:
                server.kill()
            except Exception:
                pass
        shutil.rmtree(scratch, ignore_errors=True)
