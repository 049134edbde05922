-- 90 % balance reads, 10 % order records.
package.path = os.getenv("CLP_BENCH_LUA") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
init = function() c.init() end
request = function()
  if math.random(1, 10) == 1 then return c.record() end
  return c.balance()
end
