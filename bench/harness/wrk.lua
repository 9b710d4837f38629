-- wrk's script for the benchmark's read-only windows (bench/harness/wrk.py).
-- WRK_REQUESTS: a file of "path<TAB>token" lines (token empty: no Authorization header), each the real
-- token of the user the workload sends that request as; every thread walks the list from its own offset.
-- WRK_OUT: where done() writes the window's figures as JSON.
local started = 0
local counter = 0
local lines = {}

function setup(thread)
  thread:set("offset", started)
  started = started + 1
end

function init(args)
  for line in io.lines(os.getenv("WRK_REQUESTS")) do
    local path, token = line:match("^([^\t]+)\t?(.*)$")
    if path then
      local headers = {Accept = "application/json"}
      if token ~= "" then headers["Authorization"] = "Token " .. token end
      table.insert(lines, wrk.format("GET", path, headers))
    end
  end
  counter = (offset or 0) * 7919
end

function request()
  counter = counter + 1
  return lines[(counter % #lines) + 1]
end

function done(summary, latency, requests)
  local e = summary.errors
  local out = io.open(os.getenv("WRK_OUT"), "w")
  out:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "errors": {"connect": %d, "read": %d, "write": %d, '
      .. '"status": %d, "timeout": %d}, "latency_us": {"p50": %d, "p95": %d, "p99": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean))
  out:close()
end
