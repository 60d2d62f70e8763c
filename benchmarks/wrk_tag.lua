-- wrk script for benchmarks/api_load.py: POST /v1/tag cycling through real request bodies
-- (one JSON document per line in the file given after `--`), then print one machine-readable
-- summary line. Each wrk thread has its own Lua state and starts at a different offset.
local bodies = {}
local index = 0
local path = "/v1/tag"
local headers = { ["Content-Type"] = "application/json" }
local counter = 0

setup = function(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
end

init = function(args)
  for line in io.lines(args[1]) do
    if #line > 0 then bodies[#bodies + 1] = line end
  end
  if args[2] then path = args[2] end
  index = ((thread_number or 1) * 997) % #bodies
end

request = function()
  index = index % #bodies + 1
  return wrk.format("POST", path, headers, bodies[index])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "errors_connect": %d, ' ..
    '"errors_read": %d, "errors_write": %d, "errors_status": %d, "errors_timeout": %d, ' ..
    '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "p999": %d, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max))
end
