-- Records a tap, atomically: a new click (dedup entry, click record,
-- interned attribution, a 'c' event), or a repeat of a click inside the
-- dedup window (a 't' event). Its counters and top lists are folded from
-- the event (`fold.lua`). With fraud signals on, it also counts the tap in
-- the fraud windows and raises the new click's signals from those counts,
-- as `policy::click_signals` does: kept with the click, its dedup entry
-- and its event. Safe to run twice: a second run of the same call finds
-- its own click id in the dedup entry and does nothing. Refused, writing
-- nothing, while the shard has more than ARGV[22] events not yet folded.
--
-- KEYS[1]  dedup bucket of the current window     (all keys share the merchant's hash tag)
-- KEYS[2]  dedup bucket of the previous window
-- KEYS[3]  click bucket (by expiry hour and click id)
-- KEYS[4]  interned attribution
-- KEYS[5]  tap counts of this minute's viewers (rate limit bucket)
-- KEYS[6]  the merchant shard's event stream     KEYS[7] its fold state
-- KEYS[8]  the merchant shard's creator taps of this UTC minute (TAP_FLOOD)
-- KEYS[9]  the merchant shard's viewers' creators of this UTC hour
--          (CREATOR_HOPPING): field = viewer hash, value = '\n' and each
--          creator followed by '\n', at most ARGV[18] + 1 of them
-- ARGV[1]  dedup field (16 bytes)
-- ARGV[2]  click id (16 bytes): the click bucket field
-- ARGV[3]  dedup value: click id .. tap time ms .. ' ' .. expiry s .. ' ' .. kid
-- ARGV[4]  click value (attribution id, viewer hash, tap time, expiry)
-- ARGV[5]  now, ms          ARGV[6] dedup window, ms
-- ARGV[7]  dedup bucket TTL, ms
-- ARGV[8]  click record TTL, ms: how long the bucket and attribution must live
-- ARGV[9]  attribution value
-- ARGV[10] taps a viewer may make in the rate limit's window (KEYS[5]'s)
-- ARGV[11] the viewer hash: its field in the rate limit bucket
-- ARGV[12] event stream TTL, ms
-- ARGV[13] the creator id
-- ARGV[14] click id, hex
-- ARGV[15] the TTL they get when they must live longer: ARGV[8] rounded up to the hour
-- ARGV[16] rate limit bucket TTL, ms: two of its windows
-- ARGV[17] max_creator_taps_per_minute, or '' when fraud signals are off
--          (then nothing is counted for them)
-- ARGV[18] max_creators_per_viewer_per_hour
-- ARGV[19] the SELF_REFERRAL bit: '1' when the viewer is the creator, or '0'
-- ARGV[20], ARGV[21] KEYS[8]'s and KEYS[9]'s TTL, ms: their window and a minute
-- ARGV[22] max_unfolded_events
-- Returns {'new', signals} | {'retry', first dedup value} | {'limited'}
--       | {'dup', first dedup value} | {'backlog'}
-- where signals is the sum of their bits (`FraudSignal::bit`), and a dedup
-- value or click value with signals ends in ' ' .. signals.

local now = tonumber(ARGV[5])
local window = tonumber(ARGV[6])

local function live(key)
  local v = redis.call('HGET', key, ARGV[1])
  if not v then return nil end
  local t0 = tonumber(string.match(v, '^(%d+)', 17))
  if t0 and now - t0 < window then return v end
  return nil
end

-- Makes an existing key live at least ARGV[8] ms more: when it does not
-- yet, for ARGV[15] ms (rounded up to the hour, so that the next clicks of
-- the bucket find it long enough). One call when it already lives long
-- enough. Returns false when there is no such key.
local function extend(key)
  local left = redis.call('PTTL', key)
  if left == -2 then
    return false
  end
  if left < tonumber(ARGV[8]) then
    redis.call('PEXPIRE', key, ARGV[15])
  end
  return true
end

-- A tap's event; 'sg' the click's signals, when it has any.
local function event(kind, click_hex, signals, unfolded)
  local fields = {'k', kind, 'at', ARGV[5], 'cl', click_hex, 'a', ARGV[9]}
  if signals > 0 then
    table.insert(fields, 'sg')
    table.insert(fields, signals)
  end
  add_event(KEYS[6], KEYS[7], ARGV[12], unfolded, fields)
end

-- Counts the creator among the viewer's creators of this hour (no more
-- than one over the limit is kept: past it every new click is flagged
-- anyway). Returns how many the viewer has now.
local function count_creator()
  local viewer, creator = ARGV[11], ARGV[13]
  if redis.call('HSETNX', KEYS[9], viewer, '\n' .. creator .. '\n') == 1 then
    redis.call('PEXPIRE', KEYS[9], ARGV[21], 'NX')
    return 1
  end
  local seen = redis.call('HGET', KEYS[9], viewer)
  local count = select(2, string.gsub(seen, '\n', '')) - 1
  if count <= tonumber(ARGV[18]) and not string.find(seen, '\n' .. creator .. '\n', 1, true) then
    redis.call('HSET', KEYS[9], viewer, seen .. creator .. '\n')
    count = count + 1
  end
  return count
end

-- A value with the signals the click was flagged with, if any.
local function flagged(value, signals)
  if signals > 0 then
    return value .. ' ' .. signals
  end
  return value
end

local first = live(KEYS[1]) or live(KEYS[2])
if first and string.sub(first, 1, 16) == ARGV[2] then
  return {'retry', first}
end

-- The backlog first: a tap refused for it writes nothing (it is undone).
local unfolded = count_unfolded(KEYS[7])
if unfolded > tonumber(ARGV[22]) then
  redis.call('HINCRBY', KEYS[7], 'n', -1)
  return {'backlog'}
end
local taps = hincr(KEYS[5], ARGV[11], 1, ARGV[16])
if taps > tonumber(ARGV[10]) then
  redis.call('HINCRBY', KEYS[7], 'n', -1)
  if unfolded == 1 then
    -- It may have made the fold state: it expires as if an event had.
    redis.call('PEXPIRE', KEYS[7], ARGV[12])
  end
  return {'limited'}
end
-- Every tap answered OK counts in the fraud windows: the creator's taps
-- this minute, and the viewer's distinct creators this hour. A new click's
-- signals are raised from them, as `policy::click_signals` raises them.
local signals = 0
if ARGV[17] ~= '' then
  local creator_taps = hincr(KEYS[8], ARGV[13], 1, ARGV[20])
  if not first then
    signals = tonumber(ARGV[19])
    if creator_taps > tonumber(ARGV[17]) then signals = signals + 2 end
    if count_creator() > tonumber(ARGV[18]) then signals = signals + 4 end
  elseif math.floor(tonumber(string.match(first, '^(%d+)', 17)) / 3600000) ~= math.floor(now / 3600000) then
    -- A repeat's first tap counted its creator already, unless that was
    -- in an earlier hour (the count of this hour is what the key holds).
    count_creator()
  end
end

if first then
  -- After the click id: tap time, expiry, kid (never a space) and signals.
  local first_signals = string.match(first, '^%d+ %d+ %S+ (%d+)$', 17)
  event('t', hex(string.sub(first, 1, 16)), tonumber(first_signals) or 0, unfolded)
  return {'dup', first}
end

redis.call('HSET', KEYS[1], ARGV[1], flagged(ARGV[3], signals))
redis.call('PEXPIRE', KEYS[1], ARGV[7], 'NX')
redis.call('HSET', KEYS[3], ARGV[2], flagged(ARGV[4], signals))
extend(KEYS[3])
-- The attribution's text follows from its id: written only when missing.
if not extend(KEYS[4]) then
  redis.call('SET', KEYS[4], ARGV[9], 'PX', ARGV[15])
end
event('c', ARGV[14], signals, unfolded)
return {'new', tostring(signals)}
