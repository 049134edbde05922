-- Shared by the bench's wrk scripts: the token and sizes come from the
-- environment; each thread gets its own id for disjoint order-id ranges.
local M = {}
M.token = os.getenv("CLP_BENCH_TOKEN")
-- Levels are not hierarchical: the 90/10 mix reads with a Can_Read token
-- and records with a Can_Modify_Orders one.
M.read_token = os.getenv("CLP_BENCH_READ_TOKEN") or M.token
M.customers = tonumber(os.getenv("CLP_BENCH_CUSTOMERS"))
M.base = tonumber(os.getenv("CLP_BENCH_BASE") or "0")
M.threads = tonumber(os.getenv("CLP_BENCH_THREADS") or "1")

local threads = {}
function M.setup(thread)
  thread:set("tid", #threads)
  threads[#threads + 1] = thread
end

function M.init()
  wrk.headers["Authorization"] = "Bearer " .. M.token
  M.read_headers = { ["Authorization"] = "Bearer " .. M.read_token }
  math.randomseed(os.time() + (tid or 0) * 7919)
  seq = 0
end

M.per_customer = tonumber(os.getenv("CLP_BENCH_PER_CUSTOMER") or "1")

-- The next order of this thread: index i = base + seq * threads + tid.  seq
-- is a global of the thread's state so done() can read it.
function M.next_index()
  seq = seq + 1
  return M.base + seq * M.threads + (tid or 0)
end

-- A new order id for records: the index itself (base is far above the
-- loaded ids).
function M.next_order_id()
  return string.format("%d", M.next_index())
end

-- A loaded order for returns: consecutive indexes go to different
-- customers (loaded ids are (customer - 1) * per_customer + k), so
-- concurrent returns do not queue on one customer's row lock.
function M.next_loaded_order_id()
  local i = M.next_index()
  return string.format("%d", (i % M.customers) * M.per_customer
    + math.floor(i / M.customers) + 1)
end

-- Tells the bench the highest index handed out, so the next run starts
-- above it.
function M.done()
  local max_seq = 0
  for _, t in ipairs(threads) do
    local s = t:get("seq") or 0
    if s > max_seq then max_seq = s end
  end
  io.write(string.format("clp-bench-last-id %d\n",
    M.base + max_seq * M.threads + M.threads))
end

function M.balance()
  return wrk.format("GET", "/v1/balance?user_id=" .. math.random(1, M.customers),
    M.read_headers)
end

function M.record()
  local body = string.format(
    '{"user_id":%d,"order_id":%s,"total_cost":%d,"completed_at":1700000000}',
    math.random(1, M.customers), M.next_order_id(), math.random(0, 100000))
  -- A headers table replaces wrk.headers, so it carries the token too.
  return wrk.format("POST", "/v1/orders",
    { ["Authorization"] = wrk.headers["Authorization"],
      ["Content-Type"] = "application/json" }, body)
end

function M.return_order()
  return wrk.format("DELETE", "/v1/orders/" .. M.next_loaded_order_id())
end

return M
