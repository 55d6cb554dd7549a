-- bench/detect_ingest.lua - wrk script for `bash bench/detect` (see bench/README.md, "Detect").
--
--   wrk -t1 -c64 -d10s -s bench/detect_ingest.lua URL -- TEMPLATE_FILE RUN_ID MODE POOL
--
-- POSTs one Alertmanager v4 webhook per request.  TEMPLATE_FILE holds the JSON
-- body (written by bench/detect.py, so wrk and the Python load generators send
-- the same payload) with the placeholder @@FP@@ wherever the alert's
-- fingerprint goes (fingerprint, instance label, summary).
--   MODE distinct: every request carries a new fingerprint (RUN_ID, wrk thread,
--                  per-thread counter -> 16 hex digits), i.e. a new signal.
--   MODE repeat:   fingerprints cycle through POOL values per thread, i.e. the
--                  "already firing" de-duplication path after the first round.
-- Only 2xx answers count as accepted.  done() prints one line
--   DETECT-WRK {"ok":N,"s503":N,...}
-- with the counts summed over all threads.

local threads = {}
local next_tid = 0

function setup(thread)
    thread:set("tid", next_tid)
    next_tid = next_tid + 1
    table.insert(threads, thread)
end

local parts = {}
local run_id = 0
local mode = "distinct"
local pool = 1000
local counter = 0
local headers = { ["Content-Type"] = "application/json" }

ok, s503, s4xx, s5xx, other, retry_after = 0, 0, 0, 0, 0, 0

function init(args)
    local path = args[1]
    local f = assert(io.open(path, "rb"), "cannot open template " .. tostring(path))
    local tpl = f:read("*a")
    f:close()
    local start = 1
    while true do
        local i, j = string.find(tpl, "@@FP@@", start, true)
        if not i then
            table.insert(parts, string.sub(tpl, start))
            break
        end
        table.insert(parts, string.sub(tpl, start, i - 1))
        start = j + 1
    end
    run_id = tonumber(args[2] or "0") or 0
    mode = args[3] or "distinct"
    pool = tonumber(args[4] or "1000") or 1000
end

function request()
    counter = counter + 1
    local n = counter
    if mode == "repeat" then
        n = (counter - 1) % pool
    end
    local fp = string.format("%02x%02x%04x%08x", run_id % 256, tid % 256, math.floor(n / 4294967296) % 65536,
        n % 4294967296)
    return wrk.format("POST", nil, headers, table.concat(parts, fp))
end

function response(status, hdrs, body)
    if status >= 200 and status < 300 then
        ok = ok + 1
    elseif status == 503 then
        s503 = s503 + 1
        if hdrs["Retry-After"] or hdrs["retry-after"] then
            retry_after = retry_after + 1
        end
    elseif status >= 400 and status < 500 then
        s4xx = s4xx + 1
    elseif status >= 500 then
        s5xx = s5xx + 1
    else
        other = other + 1
    end
end

function done(summary, latency, requests)
    local t = { ok = 0, s503 = 0, s4xx = 0, s5xx = 0, other = 0, retry_after = 0 }
    for _, thread in ipairs(threads) do
        for k, _ in pairs(t) do
            t[k] = t[k] + (thread:get(k) or 0)
        end
    end
    local e = summary.errors
    io.write(string.format(
        'DETECT-WRK {"ok":%d,"s503":%d,"retry_after":%d,"s4xx":%d,"s5xx":%d,"other":%d,' ..
        '"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
        '"timeouts":%d,"status_errors":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
        t.ok, t.s503, t.retry_after, t.s4xx, t.s5xx, t.other, summary.requests, summary.duration,
        e.connect, e.read, e.write, e.timeout, e.status,
        latency:percentile(50), latency:percentile(99), latency.max))
end
