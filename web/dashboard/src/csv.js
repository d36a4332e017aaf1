// The CSV of what is on screen: one row a number, with a section, the id it
// belongs to, the metric, the currency (for money, in major units with the
// currency's exponent) and the previous period's value where there is one.

const HEADER = ['section', 'id', 'metric', 'currency', 'value', 'previous'];

/** Quotes a field when it needs it (RFC 4180), and defuses spreadsheet formulas. */
function field(value) {
  let text = value === undefined || value === null ? '' : String(value);
  if (/^[=+@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** `shown` as main.js keeps it: figures, series, tops, money. */
export function toCsv(shown) {
  const rows = [HEADER];
  for (const f of shown.figures) rows.push(['figure', shown.target.id, f.metric, f.currency, f.value, f.previous]);
  const s = shown.series;
  if (s) {
    s.starts.forEach((start, i) => {
      for (const metric of ['taps', 'clicks', 'conversions']) rows.push(['chart', start, metric, '', s.now[i][metric], s.prev[i][metric]]);
    });
  }
  for (const t of shown.tops) rows.push([`top_${t.kind}`, t.id, 'clicks', '', t.value, '']);
  for (const m of shown.money) rows.push([m.section, m.id, m.metric, m.currency, m.value, m.signals ?? '']);
  return rows.map((row) => row.map(field).join(',')).join('\r\n') + '\r\n';
}
