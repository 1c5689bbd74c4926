-- One request shape for wrk, read from the environment, so that an API route and the raw
-- DynamoDB Local call it makes are driven by the same load generator in the same way:
--   WRK_METHOD     GET (default), POST, ...
--   WRK_PATH       the path, "/" by default
--   WRK_HEADERS    "name: value" lines
--   WRK_BODY_FILE  a file holding the body
--   WRK_RUN        a prefix that makes "{{n}}" unique across runs against one table
--   WRK_RATE       requests per second for the whole run, spread over the threads (WRK_THREADS);
--                  unset: as fast as the server answers
--   WRK_STEPS_FILE requests made in turn, a round of them counted as one unit: steps separated
--                  by a line "--step--", each with on its first line either an X-Amz-Target
--                  operation (a DynamoDB call, POSTed to WRK_PATH) or a method and a path
--                  ("PUT /cart/items/..."), and its body after it; "{{n}}" is the same within one
--                  round. A connection makes its round's requests in order only when it is its
--                  thread's only connection (wrk -t equal to -c)
--   WRK_THREAD_VALUES lines, one a thread: "{{t}}" in a header becomes its thread's line (a
--                  customer's token, so that each connection has its own cart)
-- "{{n}}" in the path, a header or the body becomes a value unique to the request. Without it, wrk
-- sends one prebuilt request, its fastest path.
-- At the end it prints one line, "WRK_JSON {...}", for scripts/lib/bench_paths.py.

local method = os.getenv("WRK_METHOD") or "GET"
local path = os.getenv("WRK_PATH") or "/"
local run = os.getenv("WRK_RUN") or "run"
local headers = {}
for line in (os.getenv("WRK_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^%s*([^:]+):%s*(.-)%s*$")
  if name then headers[name] = value end
end
local body = nil
local body_file = os.getenv("WRK_BODY_FILE")
if body_file then
  local f = assert(io.open(body_file, "rb"))
  body = f:read("*a")
  f:close()
end

local function templated()
  if path:find("{{n}}", 1, true) or (body and body:find("{{n}}", 1, true)) then return true end
  for _, value in pairs(headers) do
    if value:find("{{n}}", 1, true) or value:find("{{t}}", 1, true) then return true end
  end
  return false
end

local thread_values = {}
for line in (os.getenv("WRK_THREAD_VALUES") or ""):gmatch("[^\n]+") do
  thread_values[#thread_values + 1] = line
end

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
  if #thread_values > 0 then
    thread:set("thread_value", thread_values[(threads - 1) % #thread_values + 1])
  end
end

function init(args)
  wrk.method = method
  wrk.path = path
  wrk.body = body
  for name, value in pairs(headers) do wrk.headers[name] = value end
end

local steps_file = os.getenv("WRK_STEPS_FILE")
local steps = {}
if steps_file then
  local f = assert(io.open(steps_file, "rb"))
  local text = f:read("*a") .. "\n--step--\n"
  f:close()
  for step in text:gmatch("(.-)\n%-%-step%-%-\n") do
    local operation, step_body = step:match("^([^\n]+)\n(.*)$")
    if operation then steps[#steps + 1] = { operation = operation, body = step_body } end
  end
  assert(#steps > 0, "no steps in " .. steps_file)
end

-- The headers with "{{n}}" made the value `n`, unique to this thread's request (or round), and
-- "{{t}}" this thread's value.
local function headers_for(n)
  local with = {}
  for name, value in pairs(headers) do
    value = value:gsub("{{n}}", n)
    if thread_value then value = value:gsub("{{t}}", thread_value) end
    with[name] = value
  end
  return with
end

if #steps > 0 then
  -- Round r of a thread is its requests r*#steps+1 .. (r+1)*#steps: the route's calls, in order.
  local counter = 0
  function request()
    local step = steps[counter % #steps + 1]
    local n = string.format("%s-%d-%d", run, thread_id, math.floor(counter / #steps))
    counter = counter + 1
    local with = headers_for(n)
    local step_body = (step.body:gsub("{{n}}", n))
    local step_method, step_path = step.operation:match("^(%u+) (/%S*)$")
    if step_method then
      return wrk.format(step_method, step_path, with, step_body)
    end
    with["X-Amz-Target"] = "DynamoDB_20120810." .. step.operation
    return wrk.format("POST", path, with, step_body)
  end
elseif templated() then
  local counter = 0
  function request()
    counter = counter + 1
    local n = string.format("%s-%d-%d", run, thread_id, counter)
    local this_body = body and body:gsub("{{n}}", n) or nil
    return wrk.format(method, (path:gsub("{{n}}", n)), headers_for(n), this_body)
  end
end

-- A fixed rate: each thread hands out send times one slot apart, whatever the answers' latency
-- (a fixed pause after each answer would slow the rate by the latency). wrk's LuaJIT reads the
-- monotonic clock through its FFI; wrk calls delay() before each request of a connection.
local rate = tonumber(os.getenv("WRK_RATE") or "")
if rate then
  local ffi = require("ffi")
  ffi.cdef[[
    typedef struct { long tv_sec; long tv_nsec; } cartwheel_timespec;
    int clock_gettime(int clock, cartwheel_timespec *now);
  ]]
  local now_ts = ffi.new("cartwheel_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, now_ts) -- CLOCK_MONOTONIC
    return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
  end
  local threads = tonumber(os.getenv("WRK_THREADS") or "1")
  local slot_ms = 1000 * threads / rate
  local next_ms = nil
  function delay()
    local now = now_ms()
    local at = math.max(next_ms or now, now)
    next_ms = at + slot_ms
    return math.floor(at - now)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
