-- Writes a campaign if the stored one is still at the expected revision
-- (compare-and-set), so a review never lands on a campaign that changed.
-- KEYS[1] the campaign
-- ARGV[1] expected revision, '' when there must be none
-- ARGV[2..] field, value, field, value, ...
-- Returns 1 when written, 0 when another write came first.

local revision = redis.call('HGET', KEYS[1], 'rev') or ''
if revision ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
