-- wrk script: GET a random path from the file named by the PATHS environment variable (one path
-- per line), so a run spreads over many products or queries instead of one cached answer.
local paths = {}

function init(args)
  local file = assert(io.open(os.getenv("PATHS"), "r"))
  for line in file:lines() do
    if #line > 0 then paths[#paths + 1] = line end
  end
  file:close()
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("status " .. status .. "\n")
  end
end
