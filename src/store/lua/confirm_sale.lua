-- Confirms a sale exactly once per (merchant, order id), atomically: the
-- order record, its commission (from the terms the click carries: the
-- commission record, the creator's ledger and the listing indexes) and an
-- 's' event, from which its conversion, revenue and commission counters
-- and today's top lists are folded (`fold.lua`). Checks its idempotency
-- key first, so it is safe to run twice; reports what it found instead of
-- writing when the order id is taken, the sale may only replay, or the
-- click is gone (what that means is the caller's to decide).
--
-- KEYS[1] the order (merchant's hash tag)
-- KEYS[2] the click's bucket (same tag)
-- KEYS[3] the merchant's event stream     KEYS[4] its fold state (same tag)
-- The attribution key is derived here, under the same hash tag (ARGV[7]):
-- the click's attribution is only known inside Redis, and reading it
-- first would cost a second round trip.
-- ARGV[1]  click id (16 bytes)       ARGV[2] amount, minor units
-- ARGV[3]  currency                  ARGV[4] now, ms
-- ARGV[5]  '1' when the sale may only replay (its token has expired)
-- ARGV[6]  order TTL, ms
-- ARGV[7]  attribution key prefix, e.g. 'a:{m-1}:'
-- ARGV[8]  click id, hex             ARGV[9] order id
-- ARGV[10] event stream TTL, ms
-- ARGV[11], ARGV[12] (sharded merchants; '' otherwise) the click's
--          attribution and the click value's text after its 28 bytes (tap
--          time ms, expiry, rate, holding s), read from the click's shard:
--          then KEYS[2] is not read
-- ARGV[13] the merchant's own hash tag, e.g. '{m-1}': its earnings keys
-- ARGV[14] order retention, ms: an order with a commission is kept this
--          long after the commission's payable time, at least
-- ARGV[15] min_click_to_sale_seconds in ms, or '' when fraud signals are off
-- Returns {'existing', order} | {'expired'} | {'no_click'} | {'new', order}
-- where order = click hex, amount, currency, confirmed ms, clicked ms,
-- campaign, creator, video, product, commission, and the signals (the sum
-- of their bits) when there are any (space separated).

local existing = redis.call('GET', KEYS[1])
if existing then
  return {'existing', existing}
end
if ARGV[5] == '1' then
  return {'expired'}
end
local attribution, tail
if ARGV[11] ~= '' then
  attribution, tail = ARGV[11], ARGV[12]
else
  local click = redis.call('HGET', KEYS[2], ARGV[1])
  if not click then
    return {'no_click'}
  end
  local attr_id = hex(string.sub(click, 1, 12))
  attribution = redis.call('GET', ARGV[7] .. attr_id)
  if not attribution then
    return {'no_click'}
  end
  tail = string.sub(click, 29)
end
-- Clicks stored before commission terms have none: rate and holding '';
-- a click with no signal has no signals field.
local clicked_ms, rate, holding, click_signals =
  string.match(tail, '^(%d+) %d+ ?(%d*) ?(%d*) ?(%d*)')
local creator = string.match(attribution, '^%S+ (%S+) %S+ %S+$')

local now = tonumber(ARGV[4])
local signals = 0
if ARGV[15] ~= '' then
  signals = tonumber(click_signals) or 0
  local min = tonumber(ARGV[15])
  if min > 0 and now - tonumber(clicked_ms) < min then
    signals = signals + 8
  end
end
local earned = commission(ARGV[2], rate)
local order_ttl = tonumber(ARGV[6])
if earned > 0 then
  local tag, order_id, currency = ARGV[13], ARGV[9], ARGV[3]
  local payable = now + (tonumber(holding) or 0) * 1000
  local c = 'c:' .. tag .. ':' .. order_id
  local ledger = tag .. ':' .. creator .. ':' .. currency
  -- Flagged, never blocked: a flagged sale's commission is held, out of
  -- the unpaid set, until an admin reviews it.
  local state = 'u'
  if signals > 0 then
    state = 'h'
  end
  local fields = {'st', state, 'c', int(earned), 'c0', int(earned), 'a0', ARGV[2],
    'sa', ARGV[2], 'cu', currency, 'cf', ARGV[4], 'pa', int(payable), 'r', rate,
    'h', holding, 'a', attribution}
  if signals > 0 then
    table.insert(fields, 'sg')
    table.insert(fields, tostring(signals))
  end
  redis.call('HSET', c, unpack(fields))
  redis.call('HINCRBY', 'l:' .. ledger, state, int(earned))
  if signals == 0 then
    redis.call('ZADD', 'u:' .. ledger, int(payable), order_id)
  end
  local member = newest_first(now, order_id)
  for _, index in ipairs({'i:' .. tag, 'i:' .. tag .. ':' .. creator}) do
    redis.call('ZADD', index, 0, member)
    prune_oldest(index, 'c:' .. tag .. ':')
  end
  redis.call('SADD', 'y:' .. tag .. ':' .. creator, currency)
  order_ttl = math.max(order_ttl, payable - now + tonumber(ARGV[14]))
end

local event = {'k', 's', 'at', ARGV[4], 'cl', ARGV[8], 'a', attribution,
  'o', ARGV[9], 'am', ARGV[2], 'cu', ARGV[3], 'km', int(earned)}
if signals > 0 then
  table.insert(event, 'sg')
  table.insert(event, signals)
end
append_event(KEYS[3], KEYS[4], ARGV[10], event)

local order = table.concat(
  {ARGV[8], ARGV[2], ARGV[3], ARGV[4], clicked_ms, attribution, int(earned)}, ' ')
if signals > 0 then
  order = order .. ' ' .. signals
end
redis.call('SET', KEYS[1], order, 'PX', int(order_ttl))
return {'new', order}
