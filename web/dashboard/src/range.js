// Ranges and time zones: which instants a preset covers in a zone, the
// previous period of equal length, and whether buckets are hours or days.
// The API counts in UTC hours and UTC days; in another zone the page sums
// hourly buckets into that zone's days, so only zones a whole number of
// hours off UTC can be shown (others fall back to UTC, and say so).

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** Ranges up to this long are drawn hour by hour, longer ones day by day. */
const HOURLY_UP_TO = 2 * DAY;
/** The longest custom range, in days (the API's daily buckets a call). */
export const MAX_DAYS = 400;

const partsCache = new Map();
function parts(tz, ms) {
  let format = partsCache.get(tz);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
      hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    partsCache.set(tz, format);
  }
  const out = {};
  for (const p of format.formatToParts(ms)) if (p.type !== 'literal') out[p.type] = Number(p.value);
  return out;
}

/** How far the zone's wall clock is ahead of UTC at `ms`, in ms. */
export function offset(tz, ms) {
  if (tz === 'UTC') return 0;
  const p = parts(tz, ms);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

/** The instant the zone's day y-m-d (month from 1; overflow is fine) starts. */
export function dayStart(tz, y, m, d) {
  const wall = Date.UTC(y, m - 1, d);
  // The offset at the guess, then at the corrected instant (DST days).
  const guess = wall - offset(tz, wall);
  return wall - offset(tz, guess);
}

/** The zone's calendar date of `ms` as { y, m, d }. */
export function dateOf(tz, ms) {
  const p = parts(tz, ms);
  return { y: p.year, m: p.month, d: p.day };
}

/** "YYYY-MM-DD" of a { y, m, d }. */
export const isoDate = ({ y, m, d }) => `${y}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;

/**
 * The zone to show: `param` is "UTC" or "local" (the browser's zone).
 * Returns { tz, name, note }: a zone off a whole-hour offset falls back to
 * UTC with a note.
 */
export function zone(param, now = Date.now()) {
  if (param !== 'local') return { tz: 'UTC', name: 'UTC', note: '' };
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const whole = [now, now - 200 * DAY, now + 200 * DAY].every((ms) => offset(tz, ms) % HOUR === 0);
  if (!whole) return { tz: 'UTC', name: 'UTC', note: `${tz} is not a whole number of hours off UTC, so times are UTC` };
  return { tz, name: tz, note: '' };
}

/**
 * The range a view covers: { start, end, prevStart, hourly, label } in ms,
 * end exclusive; the previous period is [prevStart, start), of equal length.
 * Ranges end with the current hour or day; `view` has range ("today", "24h",
 * "7d", "30d", "custom") and, for custom, from and to ("YYYY-MM-DD", both
 * days included). Returns { error } for a custom range that cannot be shown.
 */
export function rangeOf(view, tz, now = Date.now()) {
  const today = dateOf(tz, now);
  const thisHourEnd = Math.floor(now / HOUR) * HOUR + HOUR;
  let start;
  let end;
  switch (view.range) {
    case '24h':
      end = thisHourEnd;
      start = end - DAY;
      break;
    case '7d':
    case '30d': {
      const days = view.range === '7d' ? 7 : 30;
      end = dayStart(tz, today.y, today.m, today.d + 1);
      start = dayStart(tz, today.y, today.m, today.d + 1 - days);
      break;
    }
    case 'custom': {
      const from = parseDate(view.from);
      const to = parseDate(view.to);
      if (!from || !to) return { error: 'Pick both days of the custom range.' };
      start = dayStart(tz, from.y, from.m, from.d);
      end = dayStart(tz, to.y, to.m, to.d + 1);
      if (end <= start) return { error: 'The custom range ends before it starts.' };
      if (end - start > MAX_DAYS * DAY) return { error: `A custom range may cover at most ${MAX_DAYS} days.` };
      break;
    }
    default: // today
      start = dayStart(tz, today.y, today.m, today.d);
      end = thisHourEnd;
  }
  const hourly = end - start <= HOURLY_UP_TO;
  return { start, end, prevStart: start - (end - start), hourly };
}

function parseDate(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || '');
  return m ? { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]) } : null;
}

/** The UTC days ("YYYY-MM-DD") that [start, end) touches, oldest first. */
export function utcDays(start, end) {
  const days = [];
  for (let ms = Math.floor(start / DAY) * DAY; ms < end; ms += DAY) days.push(new Date(ms).toISOString().slice(0, 10));
  return days;
}

/** A bucket's label in the zone: "14:00" for hours, "2025-03-04" for days. */
export function bucketLabel(tz, ms, hourly) {
  const p = parts(tz, ms);
  if (!hourly) return isoDate({ y: p.year, m: p.month, d: p.day });
  return `${isoDate({ y: p.year, m: p.month, d: p.day })} ${String(p.hour).padStart(2, '0')}:00`;
}
