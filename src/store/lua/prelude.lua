-- Shared by the scripts that need it: prepended to them at build time
-- (see `script!` in src/store/redis.rs).

-- Lower-case hex of a byte string.
local function hex(bytes)
  return (string.gsub(bytes, '.', function(c) return string.format('%02x', string.byte(c)) end))
end

-- The oldest event id to keep, by Redis's own clock (which stamps the ids).
local function oldest_event(max_age_ms)
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(max_age_ms)
end

