-- wrk script for bench/api_load.py: GET a random line of the file named after "--", with the
-- bearer token from WRK_TOKEN (no Authorization header when WRK_TOKEN is empty or unset).
-- A line is a path, optionally followed by tab-separated extra headers ("Name: value"), such
-- as If-None-Match for a revalidation. done() prints one JSON line of results, with the count
-- of answers per HTTP status.
local requests_by_line = {}
local threads = {}

function setup(thread)
    threads[#threads + 1] = thread
    thread:set("thread_number", #threads)
end

local token = os.getenv("WRK_TOKEN") or ""
if token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
end

function init(args)
    for line in io.lines(args[1]) do
        local fields = {}
        for field in string.gmatch(line, "[^\t]+") do
            fields[#fields + 1] = field
        end
        local headers = nil -- nil: wrk.headers as they are
        if #fields > 1 then
            headers = {}
            for name, value in pairs(wrk.headers) do
                headers[name] = value
            end
            for i = 2, #fields do
                local name, value = string.match(fields[i], "^([^:]+):%s*(.*)$")
                headers[name] = value
            end
        end
        requests_by_line[#requests_by_line + 1] = { path = fields[1], headers = headers }
    end
    math.randomseed(os.time() * 100 + thread_number)
end

function request()
    local chosen = requests_by_line[math.random(#requests_by_line)]
    return wrk.format("GET", chosen.path, chosen.headers)
end

-- Answers per status, per thread (a global, so done() can read it with thread:get).
statuses = {}

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
    local totals = {}
    for _, thread in ipairs(threads) do
        for status, count in pairs(thread:get("statuses")) do
            totals[status] = (totals[status] or 0) + count
        end
    end
    local parts = {}
    for status, count in pairs(totals) do
        parts[#parts + 1] = string.format('"%d": %d', status, count)
    end
    local errors = summary.errors
    io.write(string.format(
        'RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, '
            .. '"status_errors": %d, "socket_errors": %d, "statuses": {%s}}\n',
        summary.requests, summary.duration, summary.bytes,
        latency:percentile(50), latency:percentile(95), latency:percentile(99),
        errors.status, errors.connect + errors.read + errors.write + errors.timeout,
        table.concat(parts, ", ")
    ))
end
