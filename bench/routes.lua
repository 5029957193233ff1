-- wrk script for bench/api_load.py: GET a random path from the file named after "--",
-- with the bearer token from WRK_TOKEN; done() prints one JSON line of results.
local paths = {}
local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("thread_number", threads)
end

function init(args)
    for line in io.lines(args[1]) do
        paths[#paths + 1] = line
    end
    math.randomseed(os.time() * 100 + thread_number)
end

wrk.headers["Authorization"] = "Bearer " .. os.getenv("WRK_TOKEN")

function request()
    return wrk.format("GET", paths[math.random(#paths)])
end

function done(summary, latency, requests)
    local errors = summary.errors
    io.write(string.format(
        'RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
            .. '"status_errors": %d, "socket_errors": %d}\n',
        summary.requests, summary.duration, summary.bytes,
        latency:percentile(50), latency:percentile(95), latency:percentile(99),
        errors.status, errors.connect + errors.read + errors.write + errors.timeout
    ))
end
