-- Balance reads, each with the next of many tokens (more apps than a
-- worker's cache holds), so nearly every request pays a yescrypt check.
package.path = os.getenv("CLP_BENCH_LUA") .. "/?.lua;" .. package.path
local c = require("common")
local tokens = {}
for t in io.lines(os.getenv("CLP_BENCH_TOKENS")) do tokens[#tokens + 1] = t end
local i = 0
setup = c.setup
done = c.done
init = function() c.init(); i = (tid or 0) * 997 end
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/v1/balance?user_id=" .. math.random(1, c.customers),
    { ["Authorization"] = "Bearer " .. tokens[i] })
end
