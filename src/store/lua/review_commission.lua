-- Reviews an order's HELD commission, atomically: RELEASE makes it unpaid
-- again (the ledger moves it from held to unpaid, and the unpaid set gets
-- it by its payable ms, so payouts find it); VOID makes it VOID at 0 (the
-- ledger's held total drops it) and kept as long as its order. Either
-- keeps the reason and time, and appends a 'w' event. Changes no counter.
-- Reports what it found instead of writing when there is neither the
-- order nor a commission, or the commission is not HELD (unpaid, paid,
-- void, reviewed before) or the sale earned none.
--
-- KEYS[1] the order's commission    KEYS[2] the order
-- KEYS[3] the merchant's event stream      KEYS[4] its fold state
--                                          (all under the merchant's hash tag)
-- The ledger keys are derived here from the commission's creator and
-- currency, under the same hash tag (ARGV[5]).
-- ARGV[1] order id   ARGV[2] decision: 'r' release, 'v' void
-- ARGV[3] reason     ARGV[4] now, ms
-- ARGV[5] the merchant's own hash tag, e.g. '{m-1}'
-- ARGV[6] order retention, ms: how long a voided commission whose order
--         is gone is kept
-- ARGV[7] event stream TTL, ms
-- Returns {'no_order'} | {'not_held'} | {'reviewed', the commission's fields}

local state = redis.call('HGET', KEYS[1], 'st')
if not state then
  if redis.call('EXISTS', KEYS[2]) == 0 then
    return {'no_order'}
  end
  return {'not_held'}
end
if state ~= 'h' then
  return {'not_held'}
end

local held = redis.call('HMGET', KEYS[1], 'c', 'cu', 'pa', 'a', 'sg')
local amount, currency, payable, attribution, signals =
  held[1], held[2], held[3], held[4], held[5]
local creator = string.match(attribution, '^%S+ (%S+)')
local ledger = ARGV[5] .. ':' .. creator .. ':' .. currency
-- HINCRBY refuses '-0': a zero move is no move.
if amount ~= '0' then
  redis.call('HINCRBY', 'l:' .. ledger, 'h', '-' .. amount)
end
if ARGV[2] == 'r' then
  if amount ~= '0' then
    redis.call('HINCRBY', 'l:' .. ledger, 'u', amount)
  end
  redis.call('ZADD', 'u:' .. ledger, payable, ARGV[1])
  redis.call('HSET', KEYS[1], 'st', 'u', 'rr', ARGV[3], 'ra', ARGV[4])
else
  redis.call('HSET', KEYS[1], 'st', 'v', 'c', '0', 'rr', ARGV[3], 'ra', ARGV[4])
  -- Kept as long as its order, as a commission a refund voids; an order
  -- already gone (a held commission outlives it) leaves order retention.
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl < 0 then
    ttl = ARGV[6]
  end
  redis.call('PEXPIRE', KEYS[1], ttl)
end

-- The click is the order's first field; an order gone names none.
local click = string.rep('0', 32)
local order = redis.call('GET', KEYS[2])
if order then
  click = string.match(order, '^(%S+)')
end
local event = {'k', 'w', 'at', ARGV[4], 'cl', click, 'a', attribution,
  'o', ARGV[1], 'cu', currency, 'km', amount, 'dc', ARGV[2]}
if signals then
  table.insert(event, 'sg')
  table.insert(event, signals)
end
append_event(KEYS[3], KEYS[4], ARGV[7], event)
return {'reviewed', redis.call('HGETALL', KEYS[1])}
