-- Writes a campaign if the stored one is still at the expected revision
-- (compare-and-set), so a review never lands on a campaign that changed;
-- with it, in the same step, its entries in the listing indexes: every
-- campaign's, and its merchant's (a campaign that changes merchant moves
-- from the old merchant's index to the new one's).
-- KEYS[1] the campaign
-- KEYS[2] the index of every campaign
-- KEYS[3] the index of the new merchant's campaigns
-- ARGV[1] expected revision, '' when there must be none
-- ARGV[2] the campaign id (the index member)
-- ARGV[3] prefix of a merchant's campaign index (the old merchant's is
--         this prefix and its id: same registry slot)
-- ARGV[4..] field, value, field, value, ... ('m' is the merchant)
-- Returns 1 when written, 0 when another write came first.

local revision = redis.call('HGET', KEYS[1], 'rev') or ''
if revision ~= ARGV[1] then
  return 0
end
local old_merchant = redis.call('HGET', KEYS[1], 'm')
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
local new_merchant = redis.call('HGET', KEYS[1], 'm')
if old_merchant and old_merchant ~= new_merchant then
  redis.call('ZREM', ARGV[3] .. old_merchant, ARGV[2])
end
redis.call('ZADD', KEYS[2], 0, ARGV[2])
redis.call('ZADD', KEYS[3], 0, ARGV[2])
return 1
