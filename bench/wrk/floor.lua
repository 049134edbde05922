-- nginx alone: the HTTP floor.
request = function() return wrk.format("GET", "/floor") end
