// The time-series chart, drawn as SVG: this period's line over the previous
// period's (dashed), with a table of the same numbers for screen readers.

const NS = 'http://www.w3.org/2000/svg';
const HEIGHT = 220;
const PAD = { top: 12, right: 12, bottom: 28, left: 44 };

function el(name, attrs, parent) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  parent?.append(node);
  return node;
}

/** A round step for about `ticks` gridlines up to `max`. */
function niceStep(max, ticks = 4) {
  const raw = Math.max(1, max) / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * power).find((s) => s >= raw);
  return Math.max(1, step);
}

/**
 * Draws into `box`: `labels` (one a bucket), `now` and `prev` (numbers, the
 * previous period's aligned bucket by bucket), `title` for the metric.
 */
export function drawChart(box, { labels, now, prev, title }) {
  box.replaceChildren();
  const width = Math.max(280, box.clientWidth || 600);
  const svg = el('svg', {
    viewBox: `0 0 ${width} ${HEIGHT}`, width, height: HEIGHT, role: 'img',
    'aria-label': `${title}: this period ${now.reduce((a, b) => a + b, 0)}, previous period ${prev.reduce((a, b) => a + b, 0)}`,
  }, box);
  const step = niceStep(Math.max(...now, ...prev, 1));
  const top = Math.ceil(Math.max(...now, ...prev, 1) / step) * step;
  const plotW = width - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (labels.length > 1 ? (i * plotW) / (labels.length - 1) : plotW / 2);
  const y = (v) => PAD.top + plotH - (v / top) * plotH;

  for (let v = 0; v <= top; v += step) {
    el('line', { x1: PAD.left, x2: width - PAD.right, y1: y(v), y2: y(v), class: 'grid' }, svg);
    el('text', { x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, svg).textContent = String(v);
  }
  const every = Math.max(1, Math.ceil(labels.length / Math.max(2, Math.floor(plotW / 90))));
  const last = labels.length - 1;
  labels.forEach((label, i) => {
    if (i % every) return;
    const anchor = !i ? 'start' : i === last || i + every > last ? 'end' : 'middle';
    el('text', { x: x(i), y: HEIGHT - 8, 'text-anchor': anchor, class: 'axis' }, svg)
      .textContent = label.length > 10 ? label.slice(11) || label : label.slice(5);
  });
  const line = (values, cls) => el('polyline', {
    points: values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' '), class: cls,
  }, svg);
  line(prev, 'line prev');
  line(now, 'line now');
  now.forEach((v, i) => el('circle', { cx: x(i), cy: y(v), r: labels.length > 60 ? 1.5 : 3, class: 'dot' }, svg)
    .append(Object.assign(document.createElementNS(NS, 'title'), { textContent: `${labels[i]}: ${v} (previous ${prev[i]})` })));

  // In a wrapper: a table would not shrink to the hidden box's 1 px.
  const hidden = document.createElement('div');
  hidden.className = 'visually-hidden';
  const table = document.createElement('table');
  table.innerHTML = `<caption>${title} by bucket</caption><thead><tr><th scope="col">Bucket</th><th scope="col">This period</th><th scope="col">Previous period</th></tr></thead>`;
  const body = table.createTBody();
  labels.forEach((label, i) => {
    const row = body.insertRow();
    for (const text of [label, now[i], prev[i]]) row.insertCell().textContent = String(text);
  });
  hidden.append(table);
  box.append(hidden);
}
