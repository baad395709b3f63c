-- wrk script of `make bench` (bench/bench.py writes the request file and parses the output).
--
--   wrk -t2 -c32 -d10s -s bench/wrk/requests.lua http://127.0.0.1:PORT -- FILE THREADS
--
-- FILE holds one request per line, tab-separated: METHOD, bearer TOKEN (may be empty),
-- PATH and an optional JSON BODY. Every request is formatted once in init(); each thread
-- then cycles through the lines from its own starting line, so many users' tokens are in
-- flight at once and no single user is measured. Responses outside 2xx are counted by
-- status code (wrk itself only counts codes > 399). done() prints one line
-- "BENCH_JSON {...}": requests, duration, latency percentiles in microseconds, errors.

local threads = {}
local next_id = 0

function setup(thread)
    thread:set("thread_id", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

function init(args)
    local file, nthreads = args[1], tonumber(args[2] or "1")
    if not file then
        error("usage: wrk ... -s requests.lua URL -- FILE THREADS")
    end
    reqs = {}
    for line in io.lines(file) do
        if line ~= "" then
            local method, token, path, body = line:match("^([^\t]+)\t([^\t]*)\t([^\t]+)\t?(.*)$")
            if not method then
                error("bad request line: " .. line)
            end
            local headers = {}
            if token ~= "" then
                headers["Authorization"] = "Bearer " .. token
            end
            if body == "" then
                body = nil
            else
                headers["Content-Type"] = "application/json"
            end
            reqs[#reqs + 1] = wrk.format(method, path, headers, body)
        end
    end
    if #reqs == 0 then
        error("no requests in " .. file)
    end
    -- spread the threads over the file
    pos = math.floor((thread_id or 0) * #reqs / nthreads)
    non2xx = 0
    codes = {}
end

function request()
    pos = pos + 1
    if pos > #reqs then
        pos = 1
    end
    return reqs[pos]
end

function response(status, headers, body)
    if status < 200 or status > 299 then
        non2xx = non2xx + 1
        local key = tostring(status)
        codes[key] = (codes[key] or 0) + 1
    end
end

function done(summary, latency, requests)
    local total_non2xx, by_code = 0, {}
    for _, thread in ipairs(threads) do
        total_non2xx = total_non2xx + (thread:get("non2xx") or 0)
        for code, n in pairs(thread:get("codes") or {}) do
            by_code[code] = (by_code[code] or 0) + n
        end
    end
    local parts = {}
    for code, n in pairs(by_code) do
        parts[#parts + 1] = string.format('"%s":%d', code, n)
    end
    local e = summary.errors
    io.write(string.format(
        'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
        '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,' ..
        '"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p99_9":%d},' ..
        '"errors":{"connect":%d,"read":%d,"write":%d,"status_gt_399":%d,"timeout":%d},' ..
        '"non2xx":%d,"status":{%s}}\n',
        summary.requests, summary.duration, summary.bytes,
        latency.min, latency.mean, latency.stdev, latency.max,
        latency:percentile(50), latency:percentile(75), latency:percentile(90),
        latency:percentile(99), latency:percentile(99.9),
        e.connect, e.read, e.write, e.status, e.timeout,
        total_non2xx, table.concat(parts, ",")))
end
