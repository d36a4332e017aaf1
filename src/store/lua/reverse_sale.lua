-- Records a refund exactly once per (merchant, reversal id), atomically:
-- the reversal record, the order's refunded total, the commission lowered
-- to the caller's plan (its ledger with it: a paid commission's difference
-- becomes clawback) and an 'r' event, from which the refunded and
-- commission counters of every dimension of the sale and today's
-- commission top lists are folded (`fold.lua`).
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
-- KEYS[5] the order's commission
-- KEYS[6] the order's reversal ids (payouts keep them as long as the order)
-- KEYS[7] the event stream's fold state    (all under the merchant's hash tag)
-- ARGV[1] order id    ARGV[2] amount, minor units    ARGV[3] currency
-- ARGV[4] now, ms     ARGV[5] reversal id    ARGV[6] event stream TTL, ms
-- ARGV[7] the plan's refunded total before this refund, or '' (no plan)
-- ARGV[8] the plan's commission state before ('u', 'h', 'p', 'v')
-- ARGV[9] the commission after this refund   ARGV[10] its state after
-- ARGV[11] what this refund takes back from it
-- ARGV[12], ARGV[13], ARGV[14] what the ledger's unpaid, held and clawback
--          totals move by
-- ARGV[15] the merchant's own hash tag, e.g. '{m-1}'
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
local refunded = tonumber(redis.call('GET', KEYS[3]) or '0')
local left = tonumber(sale) - refunded
local amount = tonumber(ARGV[2])
if amount > left then
  return {'exceeds', tostring(left)}
end

local commission = redis.call('HMGET', KEYS[5], 'c0', 'c', 'st')
local after, taken = '0', 0
if commission[1] then
  local state = commission[3]
  if ARGV[7] == '' or tonumber(ARGV[7]) ~= refunded or ARGV[8] ~= state then
    return {'quote', table.concat({sale, int(refunded), commission[1], commission[2], state}, ' ')}
  end
  after, taken = ARGV[9], tonumber(ARGV[11])
  local ledger = ARGV[15] .. ':' .. creator .. ':' .. currency
  for i, field in ipairs({'u', 'h', 'cb'}) do
    if ARGV[11 + i] ~= '0' then
      redis.call('HINCRBY', 'l:' .. ledger, field, ARGV[11 + i])
    end
  end
  redis.call('HSET', KEYS[5], 'c', after, 'st', ARGV[10], 'sa', int(left - amount))
  if ARGV[10] == 'v' and state ~= 'v' then
    redis.call('ZREM', 'u:' .. ledger, ARGV[1])
    redis.call('PEXPIRE', KEYS[5], redis.call('PTTL', KEYS[2]))
  end
end

local ttl = redis.call('PTTL', KEYS[2])
-- Created by the first refund (the total is then the amount), with the order's TTL.
if redis.call('INCRBY', KEYS[3], amount) == amount then
  redis.call('PEXPIRE', KEYS[3], ttl)
end
local remaining = int(left - amount)
redis.call('SET', KEYS[1], table.concat({ARGV[1], ARGV[2], currency, remaining, after,
  ARGV[4], int(taken), campaign, creator, video, product}, ' '), 'PX', ttl)
redis.call('SADD', KEYS[6], ARGV[5])
redis.call('PEXPIRE', KEYS[6], ttl)
append_event(KEYS[4], KEYS[7], ARGV[6], {'k', 'r', 'at', ARGV[4], 'cl', click,
  'a', table.concat({campaign, creator, video, product}, ' '),
  'o', ARGV[1], 'rv', ARGV[5], 'am', ARGV[2], 'cu', currency, 'km', int(taken)})
return {'new', remaining .. ' ' .. after}
