package.path = os.getenv("CLP_BENCH_LUA") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
init = function() c.init() end
request = function() return c.record() end
