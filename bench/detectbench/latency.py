"""Section `latency`: acknowledgement latency at a steady rate, open loop (no coordinated omission)."""

import asyncio
import statistics

from .common import GOALS, BenchError, fmt, log, okmiss, pct
from .integration import setup_ingestion
from .payload import fingerprint, single_body
from .server import Belay, incident_count


async def _open_loop(url, rate, duration, run_id, warmup):
    import aiohttp

    loop = asyncio.get_running_loop()
    n_warm = int(rate * warmup)
    n = int(rate * duration)
    bodies = [single_body(fingerprint(run_id, i)) for i in range(n_warm + n)]
    lat = [None] * (n_warm + n)
    lag = [None] * (n_warm + n)
    codes = {}
    errors = {}
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    headers = {"Content-Type": "application/json"}
    inflight_max = 0
    inflight = 0

    async def send(i, scheduled):
        nonlocal inflight, inflight_max
        inflight += 1
        inflight_max = max(inflight_max, inflight)
        lag[i] = loop.time() - scheduled
        try:
            async with session.post(url, data=bodies[i], headers=headers) as resp:
                await resp.read()
                done_at = loop.time()
                if i >= n_warm:
                    codes[resp.status] = codes.get(resp.status, 0) + 1
                if 200 <= resp.status < 300:
                    # From the scheduled time, so a stall counts in every request scheduled during it.
                    lat[i] = (done_at - scheduled) * 1000.0
        except Exception as e:  # noqa: BLE001 - count every failure kind
            if i >= n_warm:
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
        finally:
            inflight -= 1

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # Open a handful of connections first so the first scheduled sends do not all connect.
        async def ping():
            async with session.get(url.split("/api/")[0] + "/api/v1/health") as r:
                await r.read()
        await asyncio.gather(*[ping() for _ in range(8)], return_exceptions=True)
        tasks = []
        t0 = loop.time() + 0.2
        for i in range(n_warm + n):
            scheduled = t0 + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(i, scheduled)))
        t_last_sched = loop.time()
        await asyncio.gather(*tasks)
        t_end = loop.time()
    ok_lat = [x for x in lat[n_warm:] if x is not None]
    lags = [x * 1000.0 for x in lag[n_warm:] if x is not None]
    return {
        "requests": n, "warmup_requests": n_warm,
        "ok": len(ok_lat),
        "status_counts": {str(k): v for k, v in sorted(codes.items())},
        "non_2xx": sum(v for k, v in codes.items() if not 200 <= k < 300),
        "client_errors": errors,
        "p50_ms": round(pct(ok_lat, 50), 3) if ok_lat else None,
        "p90_ms": round(pct(ok_lat, 90), 3) if ok_lat else None,
        "p99_ms": round(pct(ok_lat, 99), 3) if ok_lat else None,
        "p999_ms": round(pct(ok_lat, 99.9), 3) if ok_lat else None,
        "max_ms": round(max(ok_lat), 3) if ok_lat else None,
        "mean_ms": round(statistics.fmean(ok_lat), 3) if ok_lat else None,
        "generator_lag_p99_ms": round(pct(lags, 99), 3) if lags else None,
        "generator_lag_max_ms": round(max(lags), 3) if lags else None,
        "max_in_flight": inflight_max,
        "achieved_send_rate": round((n_warm + n) / (t_last_sched - t0), 1) if t_last_sched > t0 else None,
        "drain_seconds": round(t_end - t_last_sched, 3),
    }


def run(settings, binary, workdir):
    b = Belay(binary, workdir, "latency", settings=settings).start()
    try:
        setup = setup_ingestion(b)
        log("[latency] open loop: %.0f events/s for %.0fs (after %.0fs at the same rate, not counted),"
            " latency from the scheduled send time" % (settings.rate, settings.latency_seconds, settings.warmup))
        r = asyncio.run(_open_loop(b.base + setup["path"], settings.rate, settings.latency_seconds, 2,
                                   settings.warmup))
        if not b.alive():
            raise BenchError("belay serve died during the latency run: %s" % b.tail())
        incidents = incident_count(b)
    finally:
        b.stop()
    log("[latency] %d sent, %d x 2xx; p50 %s ms, p99 %s ms, max %s ms; non-2xx %d %s; client errors %s; "
        "generator lag p99 %s ms" % (r["requests"], r["ok"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["non_2xx"],
                                     r["status_counts"], r["client_errors"] or "none", r["generator_lag_p99_ms"]))
    meets = (r["p99_ms"] is not None and r["p99_ms"] < GOALS["latency_p99_ms"] and r["non_2xx"] == 0
             and not r["client_errors"])
    return {"rate": settings.rate, "seconds": settings.latency_seconds, **r,
            "goal_p99_ms": GOALS["latency_p99_ms"], "meets_goal": meets, "incidents_after": incidents,
            "note": "latency = response fully read - scheduled send time (open loop, aiohttp, loopback); "
                    "generator_lag shows how late the client itself started sends"}


def rows(x, settings):
    return [
        ("open loop %.0f/s for %.0fs: p50 / p99 / max ms" % (x["rate"], x["seconds"]),
         "%s / %s / %s" % (fmt(x["p50_ms"], "%.2f"), fmt(x["p99_ms"], "%.2f"), fmt(x["max_ms"], "%.1f")),
         "p99 < %.0f" % GOALS["latency_p99_ms"], okmiss(x["meets_goal"])),
        ("  non-2xx / client errors / generator lag p99 ms",
         "%d / %d / %s" % (x["non_2xx"], sum(x["client_errors"].values()), fmt(x["generator_lag_p99_ms"], "%.2f")),
         "0 / 0", ""),
    ]
