// Reading counters for a range: the API's buckets (at most 744 hourly or 400
// daily a call) fetched in chunks, summed into the zone's days when the zone
// is not UTC, and totalled client side.

import { addMoney } from './format.js';
import { DAY, HOUR, dateOf, dayStart } from './range.js';

const MAX_HOURS = 744;
const MAX_DAYS = 400;
export const COUNTS = ['taps', 'clicks', 'conversions', 'flaggedClicks', 'flaggedConversions'];
export const MONIES = ['revenue', 'refunded', 'commission'];

/** An empty bucket starting at `start` (ms). */
export function emptyBucket(start) {
  const bucket = { start };
  for (const name of COUNTS) bucket[name] = 0;
  for (const name of MONIES) bucket[name] = new Map();
  return bucket;
}

/** Adds an API CounterBucket (JSON) or a bucket of ours into `into`. */
export function addBucket(into, from) {
  for (const name of COUNTS) into[name] += Number(from[name] || 0);
  for (const name of MONIES) {
    if (from[name] instanceof Map) for (const [c, v] of from[name]) into[name].set(c, (into[name].get(c) || 0n) + v);
    else addMoney(into[name], from[name]);
  }
  return into;
}

/**
 * The buckets of [start, end) for `target` ({ dimension, id }): hourly, or
 * daily in the zone `tz`; returns { buckets, total }.
 */
export async function counters(api, target, start, end, hourly, tz) {
  const byHour = hourly || tz !== 'UTC';
  const step = byHour ? HOUR : DAY;
  const chunk = (byHour ? MAX_HOURS : MAX_DAYS) * step;
  const calls = [];
  for (let from = start; from < end; from += chunk) {
    calls.push(api.get('/v1/counters', {
      dimension: target.dimension,
      id: target.id,
      granularity: byHour ? 'GRANULARITY_HOUR' : 'GRANULARITY_DAY',
      startTime: new Date(from).toISOString(),
      endTime: new Date(Math.min(end, from + chunk)).toISOString(),
    }, 'read these counters'));
  }
  const answers = await Promise.all(calls);
  // One bucket per hour or day of the range, zeros included.
  const slots = [];
  const index = new Map();
  for (let ms = start; ms < end;) {
    index.set(ms, slots.length);
    slots.push(emptyBucket(ms));
    if (hourly) ms += HOUR;
    else { const d = dateOf(tz, ms + HOUR); ms = dayStart(tz, d.y, d.m, d.d + 1); }
  }
  const total = emptyBucket(start);
  for (const answer of answers) {
    for (const bucket of answer.buckets || []) {
      const ms = Date.parse(bucket.startTime);
      if (ms < start || ms >= end) continue;
      let slot = index.get(ms);
      if (slot === undefined) { // an hour summed into the zone's day
        const d = dateOf(tz, ms);
        slot = index.get(dayStart(tz, d.y, d.m, d.d));
      }
      if (slot === undefined) continue;
      addBucket(slots[slot], bucket);
      addBucket(total, bucket);
    }
  }
  return { buckets: slots, total };
}
