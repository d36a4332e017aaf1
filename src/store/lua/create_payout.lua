-- Makes a payout exactly once per (merchant, payout id), atomically: the
-- creator's payable commissions in one currency (earliest payable first,
-- at most ARGV[5]) become PAID with this payout id, the ledger moves them
-- to paid less the outstanding clawback, which the payout deducts, and a
-- 'p' event records it. Checks its idempotency key first. Pays only the
-- quote the caller accepted (ARGV[6], ARGV[7]): without one, or when the
-- figures have moved, it writes nothing and quotes them.
--
-- KEYS[1] the payout                KEYS[2] the ledger (creator, currency)
-- KEYS[3] the ledger's unpaid commissions (order id by payable ms)
-- KEYS[4] the merchant's event stream
-- KEYS[5] the merchant's payouts index    KEYS[6] the creator's payouts index
-- KEYS[7] the payout's commissions index  (all under the merchant's hash tag)
-- ARGV[1] payout id   ARGV[2] creator   ARGV[3] currency   ARGV[4] now, ms
-- ARGV[5] commissions a payout pays at most
-- ARGV[6] quoted payable, or ''     ARGV[7] quoted clawback
-- ARGV[8] the merchant's own hash tag, e.g. '{m-1}'
-- ARGV[9] order retention, ms: paid commissions and their orders are kept
--         this long after the payout, at least
-- ARGV[10] payout retention, ms
-- ARGV[11] event stream length to keep   ARGV[12] longest event age, ms, or ''
-- ARGV[13] event stream TTL, ms
-- Returns {'existing', payout} | {'quote', payable .. ' ' .. clawback}
--       | {'new', payout}
-- where payout = creator, currency, amount, commissions, clawback deducted,
-- created ms (space separated).

local existing = redis.call('GET', KEYS[1])
if existing then
  return {'existing', existing}
end
local tag = ARGV[8]
local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[4], 'LIMIT', 0, ARGV[5])
local payable = 0
for _, order in ipairs(due) do
  payable = payable + tonumber(redis.call('HGET', 'c:' .. tag .. ':' .. order, 'c') or '0')
end
local clawback = tonumber(redis.call('HGET', KEYS[2], 'cb') or '0')
if ARGV[6] == '' or tonumber(ARGV[6]) ~= payable or tonumber(ARGV[7]) ~= clawback then
  return {'quote', int(payable) .. ' ' .. int(clawback)}
end

for _, order in ipairs(due) do
  local key = 'c:' .. tag .. ':' .. order
  redis.call('HSET', key, 'st', 'p', 'po', ARGV[1])
  redis.call('PEXPIRE', key, ARGV[9])
  redis.call('PEXPIRE', 'o:' .. tag .. ':' .. order, ARGV[9], 'GT')
  redis.call('PEXPIRE', 'f:' .. tag .. ':' .. order, ARGV[9], 'GT')
  redis.call('ZADD', KEYS[7], 0, newest_first(redis.call('HGET', key, 'cf'), order))
  redis.call('ZREM', KEYS[3], order)
end
redis.call('HINCRBY', KEYS[2], 'u', int(-payable))
redis.call('HINCRBY', KEYS[2], 'p', int(payable - clawback))
redis.call('HINCRBY', KEYS[2], 'cb', int(-clawback))

local payout = table.concat({ARGV[2], ARGV[3], int(payable - clawback), int(#due),
  int(clawback), ARGV[4]}, ' ')
redis.call('SET', KEYS[1], payout, 'PX', ARGV[10])
local member = newest_first(ARGV[4], ARGV[1])
for i = 5, 6 do
  redis.call('ZADD', KEYS[i], 0, member)
  redis.call('PEXPIRE', KEYS[i], ARGV[10])
  prune_oldest(KEYS[i], 'p:' .. tag .. ':')
end
redis.call('PEXPIRE', KEYS[7], ARGV[10])

redis.call('XADD', KEYS[4], 'MAXLEN', '=', ARGV[11], '*',
  'k', 'p', 'at', ARGV[4], 'cl', string.rep('0', 32), 'a', ' ' .. ARGV[2] .. '  ',
  'po', ARGV[1], 'am', int(payable - clawback), 'cu', ARGV[3], 'km', int(clawback))
if ARGV[12] ~= '' then
  redis.call('XTRIM', KEYS[4], 'MINID', '=', oldest_event(ARGV[12]))
end
redis.call('PEXPIRE', KEYS[4], ARGV[13])
return {'new', payout}
