-- Records a refund exactly once per (merchant, reversal id), atomically:
-- the reversal record, the order's refunded total, the refunded counters of
-- every dimension of the sale and an 'r' event. Checks its idempotency key
-- first, so it is safe to run twice; reports what it found instead of
-- writing when the reversal id is taken, the order is gone, or the refund
-- is in another currency or above what is left (a refund never takes a
-- sale below zero; what that means is the caller's to decide).
--
-- KEYS[1] the reversal          KEYS[2] the order
-- KEYS[3] the order's refunded total
-- KEYS[4] the merchant's event stream     (all under the merchant's hash tag)
-- The counter keys are derived here from the order's attribution, under
-- the same hash tag (ARGV[5]).
-- ARGV[1] order id    ARGV[2] amount, minor units    ARGV[3] currency
-- ARGV[4] now, ms     ARGV[5] counter key prefix, e.g. 'n:{m-1}:'
-- ARGV[6] hour bucket start, s      ARGV[7] day bucket start, s
-- ARGV[8] hourly counter TTL, ms    ARGV[9] daily counter TTL, ms
-- ARGV[10] merchant id    ARGV[11] reversal id
-- ARGV[12] event stream length to keep   ARGV[13] longest event age, ms, or ''
-- ARGV[14] event stream TTL, ms
-- Returns {'existing', reversal} | {'no_order'} | {'currency', sale currency}
--       | {'exceeds', what is left} | {'new', remaining}
-- where reversal = order id, amount, currency, remaining (space separated).

local existing = redis.call('GET', KEYS[1])
if existing then
  return {'existing', existing}
end
local order = redis.call('GET', KEYS[2])
if not order then
  return {'no_order'}
end
local click, sale, currency, _, _, campaign, creator, video, product =
  string.match(order, '^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+)$')
if currency ~= ARGV[3] then
  return {'currency', currency}
end
local left = tonumber(sale) - tonumber(redis.call('GET', KEYS[3]) or '0')
local amount = tonumber(ARGV[2])
if amount > left then
  return {'exceeds', tostring(left)}
end

local ttl = redis.call('PTTL', KEYS[2])
-- Created by the first refund (the total is then the amount), with the order's TTL.
if redis.call('INCRBY', KEYS[3], amount) == amount then
  redis.call('PEXPIRE', KEYS[3], ttl)
end
local ids = {ARGV[10], campaign, creator, video, product}
local dims = {'m', 'c', 'r', 'v', 'p'}
local refunded = 'f:' .. currency
for i = 1, 5 do
  local hour = ARGV[5] .. 'h:' .. ARGV[6] .. ':' .. dims[i] .. ':' .. ids[i]
  local day = ARGV[5] .. 'd:' .. ARGV[7] .. ':' .. dims[i] .. ':' .. ids[i]
  hincr(hour, refunded, amount, ARGV[8])
  hincr(day, refunded, amount, ARGV[9])
end
local remaining = tostring(left - amount)
redis.call('SET', KEYS[1], table.concat({ARGV[1], ARGV[2], currency, remaining}, ' '), 'PX', ttl)
redis.call('XADD', KEYS[4], 'MAXLEN', '=', ARGV[12], '*',
  'k', 'r', 'at', ARGV[4], 'cl', click,
  'a', table.concat({campaign, creator, video, product}, ' '),
  'o', ARGV[1], 'rv', ARGV[11], 'am', ARGV[2], 'cu', currency)
if ARGV[13] ~= '' then
  redis.call('XTRIM', KEYS[4], 'MINID', '=', oldest_event(ARGV[13]))
end
redis.call('PEXPIRE', KEYS[4], ARGV[14])
return {'new', remaining}
