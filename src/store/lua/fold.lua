-- Folds a shard's events into its counters and top lists, exactly once:
-- reads at most ARGV[4] events after the shard's checkpoint, sums their
-- increments per counter field and top list member, applies the sums (with
-- the expiries of the keys they create) and moves the checkpoint, all in
-- this one script. Any replica may run it, as often as it likes: an event
-- is folded by the run that moves the checkpoint past it, and by no other.
-- What an event adds is what `Event::counts` says (reconcile adds the
-- events not yet folded that way); only events written to be folded
-- (field 'f') count: an older version's events were counted as written.
--
-- Once caught up (fewer than ARGV[4] events were left), it trims the
-- stream to ARGV[7] events, every one of them folded; and by age (ARGV[8])
-- never past the checkpoint. Behind a backlog it trims nothing by length:
-- no trim ever takes an event that is not folded.
--
-- KEYS[1] the shard's event stream    KEYS[2] its fold state: 'ck' the
--         last event folded, 'n' events written and not yet folded
--         (the taps' backlog check reads it)
-- ARGV[1] the merchant id (the merchant dimension's id)
-- ARGV[2] counter key prefix, e.g. 'n:{m-1}:'
-- ARGV[3] top list key prefix, e.g. 't:{m-1}:'
-- ARGV[4] most events to fold in this run
-- ARGV[5] hourly counter retention, ms   ARGV[6] daily counter (and top list) retention, ms
-- ARGV[7] folded events to keep          ARGV[8] longest event age to keep, ms, or ''
-- ARGV[9] the fold state's TTL, ms (the stream's)
-- Returns {events folded, events still unfolded as far as this run knows
-- (0 once caught up)}.

local HOUR, DAY = 3600000, 86400000

-- The oldest event id to keep, by Redis's own clock (which stamps the ids).
local function oldest_event(max_age_ms)
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(max_age_ms)
end

local state = redis.call('HMGET', KEYS[2], 'ck', 'n')
local checkpoint = state[1] or '0-0'
local batch = tonumber(ARGV[4])
local entries = redis.call('XRANGE', KEYS[1], '(' .. checkpoint, '+', 'COUNT', batch)

-- First the events' increments summed per cell: per hour and attribution,
-- the fields and top list metrics they add to. The taps of a launch share
-- a few hundred carts, so the keys below are built once a cell, not once
-- an event (building them is most of a fold's work).
local cells = {}
-- 'r:DKK' and the like, built once a run.
local names = {r = {}, k = {}, f = {}}
local function named(prefix, currency)
  local name = names[prefix][currency]
  if not name then
    name = prefix .. ':' .. currency
    names[prefix][currency] = name
  end
  return name
end
local function bump(sums, name, by)
  sums[name] = (sums[name] or 0) + by
end

-- The marked events of the batch: what 'n' counted of them.
local written = 0
for _, entry in ipairs(entries) do
  local raw = entry[2]
  local marked, kind, at, a, signals, amount, currency, earned
  for i = 1, #raw, 2 do
    local name, value = raw[i], raw[i + 1]
    if name == 'f' then marked = value
    elseif name == 'k' then kind = value
    elseif name == 'at' then at = value
    elseif name == 'a' then a = value
    elseif name == 'sg' then signals = value
    elseif name == 'am' then amount = value
    elseif name == 'cu' then currency = value
    elseif name == 'km' then earned = value
    end
  end
  if marked == '1' then
    -- Every marked event was counted in 'n' by the script that wrote it.
    written = written + 1
  end
  if marked == '1' and (kind == 'c' or kind == 't' or kind == 's' or kind == 'r') then
    at = tonumber(at)
    local hour = at - at % HOUR
    local by_cart = cells[hour]
    if not by_cart then
      by_cart = {}
      cells[hour] = by_cart
    end
    local cell = by_cart[a]
    if not cell then
      cell = {fields = {}, ranks = {}}
      by_cart[a] = cell
    end
    local fields, ranks = cell.fields, cell.ranks
    local flagged = (tonumber(signals) or 0) > 0
    if kind == 'c' then
      bump(fields, 'c', 1)
      if flagged then bump(fields, 'fc', 1) end
      bump(ranks, 'c', 1)
    elseif kind == 't' then
      bump(fields, 'd', 1)
    elseif kind == 's' then
      local revenue, commission = named('r', currency), named('k', currency)
      amount, earned = tonumber(amount), tonumber(earned) or 0
      bump(fields, 'v', 1)
      bump(fields, revenue, amount)
      if flagged then bump(fields, 'fv', 1) end
      bump(ranks, 'v', 1)
      bump(ranks, revenue, amount)
      if earned > 0 then
        bump(fields, commission, earned)
        bump(ranks, commission, earned)
      end
    else
      local taken = tonumber(earned) or 0
      bump(fields, named('f', currency), tonumber(amount))
      if taken > 0 then
        bump(fields, named('k', currency), -taken)
        bump(ranks, named('k', currency), -taken)
      end
    end
  end
end

-- Then each cell's sums per hash key, per field, and per top list key, per
-- member; and when each key created here must expire (absolute, ms).
local sums, tops, expiry = {}, {}, {}
-- Adds `by` to `name` (a field, or a member) of `key` in `into`.
local function tally(into, key, name, by, until_ms)
  local of_key = into[key]
  if not of_key then
    of_key = {}
    into[key] = of_key
    expiry[key] = until_ms
  end
  of_key[name] = (of_key[name] or 0) + by
end
local function add(key, field, by, until_ms)
  tally(sums, key, field, by, until_ms)
end
local function rank(key, member, by, until_ms)
  tally(tops, key, member, by, until_ms)
end

local dims = {'m', 'c', 'r', 'v', 'p'}
local hour_keep, day_keep = tonumber(ARGV[5]), tonumber(ARGV[6])

for hour, by_cart in pairs(cells) do
  local day = hour - hour % DAY
  local hour_until, day_until = hour + HOUR + hour_keep, day + DAY + day_keep
  local hour_s, day_s = int(hour / 1000), int(day / 1000)
  -- Each dimension's key prefixes in this hour and day, and its top lists'.
  local hour_of, day_of, top_of = {}, {}, {}
  for i = 1, 5 do
    hour_of[i] = ARGV[2] .. 'h:' .. hour_s .. ':' .. dims[i] .. ':'
    day_of[i] = ARGV[2] .. 'd:' .. day_s .. ':' .. dims[i] .. ':'
    top_of[i] = ARGV[3] .. day_s .. ':' .. dims[i] .. ':'
  end
  for a, cell in pairs(by_cart) do
    local campaign, creator, video, product = string.match(a, '^(%S+) (%S+) (%S+) (%S+)$')
    local ids = {ARGV[1], campaign, creator, video, product}
    for i = 1, 5 do
      local hour_key, day_key = hour_of[i] .. ids[i], day_of[i] .. ids[i]
      for field, by in pairs(cell.fields) do
        add(hour_key, field, by, hour_until)
        add(day_key, field, by, day_until)
      end
      if i > 1 then
        for metric, by in pairs(cell.ranks) do
          rank(top_of[i] .. metric, ids[i], by, day_until)
        end
      end
    end
  end
end

-- Integers as digits, each made once a run: most sums and expiries repeat
-- (a click's 1, a launch's price, an hour's end), and `int` is dear (a
-- string.format) next to a table look-up.
local digits = {}
local function as_digits(n)
  local text = digits[n]
  if not text then
    text = int(n)
    digits[n] = text
  end
  return text
end

-- A key is new only if a field (member) of it is new, and then its value
-- is the sum added: the expiry is set then (NX: never moved). A sum of 0
-- (a sale and its refund) is still written: a counter field, once
-- written, reads 0 rather than nothing, as if each event were added alone.
-- `incr` adds to one field (member) and answers its new value.
local function apply(into, incr)
  for key, of_key in pairs(into) do
    local new = false
    for name, by in pairs(of_key) do
      if incr(key, name, as_digits(by)) == by then
        new = true
      end
    end
    if new then
      redis.call('PEXPIREAT', key, as_digits(expiry[key]), 'NX')
    end
  end
end
apply(sums, function(key, field, by)
  return redis.call('HINCRBY', key, field, by)
end)
apply(tops, function(key, member, by)
  return tonumber(redis.call('ZINCRBY', key, by, member))
end)

local folded = #entries
local left = 0
if folded < batch then
  -- Caught up: every event of the stream is folded now.
  redis.call('XTRIM', KEYS[1], 'MAXLEN', '=', ARGV[7])
else
  left = math.max((tonumber(state[2]) or 0) - written, 0)
end
if folded > 0 then
  checkpoint = entries[folded][1]
  redis.call('HSET', KEYS[2], 'ck', checkpoint, 'n', left)
  redis.call('PEXPIRE', KEYS[2], ARGV[9])
elseif state[2] and state[2] ~= '0' then
  redis.call('HSET', KEYS[2], 'n', 0)
end
if ARGV[8] ~= '' then
  -- MINID keeps every id from the one given: at most the checkpoint's time.
  local ms = tonumber(string.match(checkpoint, '^(%d+)'))
  redis.call('XTRIM', KEYS[1], 'MINID', '=', int(math.min(oldest_event(ARGV[8]), ms)))
end
return {folded, left}
