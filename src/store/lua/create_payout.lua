-- Makes a payout exactly once per (merchant, payout id), atomically: the
-- creator's payable commissions in one currency (earliest payable first,
-- at most ARGV[5]) become PAID with this payout id, the ledger moves them
-- to paid less the outstanding clawback, which the payout deducts, and a
-- 'p' event records it. Paid commissions, their orders and their reversal
-- records are kept at least order retention from now. Checks its
-- idempotency key first. Pays only the quote the caller accepted (ARGV[6],
-- ARGV[7]), with the amounts the caller's rule made of it (ARGV[8],
-- ARGV[9]: `policy::payout_amount`): without a quote, or when the figures
-- have moved, it writes nothing and quotes them.
--
-- KEYS[1] the payout                KEYS[2] the ledger (creator, currency)
-- KEYS[3] the ledger's unpaid commissions (order id by payable ms)
-- KEYS[4] the merchant's event stream
-- KEYS[5] the merchant's payouts index    KEYS[6] the creator's payouts index
-- KEYS[7] the payout's commissions index
-- KEYS[8] the event stream's fold state   (all under the merchant's hash tag)
-- ARGV[1] payout id   ARGV[2] creator   ARGV[3] currency   ARGV[4] now, ms
-- ARGV[5] commissions a payout pays at most
-- ARGV[6] quoted payable (digits), or ''     ARGV[7] quoted clawback
-- ARGV[8] the amount to send                ARGV[9] the clawback it deducts
-- ARGV[10] the merchant's own hash tag, e.g. '{m-1}'
-- ARGV[11] order retention, ms      ARGV[12] payout retention, ms
-- ARGV[13] event stream TTL, ms
-- Returns {'existing', payout} | {'quote', payable .. ' ' .. clawback}
--       | {'new', payout}
-- where payout = creator, currency, amount, commissions, clawback deducted,
-- created ms (space separated).

local existing = redis.call('GET', KEYS[1])
if existing then
  return {'existing', existing}
end
local tag = ARGV[10]
local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[4], 'LIMIT', 0, ARGV[5])
local amounts = {}
for i, order in ipairs(due) do
  amounts[i] = redis.call('HGET', 'c:' .. tag .. ':' .. order, 'c') or '0'
end
local payable = exact_sum(amounts)
local clawback = redis.call('HGET', KEYS[2], 'cb') or '0'
if ARGV[6] ~= payable or ARGV[7] ~= clawback then
  return {'quote', payable .. ' ' .. clawback}
end

local paid = 0
for _, order in ipairs(due) do
  local key = 'c:' .. tag .. ':' .. order
  local sale = 'o:' .. tag .. ':' .. order
  local confirmed = redis.call('HGET', key, 'cf')
  -- An entry with no commission behind it counted 0 in the sum: dropped.
  if confirmed then
    paid = paid + 1
    redis.call('HSET', key, 'st', 'p', 'po', ARGV[1])
    -- The order, its refunded total and its reversal records live at least
    -- order retention from now; the commission exactly as long as its order.
    redis.call('PEXPIRE', sale, ARGV[11], 'GT')
    local ttl = redis.call('PTTL', sale)
    if ttl < 0 then
      -- The order outlived by its unpaid commission (paid past order
      -- retention after it became payable): the commission keeps its own.
      ttl = ARGV[11]
    end
    redis.call('PEXPIRE', key, ttl)
    redis.call('PEXPIRE', 'f:' .. tag .. ':' .. order, ttl)
    local reversals = 'w:' .. tag .. ':' .. order
    for _, reversal in ipairs(redis.call('SMEMBERS', reversals)) do
      redis.call('PEXPIRE', 'v:' .. tag .. ':' .. reversal, ttl)
    end
    redis.call('PEXPIRE', reversals, ttl)
    redis.call('ZADD', KEYS[7], 0, newest_first(confirmed, order))
  end
  redis.call('ZREM', KEYS[3], order)
end
redis.call('HINCRBY', KEYS[2], 'u', '-' .. payable)
redis.call('HINCRBY', KEYS[2], 'p', ARGV[8])
if ARGV[9] ~= '0' then
  redis.call('HINCRBY', KEYS[2], 'cb', '-' .. ARGV[9])
end

local payout = table.concat({ARGV[2], ARGV[3], ARGV[8], int(paid), ARGV[9], ARGV[4]}, ' ')
redis.call('SET', KEYS[1], payout, 'PX', ARGV[12])
local member = newest_first(ARGV[4], ARGV[1])
for i = 5, 6 do
  redis.call('ZADD', KEYS[i], 0, member)
  redis.call('PEXPIRE', KEYS[i], ARGV[12])
  prune_oldest(KEYS[i], 'p:' .. tag .. ':')
end
redis.call('PEXPIRE', KEYS[7], ARGV[12])

append_event(KEYS[4], KEYS[8], ARGV[13], {'k', 'p', 'at', ARGV[4],
  'cl', string.rep('0', 32), 'a', ' ' .. ARGV[2] .. '  ',
  'po', ARGV[1], 'am', ARGV[8], 'cu', ARGV[3], 'km', ARGV[9]})
return {'new', payout}
