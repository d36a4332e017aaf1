-- Shared by the scripts that need it: prepended to them at build time
-- (see `script!` in src/store/redis/scripts.rs).

-- Lower-case hex of a byte string (one format call, not one per byte).
local function hex(bytes)
  return string.format(string.rep('%02x', #bytes), string.byte(bytes, 1, -1))
end

-- Events: every one is written to be folded into the counters (field 'f',
-- `fold.lua`), and counted in its shard's fold state ('n', the backlog of
-- events not yet folded) by the script that writes it.

-- Counts one more event not yet folded; returns how many there are.
local function count_unfolded(fold_state)
  return redis.call('HINCRBY', fold_state, 'n', 1)
end

-- Appends an event (field, value, ...) to a shard's stream. `unfolded` is
-- what `count_unfolded` returned for it: the first event after a fold
-- keeps the stream and its fold state `ttl` ms more (a fold comes within
-- a second of any write, so they live `ttl` past the last).
local function add_event(stream, fold_state, ttl, unfolded, fields)
  redis.call('XADD', stream, '*', 'f', '1', unpack(fields))
  if unfolded == 1 then
    redis.call('PEXPIRE', stream, ttl)
    redis.call('PEXPIRE', fold_state, ttl)
  end
end

-- Counts and appends an event: for the scripts whose events are never refused.
local function append_event(stream, fold_state, ttl, fields)
  add_event(stream, fold_state, ttl, count_unfolded(fold_state), fields)
end

-- Adds `by` to a hash field and sets the key's TTL only when the write
-- may have created it. A key is new only if the field is new, and then its
-- value is `by`; so the PEXPIRE (NX: a TTL is never moved) runs on a
-- bucket's first write of that field, not on every write.
local function hincr(key, field, by, ttl)
  local value = redis.call('HINCRBY', key, field, by)
  if value == tonumber(by) then
    redis.call('PEXPIRE', key, ttl, 'NX')
  end
  return value
end

-- Money rules a script must apply where only Redis knows the figures
-- (DESIGN.md, "Storage"). Lua numbers are doubles, exact to 2^53; amounts
-- reach 10^12, so the commission splits the amount and no step passes it.
-- `policy::commission` is the rule; a test holds the two equal.
local function commission(amount, rate_bps)
  local a = tonumber(amount)
  local rate = tonumber(rate_bps) or 0
  local r = a % 10000
  local q = (a - r) / 10000
  return q * rate + math.floor(r * rate / 10000)
end

-- An integer as digits (tostring would write 1e+12).
local function int(n)
  return string.format('%d', n)
end

-- The position of an item made at `ms` in a listing index: 13 digits that
-- sort ascending newest first, then '|' and the item's id.
local function newest_first(ms, id)
  return string.format('%013d', 9999999999999 - tonumber(ms)) .. '|' .. id
end

-- Drops those of the three oldest members of a listing index whose record
-- (key `prefix` .. the member's id) has expired. Called once an item is
-- added, it keeps an index that never expires from growing past what is
-- kept, even past an old record that is kept for long (an unpaid
-- commission): the listing walks drop the rest they meet.
local function prune_oldest(index, prefix)
  for _, oldest in ipairs(redis.call('ZRANGE', index, '+', '-', 'BYLEX', 'REV', 'LIMIT', 0, 3)) do
    if redis.call('EXISTS', prefix .. string.sub(oldest, 15)) == 0 then
      redis.call('ZREM', index, oldest)
    end
  end
end

-- An exact sum of amounts (each at most 10^12), as digits: a sum of up to
-- 10^4 of them passes 2^53, so each is split at 10^8 and the parts summed
-- apart (each part's sum stays exact), then written out with the carry.
local function exact_sum(amounts)
  local high, low = 0, 0
  for _, amount in ipairs(amounts) do
    local a = tonumber(amount)
    local h = math.floor(a / 100000000)
    high = high + h
    low = low + (a - h * 100000000)
  end
  local carry = math.floor(low / 100000000)
  high = high + carry
  low = low - carry * 100000000
  if high == 0 then
    return int(low)
  end
  return int(high) .. string.format('%08d', low)
end
