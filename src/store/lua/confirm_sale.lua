-- Confirms a sale exactly once per (merchant, order id), atomically: the
-- order record, its commission (from the terms the click carries: the
-- commission record, the creator's ledger and the listing indexes), the
-- conversion, revenue and commission counters of every dimension of the
-- click, today's top lists and an 's' event. Checks its idempotency key
-- first, so it is safe to run twice; reports what it found instead of
-- writing when the order id is taken, the sale may only replay, or the
-- click is gone (what that means is the caller's to decide).
--
-- KEYS[1] the order (merchant's hash tag)
-- KEYS[2] the click's bucket (same tag)
-- KEYS[3] the merchant's event stream (same tag)
-- The counter and attribution keys are derived here, under the same hash tag
-- (ARGV[6], ARGV[12]): the click's attribution is only known inside Redis,
-- and reading it first would cost a second round trip.
-- ARGV[1]  click id (16 bytes)       ARGV[2] amount, minor units
-- ARGV[3]  currency                  ARGV[4] now, ms
-- ARGV[5]  '1' when the sale may only replay (its token has expired)
-- ARGV[6]  counter key prefix, e.g. 'n:{m-1}:'
-- ARGV[7]  hour bucket start, s      ARGV[8] day bucket start, s
-- ARGV[9]  hourly counter TTL, ms    ARGV[10] daily counter TTL, ms
-- ARGV[11] order TTL, ms
-- ARGV[12] attribution key prefix, e.g. 'a:{m-1}:'
-- ARGV[13] merchant id               ARGV[14] click id, hex
-- ARGV[15] order id                  ARGV[16] top list key prefix, e.g. 't:{m-1}:<day>:'
-- ARGV[17] event stream length to keep   ARGV[18] longest event age to keep, ms, or ''
-- ARGV[19] event stream and top list TTL, ms
-- ARGV[20], ARGV[21] (sharded merchants; '' otherwise) the click's
--          attribution and the click value's text after its 28 bytes (tap
--          time ms, expiry, rate, holding s), read from the click's shard:
--          then KEYS[2] is not read
-- ARGV[22] the merchant's own hash tag, e.g. '{m-1}': its earnings keys
-- ARGV[23] order retention, ms: an order with a commission is kept this
--          long after the commission's payable time, at least
-- ARGV[24] min_click_to_sale_seconds in ms, or '' when fraud signals are off
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
if ARGV[20] ~= '' then
  attribution, tail = ARGV[20], ARGV[21]
else
  local click = redis.call('HGET', KEYS[2], ARGV[1])
  if not click then
    return {'no_click'}
  end
  local attr_id = hex(string.sub(click, 1, 12))
  attribution = redis.call('GET', ARGV[12] .. attr_id)
  if not attribution then
    return {'no_click'}
  end
  tail = string.sub(click, 29)
end
-- Clicks stored before commission terms have none: rate and holding '';
-- a click with no signal has no signals field.
local clicked_ms, rate, holding, click_signals =
  string.match(tail, '^(%d+) %d+ ?(%d*) ?(%d*) ?(%d*)')
local campaign, creator, video, product =
  string.match(attribution, '^(%S+) (%S+) (%S+) (%S+)$')

local now = tonumber(ARGV[4])
local signals = 0
if ARGV[24] ~= '' then
  signals = tonumber(click_signals) or 0
  local min = tonumber(ARGV[24])
  if min > 0 and now - tonumber(clicked_ms) < min then
    signals = signals + 8
  end
end
local earned = commission(ARGV[2], rate)
local order_ttl = tonumber(ARGV[11])
if earned > 0 then
  local tag, order_id, currency = ARGV[22], ARGV[15], ARGV[3]
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
  order_ttl = math.max(order_ttl, payable - now + tonumber(ARGV[23]))
end

local ids = {ARGV[13], campaign, creator, video, product}
local dims = {'m', 'c', 'r', 'v', 'p'}
local revenue = 'r:' .. ARGV[3]
local earnings = 'k:' .. ARGV[3]
for i = 1, 5 do
  local hour = ARGV[6] .. 'h:' .. ARGV[7] .. ':' .. dims[i] .. ':' .. ids[i]
  local day = ARGV[6] .. 'd:' .. ARGV[8] .. ':' .. dims[i] .. ':' .. ids[i]
  -- 'v' first: a new key gets its TTL there, so revenue needs no check.
  hincr(hour, 'v', 1, ARGV[9])
  redis.call('HINCRBY', hour, revenue, ARGV[2])
  hincr(day, 'v', 1, ARGV[10])
  redis.call('HINCRBY', day, revenue, ARGV[2])
  if earned > 0 then
    redis.call('HINCRBY', hour, earnings, int(earned))
    redis.call('HINCRBY', day, earnings, int(earned))
  end
  if signals > 0 then
    redis.call('HINCRBY', hour, 'fv', 1)
    redis.call('HINCRBY', day, 'fv', 1)
  end
  if i > 1 then
    local top = ARGV[16] .. dims[i] .. ':'
    zincr(top .. 'v', 1, ids[i], ARGV[19])
    zincr(top .. revenue, ARGV[2], ids[i], ARGV[19])
    if earned > 0 then
      zincr(top .. earnings, int(earned), ids[i], ARGV[19])
    end
  end
end

if signals > 0 then
  redis.call('XADD', KEYS[3], 'MAXLEN', '=', ARGV[17], '*',
    'k', 's', 'at', ARGV[4], 'cl', ARGV[14], 'a', attribution,
    'o', ARGV[15], 'am', ARGV[2], 'cu', ARGV[3], 'km', int(earned), 'sg', signals)
else
  redis.call('XADD', KEYS[3], 'MAXLEN', '=', ARGV[17], '*',
    'k', 's', 'at', ARGV[4], 'cl', ARGV[14], 'a', attribution,
    'o', ARGV[15], 'am', ARGV[2], 'cu', ARGV[3], 'km', int(earned))
end
if ARGV[18] ~= '' then
  redis.call('XTRIM', KEYS[3], 'MINID', '=', oldest_event(ARGV[18]))
end
redis.call('PEXPIRE', KEYS[3], ARGV[19])

local order = table.concat(
  {ARGV[14], ARGV[2], ARGV[3], ARGV[4], clicked_ms, attribution, int(earned)}, ' ')
if signals > 0 then
  order = order .. ' ' .. signals
end
redis.call('SET', KEYS[1], order, 'PX', int(order_ttl))
return {'new', order}
