-- Records a refund exactly once per (merchant, reversal id), atomically:
-- the reversal record, the order's refunded total, the commission lowered
-- to the caller's plan (its ledger with it: a paid commission's difference
-- becomes clawback), the refunded and commission counters of every
-- dimension of the sale, today's commission top lists and an 'r' event.
-- The commission's part is the caller's plan (`policy::refund_plan`, from
-- the figures this script quotes: a product of two amounts is past a
-- double's exact range, and the rule is written once): without a plan, or
-- with one made from a refunded total or a commission state that no longer
-- stands, the script writes nothing and quotes them. Checks its idempotency key
-- first, so it is safe to run twice; reports what it found instead of
-- writing when the reversal id is taken, the order is gone, or the refund
-- is in another currency or above what is left (a refund never takes a
-- sale below zero; what that means is the caller's to decide).
--
-- KEYS[1] the reversal          KEYS[2] the order
-- KEYS[3] the order's refunded total
-- KEYS[4] the merchant's event stream
-- KEYS[5] the order's commission           (all under the merchant's hash tag)
-- The counter keys are derived here from the order's attribution, under
-- the same hash tag (ARGV[5]).
-- ARGV[1] order id    ARGV[2] amount, minor units    ARGV[3] currency
-- ARGV[4] now, ms     ARGV[5] counter key prefix, e.g. 'n:{m-1}:'
-- ARGV[6] hour bucket start, s      ARGV[7] day bucket start, s
-- ARGV[8] hourly counter TTL, ms    ARGV[9] daily counter TTL, ms
-- ARGV[10] merchant id    ARGV[11] reversal id
-- ARGV[12] event stream length to keep   ARGV[13] longest event age, ms, or ''
-- ARGV[14] event stream and top list TTL, ms
-- ARGV[15] the plan's refunded total before this refund, or '' (no plan)
-- ARGV[16] the plan's commission state before ('u', 'h', 'p', 'v')
-- ARGV[17] the commission after this refund   ARGV[18] its state after
-- ARGV[19] what this refund takes back from it
-- ARGV[20], ARGV[21], ARGV[22] what the ledger's unpaid, held and clawback
--          totals move by
-- ARGV[23] the merchant's own hash tag, e.g. '{m-1}'
-- ARGV[24] top list key prefix of the day, e.g. 't:{m-1}:<day>:'
-- KEYS[6] the order's reversal ids (payouts keep them as long as the order)
-- Returns {'existing', reversal} | {'no_order'} | {'currency', sale currency}
--       | {'exceeds', what is left}
--       | {'quote', sale amount, refunded, earned, commission, state}
--       | {'new', remaining .. ' ' .. commission remaining}
-- where reversal = order id, amount, currency, remaining, commission
-- remaining, recorded ms, commission taken back, campaign, creator, video,
-- product (space separated).

local existing = redis.call('GET', KEYS[1])
if existing then
  return {'existing', existing}
end
local order = redis.call('GET', KEYS[2])
if not order then
  return {'no_order'}
end
-- Nine fields, and a tenth (the commission) since commissions.
local click, sale, currency, _, _, campaign, creator, video, product =
  string.match(order, '^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+)')
if currency ~= ARGV[3] then
  return {'currency', currency}
end
local left = tonumber(sale) - tonumber(redis.call('GET', KEYS[3]) or '0')
local amount = tonumber(ARGV[2])
if amount > left then
  return {'exceeds', tostring(left)}
end

local refunded = tonumber(redis.call('GET', KEYS[3]) or '0')
local commission = redis.call('HMGET', KEYS[5], 'c0', 'c', 'st')
local after, taken = '0', 0
if commission[1] then
  local state = commission[3]
  if ARGV[15] == '' or tonumber(ARGV[15]) ~= refunded or ARGV[16] ~= state then
    return {'quote', table.concat({sale, int(refunded), commission[1], commission[2], state}, ' ')}
  end
  after, taken = ARGV[17], tonumber(ARGV[19])
  local ledger = ARGV[23] .. ':' .. creator .. ':' .. currency
  for i, field in ipairs({'u', 'h', 'cb'}) do
    if ARGV[19 + i] ~= '0' then
      redis.call('HINCRBY', 'l:' .. ledger, field, ARGV[19 + i])
    end
  end
  redis.call('HSET', KEYS[5], 'c', after, 'st', ARGV[18], 'sa', int(left - amount))
  if ARGV[18] == 'v' and state ~= 'v' then
    redis.call('ZREM', 'u:' .. ledger, ARGV[1])
    redis.call('PEXPIRE', KEYS[5], redis.call('PTTL', KEYS[2]))
  end
end

local ttl = redis.call('PTTL', KEYS[2])
-- Created by the first refund (the total is then the amount), with the order's TTL.
if redis.call('INCRBY', KEYS[3], amount) == amount then
  redis.call('PEXPIRE', KEYS[3], ttl)
end
local ids = {ARGV[10], campaign, creator, video, product}
local dims = {'m', 'c', 'r', 'v', 'p'}
local refunds = 'f:' .. currency
local earnings = 'k:' .. currency
for i = 1, 5 do
  local hour = ARGV[5] .. 'h:' .. ARGV[6] .. ':' .. dims[i] .. ':' .. ids[i]
  local day = ARGV[5] .. 'd:' .. ARGV[7] .. ':' .. dims[i] .. ':' .. ids[i]
  hincr(hour, refunds, amount, ARGV[8])
  hincr(day, refunds, amount, ARGV[9])
  if taken > 0 then
    hincr(hour, earnings, int(-taken), ARGV[8])
    hincr(day, earnings, int(-taken), ARGV[9])
    if i > 1 then
      zincr(ARGV[24] .. dims[i] .. ':' .. earnings, int(-taken), ids[i], ARGV[14])
    end
  end
end
local remaining = int(left - amount)
redis.call('SET', KEYS[1], table.concat({ARGV[1], ARGV[2], currency, remaining, after,
  ARGV[4], int(taken), campaign, creator, video, product}, ' '), 'PX', ttl)
redis.call('SADD', KEYS[6], ARGV[11])
redis.call('PEXPIRE', KEYS[6], ttl)
redis.call('XADD', KEYS[4], 'MAXLEN', '=', ARGV[12], '*',
  'k', 'r', 'at', ARGV[4], 'cl', click,
  'a', table.concat({campaign, creator, video, product}, ' '),
  'o', ARGV[1], 'rv', ARGV[11], 'am', ARGV[2], 'cu', currency, 'km', int(taken))
if ARGV[13] ~= '' then
  redis.call('XTRIM', KEYS[4], 'MINID', '=', oldest_event(ARGV[13]))
end
redis.call('PEXPIRE', KEYS[4], ARGV[14])
return {'new', remaining .. ' ' .. after}
