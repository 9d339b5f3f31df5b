-- Cycles wrk's requests through the paths in the file named after `--` (one per line), so one
-- run hits many cached objects instead of one.
local paths = {}
local next = 0

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then paths[#paths + 1] = line end
  end
end

function request()
  next = next % #paths + 1
  return wrk.format("GET", paths[next])
end
