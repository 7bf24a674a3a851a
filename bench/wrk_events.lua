-- wrk script for bench/webhook_bench.py --wrk: POSTs pre-signed LINE webhook bodies, each once.
--   wrk -t2 -c32 -d10s --latency -s bench/wrk_events.lua http://127.0.0.1:PORT/callback -- EVENTS_FILE 2
-- EVENTS_FILE has one event a line: the X-Line-Signature, a tab, the body (JSON on one line). Thread i of n
-- (the last argument) sends lines i, i+n, i+2n, ... in turn (so no two threads send the same event), from the start again
-- when its share runs out (the benchmark makes more events than a run sends and says if any repeated).
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  requests_made, bodies, signatures = 0, {}, {}
  local nthreads = tonumber(args[2])
  local line_no = 0
  for line in io.lines(args[1]) do
    if line_no % nthreads == id then
      local tab = string.find(line, "\t", 1, true)
      table.insert(signatures, string.sub(line, 1, tab - 1))
      table.insert(bodies, string.sub(line, tab + 1))
    end
    line_no = line_no + 1
  end
  index = 0
  share = #bodies
end

function request()
  index = index % #bodies + 1
  requests_made = requests_made + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json; charset=utf-8",
                                  ["X-Line-Signature"] = signatures[index],
                                  ["User-Agent"] = "LineBotWebhook/2.0"}, bodies[index])
end

function done(summary, latency, requests)
  local repeated = 0
  for _, thread in ipairs(threads) do
    local made, share = thread:get("requests_made"), thread:get("share")
    if made > share then repeated = repeated + made - share end
  end
  io.write(string.format("BENCH requests %d errors %d repeated %d p50_ms %.3f p99_ms %.3f max_ms %.3f seconds %.3f\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status
    + summary.errors.timeout, repeated, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.duration / 1e6))
end
