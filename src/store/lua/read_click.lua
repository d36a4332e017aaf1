-- Reads a click record and its attribution in the click's own shard, for a
-- sale of a sharded merchant (the sale itself is counted on shard 0).
-- KEYS[1] the click bucket   ARGV[1] click id (16 bytes)
-- ARGV[2] attribution key prefix of the same hash tag, e.g. 'a:{m-1 2}:'
-- Returns {click value, attribution} or {} when the click is gone.
local click = redis.call('HGET', KEYS[1], ARGV[1])
if not click then
  return {}
end
local attr_id = hex(string.sub(click, 1, 12))
local attribution = redis.call('GET', ARGV[2] .. attr_id)
if not attribution then
  return {}
end
return {click, attribution}
