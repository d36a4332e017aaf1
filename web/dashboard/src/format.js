// Numbers and money as people read them. Money is integers in minor units
// (int64 as strings in JSON): it is added with BigInt, shown with the
// currency's own exponent (Intl), and never summed across currencies.

const exponents = new Map();
/** The currency's number of minor-unit digits (DKK 2, JPY 0, KWD 3). */
export function exponent(currency) {
  if (!exponents.has(currency)) {
    let digits = 2;
    try {
      digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    } catch { /* an unknown code: two digits */ }
    exponents.set(currency, digits);
  }
  return exponents.get(currency);
}

/** "125.00" for 12500 minor units of DKK (no grouping, "-" for negatives). */
export function decimal(amountMinor, currency) {
  const value = BigInt(amountMinor || 0);
  const digits = exponent(currency);
  const sign = value < 0n ? '-' : '';
  const abs = (value < 0n ? -value : value).toString().padStart(digits + 1, '0');
  return digits ? `${sign}${abs.slice(0, -digits)}.${abs.slice(-digits)}` : `${sign}${abs}`;
}

/** "125.00 DKK". */
export const money = (m) => `${decimal(m.amountMinor, m.currencyCode)} ${m.currencyCode}`;

/** Adds Money lists into a Map currency → BigInt minor units. */
export function addMoney(into, list) {
  for (const m of list || []) into.set(m.currencyCode, (into.get(m.currencyCode) || 0n) + BigInt(m.amountMinor || 0));
  return into;
}

/** An integer count with grouping: "12,345". */
export const count = (n) => Number(n).toLocaleString('en');

/** A share as "12.5 %", or "–" with nothing to divide by. */
export const percent = (part, whole) => (whole ? `${((100 * part) / whole).toFixed(1)} %` : '–');

/**
 * The change from `before` to `now` as { text, sign }: "+25 %", "−10 %",
 * "new" (from zero), "±0" or "–" (both zero).
 */
export function change(now, before) {
  const a = Number(now);
  const b = Number(before);
  if (!a && !b) return { text: '–', sign: 0 };
  if (!b) return { text: 'new', sign: 1 };
  const pct = Math.round(((a - b) / Math.abs(b)) * 100);
  if (!pct) return { text: '±0 %', sign: 0 };
  return { text: `${pct > 0 ? '+' : '−'}${Math.abs(pct)} %`, sign: Math.sign(pct) };
}

/** Signal names as words: FRAUD_SIGNAL_TAP_FLOOD → "tap flood". */
export const words = (name, prefix) => String(name).replace(prefix, '').toLowerCase().replaceAll('_', ' ');
