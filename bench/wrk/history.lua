-- make bench-history: the same page (the URL wrk is given, query included)
-- again and again, with the token from the environment.
package.path = os.getenv("CLP_BENCH_LUA") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
init = function() c.init() end
