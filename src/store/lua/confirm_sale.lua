-- Confirms a sale exactly once per (merchant, order id), atomically: the
-- order record, the conversion and revenue counters of every dimension of
-- the click, today's top lists and an 's' event. Checks its idempotency key
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
-- ARGV[20], ARGV[21] (sharded merchants only) the click's attribution and
--          tap time (ms), read from the click's shard: then KEYS[2] is not read
-- Returns {'existing', order} | {'expired'} | {'no_click'} | {'new', order}
-- where order = click hex, amount, currency, confirmed ms, clicked ms,
-- campaign, creator, video, product (space separated).

local existing = redis.call('GET', KEYS[1])
if existing then
  return {'existing', existing}
end
if ARGV[5] == '1' then
  return {'expired'}
end
local attribution, clicked_ms
if ARGV[20] then
  attribution, clicked_ms = ARGV[20], ARGV[21]
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
  clicked_ms = string.match(click, '^(%d+)', 29)
end
local campaign, creator, video, product =
  string.match(attribution, '^(%S+) (%S+) (%S+) (%S+)$')

local ids = {ARGV[13], campaign, creator, video, product}
local dims = {'m', 'c', 'r', 'v', 'p'}
local revenue = 'r:' .. ARGV[3]
for i = 1, 5 do
  local hour = ARGV[6] .. 'h:' .. ARGV[7] .. ':' .. dims[i] .. ':' .. ids[i]
  local day = ARGV[6] .. 'd:' .. ARGV[8] .. ':' .. dims[i] .. ':' .. ids[i]
  -- 'v' first: a new key gets its TTL there, so revenue needs no check.
  hincr(hour, 'v', 1, ARGV[9])
  redis.call('HINCRBY', hour, revenue, ARGV[2])
  hincr(day, 'v', 1, ARGV[10])
  redis.call('HINCRBY', day, revenue, ARGV[2])
  if i > 1 then
    local top = ARGV[16] .. dims[i] .. ':'
    zincr(top .. 'v', 1, ids[i], ARGV[19])
    zincr(top .. revenue, ARGV[2], ids[i], ARGV[19])
  end
end

redis.call('XADD', KEYS[3], 'MAXLEN', '=', ARGV[17], '*',
  'k', 's', 'at', ARGV[4], 'cl', ARGV[14], 'a', attribution,
  'o', ARGV[15], 'am', ARGV[2], 'cu', ARGV[3])
if ARGV[18] ~= '' then
  redis.call('XTRIM', KEYS[3], 'MINID', '=', oldest_event(ARGV[18]))
end
redis.call('PEXPIRE', KEYS[3], ARGV[19])

local order = table.concat({ARGV[14], ARGV[2], ARGV[3], ARGV[4], clicked_ms, attribution}, ' ')
redis.call('SET', KEYS[1], order, 'PX', ARGV[11])
return {'new', order}
