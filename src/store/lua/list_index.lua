-- One merchant's part of a listing: walks a listing index (members
-- `newest_first(ms, id)`, see the prelude) from a position, reads each
-- item's record, and returns those the filter keeps, up to ARGV[2] of them,
-- having looked at ARGV[3] members at most. Members whose record has
-- expired are dropped from the index on the way.
--
-- KEYS[1] the index (merchant's hash tag)
-- ARGV[1] where to start, as ZRANGE BYLEX takes it ('-', '[x' or '(x')
-- ARGV[2] items to return at most   ARGV[3] members to look at at most
-- ARGV[4] the record key prefix: record key = prefix .. the member's id
-- ARGV[5] record kind: 'c' commission hashes, 'p' payout strings
-- ARGV[6] (commissions) the state to keep: '' any, 'pending', 'payable'
--         (unpaid, by ARGV[7]), or a stored state code 'h', 'p', 'v'
-- ARGV[7] now, ms      ARGV[8] (commissions) only this creator's, or ''
-- Returns {items, last member looked at ('' for none), done ('1' when the
-- index has no more members after it)} where items = {member, record, ...}
-- and a commission record is its hash as a flat field/value list.

local want, budget = tonumber(ARGV[2]), tonumber(ARGV[3])
local now = tonumber(ARGV[7])
local function keep(fields)
  if ARGV[5] ~= 'c' then
    return true
  end
  local f = {}
  for i = 1, #fields, 2 do
    f[fields[i]] = fields[i + 1]
  end
  if ARGV[8] ~= '' and string.match(f.a or '', '^%S+ (%S+)') ~= ARGV[8] then
    return false
  end
  local filter = ARGV[6]
  if filter == '' then
    return true
  elseif filter == 'pending' then
    return f.st == 'u' and now < tonumber(f.pa)
  elseif filter == 'payable' then
    return f.st == 'u' and now >= tonumber(f.pa)
  end
  return f.st == filter
end

local items, start, looked, last, done = {}, ARGV[1], 0, '', '0'
while #items < 2 * want and looked < budget do
  local batch = redis.call('ZRANGE', KEYS[1], start, '+', 'BYLEX', 'LIMIT', 0, 100)
  for _, member in ipairs(batch) do
    looked = looked + 1
    last = member
    local key = ARGV[4] .. string.sub(member, 15)
    local record
    if ARGV[5] == 'c' then
      record = redis.call('HGETALL', key)
      if #record == 0 then record = nil end
    else
      record = redis.call('GET', key)
    end
    if not record then
      redis.call('ZREM', KEYS[1], member)
    elseif keep(record) then
      items[#items + 1] = member
      items[#items + 1] = record
    end
    if #items >= 2 * want or looked >= budget then
      break
    end
  end
  if #batch < 100 then
    break
  end
  start = '(' .. last
end
local from = (last == '') and ARGV[1] or ('(' .. last)
if #redis.call('ZRANGE', KEYS[1], from, '+', 'BYLEX', 'LIMIT', 0, 1) == 0 then
  done = '1'
end
return {items, last, done}
