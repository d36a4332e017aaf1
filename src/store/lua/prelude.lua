-- Shared by the scripts that need it: prepended to them at build time
-- (see `script!` in src/store/redis/scripts.rs).

-- Lower-case hex of a byte string (one format call, not one per byte).
local function hex(bytes)
  return string.format(string.rep('%02x', #bytes), string.byte(bytes, 1, -1))
end

-- The oldest event id to keep, by Redis's own clock (which stamps the ids).
local function oldest_event(max_age_ms)
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(max_age_ms)
end


-- Counter writes: add `by` and set the key's TTL only when the write may
-- have created it. A key is new only if the field (or member) is new, and
-- then its value is `by`; so the PEXPIRE (NX: a TTL is never moved) runs on
-- a bucket's first write of that field, not on every write.
local function hincr(key, field, by, ttl)
  local value = redis.call('HINCRBY', key, field, by)
  if value == tonumber(by) then
    redis.call('PEXPIRE', key, ttl, 'NX')
  end
  return value
end

local function zincr(key, by, member, ttl)
  if tonumber(redis.call('ZINCRBY', key, by, member)) == tonumber(by) then
    redis.call('PEXPIRE', key, ttl, 'NX')
  end
end
