// The dashboard page: signs in with a key (typed, or from `#key=` in the
// address), finds out what the key may read, and shows one merchant's
// figures, chart, live hour, top lists and earnings for the range and the
// filter in the address (so a view is a bookmark and the back button works).
//
// Modules: api.js (fetch with the key, plain-words errors, the live stream),
// range.js (presets, zones, previous period), data.js (counters in chunks and
// sums), format.js (numbers and money), chart.js (the SVG chart), csv.js.

import { client } from './api.js';
import { drawChart } from './chart.js';
import { toCsv } from './csv.js';
import { COUNTS, addBucket, counters, emptyBucket } from './data.js';
import { change, count, decimal, money, percent, words } from './format.js';
import { HOUR, bucketLabel, rangeOf, utcDays, zone } from './range.js';

/** sessionStorage only: the key lives as long as the tab, never on disk. */
const KEY = 'cartclick.key';
/** The filters a top-list row sets, in list order, with their counters dimension. */
const KINDS = [
  { kind: 'creator', dimension: 'DIMENSION_CREATOR', title: 'Creators' },
  { kind: 'video', dimension: 'DIMENSION_VIDEO', title: 'Videos' },
  { kind: 'product', dimension: 'DIMENSION_PRODUCT', title: 'Products' },
  { kind: 'campaign', dimension: 'DIMENSION_CAMPAIGN', title: 'Campaigns' },
];
/** Summed top lists cover at most this many UTC days (the last ones). */
const TOP_DAYS = 31;
const SERIES = { clicks: 'Clicks', taps: 'Taps', conversions: 'Conversions' };

const $ = (id) => document.getElementById(id);
const make = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

/** The signed-in key: { api, role: "dashboard" | "merchant", merchants, merchantId }. */
let session = null;
/** Stops the live stream; `liveTarget` is what it watches. */
let stopLive = null;
let liveTarget = '';
/** Bumped by each load, so a slow answer never paints over a newer view. */
let loadSeq = 0;
/** What is on screen, for the CSV and redraws. */
let shown = null;

function say(text) { $('status').textContent = text || ''; }

// ---- the view in the address -------------------------------------------

/** The view from the address: range, tz, from, to, merchant, filter, series. */
function readView() {
  const p = new URLSearchParams(location.search);
  const filter = KINDS.map(({ kind }) => ({ kind, id: p.get(kind) })).find((f) => f.id) || null;
  const range = ['today', '24h', '7d', '30d', 'custom'].includes(p.get('range')) ? p.get('range') : 'today';
  return {
    range,
    tz: p.get('tz') === 'local' ? 'local' : 'UTC',
    from: p.get('from') || '',
    to: p.get('to') || '',
    merchant: p.get('merchant') || '',
    filter,
    series: SERIES[p.get('series')] ? p.get('series') : 'clicks',
  };
}

/** Puts a view in the address (a new history entry) and shows it. */
function go(changes) {
  const view = { ...readView(), ...changes };
  const p = new URLSearchParams();
  p.set('range', view.range);
  if (view.range === 'custom') { p.set('from', view.from); p.set('to', view.to); }
  p.set('tz', view.tz);
  if (session?.role === 'dashboard' && view.merchant) p.set('merchant', view.merchant);
  if (view.filter) p.set(view.filter.kind, view.filter.id);
  if (view.series !== 'clicks') p.set('series', view.series);
  history.pushState(null, '', `${location.pathname}?${p}`);
  load();
}

// ---- signing in ----------------------------------------------------------

function showSignIn(message) {
  stopLive?.();
  stopLive = null;
  liveTarget = '';
  session = null;
  $('app').hidden = true;
  $('who').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  say(message);
  $('key').focus();
}

function signOut(message) {
  sessionStorage.removeItem(KEY);
  showSignIn(message || 'Signed out.');
}

/** Finds what the key may read (there is no whoami) and opens the page. */
async function signIn(key) {
  say('Signing in…');
  const api = client(key, () => signOut('This key is not valid (revoked?). Sign in again.'));
  let next;
  try {
    const { merchants } = await api.get('/v1/merchants', { pageSize: 1000 }, 'list merchants');
    next = { api, role: 'dashboard', merchants: merchants.map((m) => m.merchantId) };
  } catch (err) {
    if (err.status !== 403) return failSignIn(err);
    try {
      const { campaigns } = await api.get('/v1/campaigns', { pageSize: 1000 }, 'list campaigns');
      const merchantId = campaigns[0]?.merchantId;
      if (!merchantId) return failSignIn({ message: 'This merchant has no campaigns yet, so there is nothing to show.' });
      next = { api, role: 'merchant', merchants: [merchantId], merchantId };
    } catch (err2) {
      if (err2.status !== 403) return failSignIn(err2);
      return failSignIn({ message: 'This key cannot read dashboards (a feed key?): sign in with a dashboard or merchant key.' });
    }
  }
  sessionStorage.setItem(KEY, key);
  session = next;
  $('sign-in').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = false;
  $('who').hidden = false;
  $('who').textContent = session.role === 'merchant'
    ? `Merchant ${session.merchantId}` : `Dashboard key · ${session.merchants.length} merchants`;
  $('merchant-field').hidden = session.role !== 'dashboard';
  $('merchant').replaceChildren(...session.merchants.map((id) => make('option', { value: id, textContent: id })));
  say('');
  load();
}

function failSignIn(err) {
  sessionStorage.removeItem(KEY);
  showSignIn(err.message);
}

// ---- loading a view ------------------------------------------------------

/** The merchant shown: the key's own, or the picked one (default the first). */
function merchantOf(view) {
  if (session.role === 'merchant') return session.merchantId;
  return session.merchants.includes(view.merchant) ? view.merchant : session.merchants[0];
}

/** What the figures count: { dimension, id, note }. */
function targetOf(view, merchantId) {
  const f = view.filter;
  if (!f) return { dimension: 'DIMENSION_MERCHANT', id: merchantId, note: '' };
  const { dimension } = KINDS.find((k) => k.kind === f.kind);
  if (session.role === 'merchant' && (f.kind === 'creator' || f.kind === 'video')) {
    return { dimension: 'DIMENSION_MERCHANT', id: merchantId, note: `A merchant key cannot read counters by ${f.kind}: the figures are the whole merchant's.` };
  }
  const across = f.kind === 'creator' || f.kind === 'video' ? ` (a ${f.kind}'s counters cover every merchant)` : '';
  return { dimension, id: f.id, note: `Filtered to ${f.kind} ${f.id}${across}.` };
}

async function load() {
  if (!session) return;
  const seq = ++loadSeq;
  const view = readView();
  const merchantId = merchantOf(view);
  if (!merchantId) { say('There are no merchants yet.'); return; }
  const z = zone(view.tz);
  const range = rangeOf(view, z.tz);
  paintControls(view, merchantId, z);
  if (range.error) { say(range.error); return; }
  const target = targetOf(view, merchantId);
  $('filter').hidden = !view.filter;
  $('filter-text').textContent = target.note;
  const span = `${bucketLabel(z.tz, range.start, true)} to ${bucketLabel(z.tz, range.end, true)} ${z.name}`;
  const by = range.hourly ? 'hour by hour' : z.tz === 'UTC' ? 'day by day' : `day by day (${z.name} days, summed from hours)`;
  $('range-label').textContent = `${span}, ${by}; changes are against the ${Math.round((range.end - range.start) / HOUR)} hours before.${z.note ? ` ${z.note}.` : ''}`;
  say('Loading…');
  watchLive(target);

  const { api } = session;
  const [now, prev, tops, money_] = await Promise.allSettled([
    counters(api, target, range.start, range.end, range.hourly, z.tz),
    counters(api, target, range.prevStart, range.start, range.hourly, z.tz),
    topLists(api, merchantId, range),
    view.filter?.kind === 'creator' ? earnings(api, merchantId, view.filter.id) : held(api, merchantId),
  ]);
  if (seq !== loadSeq || !session) return;
  const failures = [now, prev, tops, money_].filter((r) => r.status === 'rejected').map((r) => r.reason.message);
  shown = { view, merchantId, target, range, zone: z, figures: [], series: null, tops: [], money: [] };
  if (now.status === 'fulfilled' && prev.status === 'fulfilled') {
    paintFigures(now.value.total, prev.value.total);
    shown.series = {
      labels: now.value.buckets.map((b) => bucketLabel(z.tz, b.start, range.hourly)),
      starts: now.value.buckets.map((b) => new Date(b.start).toISOString()),
      now: now.value.buckets,
      prev: now.value.buckets.map((_, i) => prev.value.buckets[i] || emptyBucket(0)),
    };
    paintChart();
  } else {
    $('figures').replaceChildren(make('p', { className: 'error', textContent: (now.reason || prev.reason).message }));
    $('chart').replaceChildren();
  }
  if (tops.status === 'fulfilled') paintTops(tops.value, view); else $('tops').replaceChildren(make('p', { className: 'error', textContent: tops.reason.message }));
  if (money_.status === 'fulfilled') paintMoney(money_.value, view);
  else $('money').replaceChildren(make('p', { className: 'error', textContent: money_.reason.message }));
  say(failures[0] || '');
  document.body.dataset.loads = String(Number(document.body.dataset.loads || 0) + 1);
  if (!document.body.dataset.ready) {
    document.body.dataset.ready = '1';
    performance.mark('cartclick:first-data');
  }
}

function paintControls(view, merchantId, z) {
  for (const button of document.querySelectorAll('[data-range]')) {
    button.setAttribute('aria-pressed', String(button.dataset.range === view.range));
  }
  $('custom').hidden = view.range !== 'custom';
  if (view.range === 'custom') { $('from').value = view.from; $('to').value = view.to; }
  $('tz').value = view.tz;
  $('tz').options[1].textContent = `Browser's (${Intl.DateTimeFormat().resolvedOptions().timeZone})`;
  $('merchant').value = merchantId;
  $('series').value = view.series;
  $('chart-title').textContent = `${SERIES[view.series]} (${z.name})`;
}

// ---- figures -------------------------------------------------------------

function paintFigures(now, prev) {
  const cards = [];
  // `raw` is the CSV's form: plain integers, major units, fractions.
  const add = (metric, label, value, before, text, currency = '', raw = String) => {
    const delta = change(value, before);
    shown.figures.push({ metric, currency, value: raw(value), previous: raw(before) });
    cards.push(make('div', { className: 'figure' },
      make('h3', { textContent: currency ? `${label} (${currency})` : label }),
      make('p', { className: 'value', textContent: text(value) }),
      make('p', { className: `change ${delta.sign > 0 ? 'up' : delta.sign < 0 ? 'down' : ''}`, textContent: `${delta.text} vs previous (${text(before)})` })));
    cards.at(-1).dataset.metric = metric;
    if (currency) cards.at(-1).dataset.currency = currency;
  };
  add('taps', 'Taps', now.taps, prev.taps, count);
  add('clicks', 'Clicks', now.clicks, prev.clicks, count);
  add('conversions', 'Conversions', now.conversions, prev.conversions, count);
  const rate = (b) => (b.clicks ? b.conversions / b.clicks : 0);
  add('conversion_rate', 'Conversion rate', rate(now), rate(prev), (r) => percent(r, 1), '', (r) => r.toFixed(4));
  for (const [metric, label] of [['revenue', 'Revenue'], ['refunded', 'Refunds'], ['commission', 'Commission']]) {
    const currencies = [...new Set([...now[metric].keys(), ...prev[metric].keys()])].sort();
    if (!currencies.length) add(metric, label, 0, 0, () => '0');
    for (const c of currencies) add(metric, label, now[metric].get(c) || 0n, prev[metric].get(c) || 0n, (v) => `${decimal(v, c)} ${c}`, c, (v) => decimal(v, c));
  }
  const flagged = (b) => (b.clicks ? b.flaggedClicks / b.clicks : 0);
  add('flagged_share', 'Flagged clicks', flagged(now), flagged(prev), (r) => percent(r, 1), '', (r) => r.toFixed(4));
  $('figures').replaceChildren(...cards);
}

function paintChart() {
  const s = shown?.series;
  if (!s) return;
  const metric = shown.view.series;
  drawChart($('chart'), {
    labels: s.labels, title: SERIES[metric],
    now: s.now.map((b) => b[metric]), prev: s.prev.map((b) => b[metric]),
  });
}

// ---- live ----------------------------------------------------------------

function watchLive(target) {
  const id = `${target.dimension}/${target.id}`;
  if (id === liveTarget && stopLive) return;
  stopLive?.();
  liveTarget = id;
  paintLive(null);
  stopLive = session.api.watch({ dimension: target.dimension, id: target.id }, paintLive, (state) => {
    $('live-state').textContent = state === 'live' ? '(live)' : `(${state})`;
  });
}

function paintLive(bucket) {
  const b = addBucket(emptyBucket(0), bucket || {});
  const items = [['taps', 'Taps'], ['clicks', 'Clicks'], ['conversions', 'Conversions']]
    .flatMap(([name, label]) => [make('dt', { textContent: label }), make('dd', { textContent: count(b[name]) })]);
  for (const [c, v] of b.revenue) items.push(make('dt', { textContent: `Revenue (${c})` }), make('dd', { textContent: `${decimal(v, c)} ${c}` }));
  $('live').replaceChildren(...items);
  const taps = $('live').querySelectorAll('dd')[0];
  taps.dataset.metric = 'taps';
}

// ---- top lists -----------------------------------------------------------

/** Each kind's top 10 by clicks over the UTC days of the range, summed. */
async function topLists(api, merchantId, range) {
  const days = utcDays(range.start, range.end).slice(-TOP_DAYS);
  const limit = days.length > 1 ? 100 : 10;
  const lists = await Promise.all(KINDS.map(async ({ dimension }) => {
    const answers = await Promise.all(days.map((day) => api.get('/v1/top', {
      dimension, day, metric: 'TOP_METRIC_CLICKS', limit, merchantId,
    }, 'read top lists')));
    const sums = new Map();
    for (const { entries } of answers) for (const e of entries || []) sums.set(e.id, (sums.get(e.id) || 0) + Number(e.value));
    return [...sums].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10);
  }));
  return { days, lists };
}

function paintTops({ days, lists }, view) {
  const span = days.length > 1 ? `UTC days ${days[0]} to ${days.at(-1)}, summed` : `UTC day ${days[0]}`;
  $('top-label').textContent = `${span}; top lists are UTC days whatever the time zone, and rank within the merchant.${view.filter ? ' The other lists stay the whole merchant\'s.' : ''}`;
  $('tops').replaceChildren(...KINDS.map(({ kind, title }, i) => {
    let rows = lists[i];
    const selected = view.filter?.kind === kind ? view.filter.id : null;
    if (selected) rows = [rows.find(([id]) => id === selected) || [selected, 0]];
    for (const [id, value] of rows) shown.tops.push({ kind, id, value });
    const list = make('ol', {}, ...rows.map(([id, value]) => {
      const button = make('button', { type: 'button', className: 'row' }, make('span', { className: 'id', textContent: id }), make('span', { className: 'n', textContent: count(value) }));
      button.dataset.kind = kind;
      button.dataset.id = id;
      button.setAttribute('aria-pressed', String(id === selected));
      button.title = id === selected ? `Clear the ${kind} filter` : `Filter by ${kind} ${id}`;
      return make('li', {}, button);
    }));
    const box = make('div', { className: 'toplist' }, make('h3', { textContent: title }), rows.length ? list : make('p', { className: 'note', textContent: 'Nothing yet.' }));
    box.dataset.kind = kind;
    return box;
  }));
}

// ---- earnings and held commissions --------------------------------------

async function earnings(api, merchantId, creatorId) {
  const { balances } = await api.get('/v1/earnings', { creatorId, merchantId }, "read this creator's earnings");
  return { kind: 'earnings', creatorId, balances: balances || [] };
}

async function held(api, merchantId) {
  const { commissions } = await api.get('/v1/commissions', { merchantId, status: 'COMMISSION_STATUS_HELD', pageSize: 50 }, 'list held commissions');
  return { kind: 'held', commissions: commissions || [] };
}

/** A table in a box that scrolls sideways on a phone (focusable, so keys scroll it). */
function table(label, headers, rows) {
  const t = make('table');
  t.createTHead().insertRow().append(...headers.map((h) => make('th', { scope: 'col', textContent: h })));
  const body = t.createTBody();
  for (const row of rows) body.insertRow().append(...row.map((cell) => make('td', { textContent: cell })));
  t.createCaption().textContent = label;
  t.caption.className = 'visually-hidden';
  const box = make('div', { className: 'scroll', tabIndex: 0 }, t);
  box.setAttribute('role', 'region');
  box.setAttribute('aria-label', label);
  return box;
}

function paintMoney(data, view) {
  if (data.kind === 'earnings') {
    $('money-title').textContent = `Earnings of creator ${data.creatorId}`;
    const parts = ['pending', 'payable', 'held', 'paid'];
    for (const b of data.balances) {
      for (const p of parts) shown.money.push({ section: 'earnings', id: b.merchantId, metric: p, currency: b.currencyCode, value: decimal(b[p]?.amountMinor, b.currencyCode) });
    }
    $('money').replaceChildren(data.balances.length
      ? table(`Earnings of creator ${data.creatorId}`, ['Merchant', 'Pending', 'Payable', 'Held', 'Paid'], data.balances.map((b) => [b.merchantId, ...parts.map((p) => money(b[p] || { amountMinor: '0', currencyCode: b.currencyCode }))]))
      : make('p', { className: 'note', textContent: 'No earnings with this merchant.' }));
    return;
  }
  $('money-title').textContent = 'Held commissions awaiting review';
  for (const c of data.commissions) {
    shown.money.push({ section: 'held', id: c.orderId, metric: 'commission', currency: c.commission.currencyCode, value: decimal(c.commission.amountMinor, c.commission.currencyCode), signals: (c.signals || []).join(' ') });
  }
  $('money').replaceChildren(data.commissions.length
    ? table('Held commissions awaiting review', ['Confirmed', 'Order', 'Creator', 'Commission', 'Signals'], data.commissions.map((c) => [
      (c.confirmedAt || '').replace('T', ' ').slice(0, 16), c.orderId, c.creatorId, money(c.commission),
      (c.signals || []).map((s) => words(s, 'FRAUD_SIGNAL_')).join(', ')]))
    : make('p', { className: 'note', textContent: view.filter ? 'None held for this merchant.' : 'None held: nothing awaits review.' }));
}

// ---- CSV -----------------------------------------------------------------

function downloadCsv() {
  if (!shown) return;
  const blob = new Blob([toCsv(shown)], { type: 'text/csv;charset=utf-8' });
  const a = make('a', { href: URL.createObjectURL(blob), download: `cartclick-${shown.merchantId}-${shown.view.range}.csv` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

// ---- wiring --------------------------------------------------------------

function wire() {
  $('sign-in-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = $('key').value.trim();
    $('key').value = '';
    if (key) signIn(key);
  });
  $('sign-out').addEventListener('click', () => signOut());
  for (const button of document.querySelectorAll('[data-range]')) {
    button.addEventListener('click', () => {
      if (button.dataset.range !== 'custom') return go({ range: button.dataset.range });
      const view = readView();
      const today = new Date().toISOString().slice(0, 10);
      go({ range: 'custom', from: view.from || today, to: view.to || today });
    });
  }
  $('apply').addEventListener('click', () => go({ range: 'custom', from: $('from').value, to: $('to').value }));
  $('tz').addEventListener('change', () => go({ tz: $('tz').value }));
  $('merchant').addEventListener('change', () => go({ merchant: $('merchant').value, filter: null }));
  $('series').addEventListener('change', () => go({ series: $('series').value }));
  $('clear-filter').addEventListener('click', () => go({ filter: null }));
  $('tops').addEventListener('click', (event) => {
    const row = event.target.closest('button.row');
    if (!row) return;
    const pressed = row.getAttribute('aria-pressed') === 'true';
    go({ filter: pressed ? null : { kind: row.dataset.kind, id: row.dataset.id } });
  });
  $('csv').addEventListener('click', downloadCsv);
  window.addEventListener('popstate', load);
  let resize;
  window.addEventListener('resize', () => { clearTimeout(resize); resize = setTimeout(paintChart, 150); });
}

function boot() {
  wire();
  // `#key=…` signs in and leaves the address at once (it never reached a server).
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has('key')) {
    sessionStorage.setItem(KEY, fragment.get('key'));
    history.replaceState(null, '', location.pathname + location.search);
  }
  const key = sessionStorage.getItem(KEY);
  if (key) signIn(key); else showSignIn('');
}

boot();
