-- A creator's balances with one merchant: one per currency the creator
-- earned in, from the ledgers' running totals; what of the unpaid total
-- is payable at ARGV[3] is summed from the commissions payable by then.
-- Reads only.
--
-- KEYS[1] the currencies the creator has ledgers in (merchant's hash tag)
-- ARGV[1] the merchant's own hash tag   ARGV[2] creator   ARGV[3] now, ms
-- Returns {balance, ...} where balance = currency, unpaid, held, paid,
-- clawback, payable (space separated).

local out = {}
for _, currency in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local ledger = ARGV[1] .. ':' .. ARGV[2] .. ':' .. currency
  local totals = redis.call('HMGET', 'l:' .. ledger, 'u', 'h', 'p', 'cb')
  local amounts = {}
  for i, order in ipairs(redis.call('ZRANGEBYSCORE', 'u:' .. ledger, '-inf', ARGV[3])) do
    amounts[i] = redis.call('HGET', 'c:' .. ARGV[1] .. ':' .. order, 'c') or '0'
  end
  out[#out + 1] = table.concat({currency, totals[1] or '0', totals[2] or '0',
    totals[3] or '0', totals[4] or '0', exact_sum(amounts)}, ' ')
end
return out
