-- Rewrites one click record with its viewer hash zeroed (EraseViewer), only
-- if the record is still there: a record that expired meanwhile stays gone.
-- KEYS[1] the click bucket   ARGV[1] click id   ARGV[2] the record, unlinked
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
