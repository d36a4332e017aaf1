// The dashboard page in headless Chromium against the real binary: a
// seeded day (creators, videos, products, two campaigns, sales, a refund, a
// held commission), then what a person does on the page, checked against
// what the API answers. The page is opened from BASE (the binary's own `/`
// when it serves one; see dashboard-server.mjs). Screenshots go to
// web/test-output/.

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { launch, freshPage } from './browser.mjs';
import { startCartclick, fields } from './cartclick.mjs';
import { dashboardOrigin } from './dashboard-server.mjs';

const MERCHANT = 'dash-shop';
const OTHER = 'dash-other';
const CAMPAIGNS = ['spring-sale', 'summer-drop'];
const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const HOUR = 3_600_000;

let cartclick;
let origin;
let BASE;
let browser;
/** Every page's console errors, page errors and CSP violations, per test. */
let errors = [];
/** Whether the binary lacks GET /v1/counters:watch (the live test skips then). */
let noLiveRoute = false;

const api = async (key, path, query) => {
  const response = await fetch(`${cartclick.httpUrl}${path}?${new URLSearchParams(query)}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
  return response.json();
};

/** The range the page's "today" covers: the UTC day up to the end of this hour. */
function today() {
  const now = Date.now();
  const start = new Date(new Date(now).toISOString().slice(0, 10) + 'T00:00:00Z');
  const end = new Date(Math.floor(now / HOUR) * HOUR + HOUR);
  return { startTime: start.toISOString(), endTime: end.toISOString(), day: start.toISOString().slice(0, 10) };
}

async function apiCounters(dimension, id) {
  const { startTime, endTime } = today();
  return (await api(cartclick.keys.dashboard, '/v1/counters', {
    dimension, id, granularity: 'GRANULARITY_HOUR', startTime, endTime,
  })).total;
}

let sequence = 0;
async function tap({ campaign = CAMPAIGNS[0], product, video, creator, viewer }) {
  const issued = fields(await cartclick.cli(cartclick.keys.feed, 'issue',
    '--campaign', campaign, '--product', product, '--video', video, '--creator', creator,
    '--viewer', viewer || `viewer-${++sequence}`, '--landing-url', `https://shop.test/p/${product}`));
  return issued.token;
}

async function sale(token, order, amountMinor) {
  await cartclick.cli(cartclick.keys.merchant, 'confirm', '--token', token, '--order', order,
    '--amount-minor', String(amountMinor), '--currency', 'DKK');
}

before(async () => {
  cartclick = await startCartclick({ merchantId: MERCHANT });
  const admin = (...args) => cartclick.cli(cartclick.keys.admin, 'admin', ...args);
  for (const [id, name] of [[MERCHANT, 'Dashboard shop'], [OTHER, 'Other shop']]) {
    await admin('merchant', 'put', '--id', id, '--name', name, '--domain', 'shop.test', '--token-param', 'cc');
  }
  for (const campaign of CAMPAIGNS) {
    await admin('campaign', 'put', '--id', campaign, '--merchant', MERCHANT, '--category', 'apparel', '--window-hours', '168', '--commission-rate-bps', '1000');
    await admin('campaign', 'review', '--id', campaign, '--decision', 'approve', '--reason', 'dashboard test');
  }
  // cr-1 leads on clicks, then cr-2, then cr-3.
  const plan = [
    ['cr-1', 'vid-a', 'sku-1', CAMPAIGNS[0]], ['cr-1', 'vid-a', 'sku-1', CAMPAIGNS[0]],
    ['cr-1', 'vid-b', 'sku-2', CAMPAIGNS[1]], ['cr-1', 'vid-b', 'sku-1', CAMPAIGNS[0]],
    ['cr-2', 'vid-c', 'sku-2', CAMPAIGNS[1]], ['cr-2', 'vid-c', 'sku-3', CAMPAIGNS[1]],
    ['cr-3', 'vid-d', 'sku-3', CAMPAIGNS[0]],
  ];
  const tokens = [];
  for (const [creator, video, product, campaign] of plan) tokens.push(await tap({ creator, video, product, campaign }));
  await sale(tokens[0], 'order-1', 12500);
  await sale(tokens[2], 'order-2', 49900);
  await sale(tokens[4], 'order-3', 8000);
  await cartclick.cli(cartclick.keys.merchant, 'reverse', '--order', 'order-2', '--reversal', 'refund-1',
    '--amount-minor', '9900', '--currency', 'DKK');
  // The viewer is the creator: a self-referral, whose commission is held.
  await sale(await tap({ creator: 'cr-2', video: 'vid-c', product: 'sku-2', viewer: 'cr-2' }), 'order-held', 20000);

  const probe = await fetch(`${cartclick.httpUrl}/v1/counters:watch?dimension=DIMENSION_MERCHANT&id=${MERCHANT}`, {
    headers: { authorization: `Bearer ${cartclick.keys.dashboard}` },
  });
  await probe.body?.cancel();
  noLiveRoute = probe.status === 404;
  expectedFailures = noLiveRoute ? [/Failed to load resource: .* 404/] : [];

  origin = await dashboardOrigin(cartclick);
  BASE = origin.url;
  browser = await launch();
  await mkdir(OUTPUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  await origin?.close();
  await cartclick?.stop();
});

/**
 * Failed requests the page makes on purpose, which Chromium logs as console
 * errors: role detection asks /v1/merchants first (403 for a merchant key),
 * and a binary without the live route answers its 404.
 */
let expectedFailures = [];
const unexpected = (list) => list.filter((e) => !expectedFailures.some((re) => re.test(e)));

afterEach(() => {
  const seen = unexpected(errors);
  expectedFailures = noLiveRoute ? [/Failed to load resource: .* 404/] : [];
  errors = [];
  assert.deepEqual(seen, [], 'console errors, page errors or CSP violations');
});

/**
 * A fresh tab (its own context; `options` for Playwright's newContext)
 * signed in by fragment, once the first data is painted.
 */
async function open(key = cartclick.keys.dashboard, { path = `/?merchant=${MERCHANT}`, ...options } = {}) {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  errors = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`); });
  await page.goto(`${BASE}${path}#key=${encodeURIComponent(key)}`);
  await page.waitForSelector('body[data-ready]');
  return { context, page };
}

/** Waits for the page to finish the load after `n` loads. */
const loadsAfter = (page, n) => page.waitForFunction((m) => Number(document.body.dataset.loads) > m, n);
const loads = (page) => page.evaluate(() => Number(document.body.dataset.loads));
const figure = (page, metric, currency) => page.$eval(
  `.figure[data-metric="${metric}"]${currency ? `[data-currency="${currency}"]` : ''} .value`, (el) => el.textContent);

test('the page is served with a strict Content-Security-Policy and no inline script or style', async () => {
  const response = await fetch(`${BASE}/`);
  const csp = response.headers.get('content-security-policy') || '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  const html = await response.text();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
  assert.doesNotMatch(html, /\sstyle=/);
  assert.doesNotMatch(html, /\son[a-z]+=/);
});

test('signs in by the #key= fragment, drops it from the address and keeps the key in sessionStorage only', async () => {
  const { context, page } = await open();
  try {
    assert.equal(new URL(page.url()).hash, '');
    const stored = await page.evaluate(() => ({
      session: sessionStorage.getItem('cartclick.key'), local: localStorage.length, cookie: document.cookie,
    }));
    assert.equal(stored.session, cartclick.keys.dashboard);
    assert.equal(stored.local, 0);
    assert.equal(stored.cookie, '');
    assert.deepEqual(await context.cookies(), []);
    // The dashboard key picks among merchants.
    assert.equal(await page.isVisible('#merchant'), true);
    await page.click('#sign-out');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('cartclick.key')), null);
    assert.equal(await page.isVisible('#key'), true);
  } finally {
    await context.close();
  }
});

test('the figures of the seeded day equal the API\'s', async () => {
  const { context, page } = await open();
  try {
    const total = await apiCounters('DIMENSION_MERCHANT', MERCHANT);
    assert.equal(await figure(page, 'taps'), String(total.taps));
    assert.equal(await figure(page, 'clicks'), String(total.clicks));
    assert.equal(await figure(page, 'conversions'), String(total.conversions));
    assert.equal(String(total.conversions), '4');
    const revenue = total.revenue.find((m) => m.currencyCode === 'DKK');
    const refunded = total.refunded.find((m) => m.currencyCode === 'DKK');
    assert.equal(await figure(page, 'revenue', 'DKK'), `${(Number(revenue.amountMinor) / 100).toFixed(2)} DKK`);
    assert.equal(await figure(page, 'refunded', 'DKK'), '99.00 DKK');
    assert.equal(refunded.amountMinor, '9900');
    // The chart's numbers add up to the figure.
    const charted = await page.$$eval('#chart tbody tr', (rows) => rows.reduce((sum, r) => sum + Number(r.cells[1].textContent), 0));
    assert.equal(charted, Number(total.clicks));
    // The creators' list is the API's top list.
    const top = await api(cartclick.keys.dashboard, '/v1/top', {
      dimension: 'DIMENSION_CREATOR', day: today().day, metric: 'TOP_METRIC_CLICKS', limit: 10, merchantId: MERCHANT,
    });
    const rows = await page.$$eval('.toplist[data-kind="creator"] button.row', (bs) => bs.map((b) => [b.dataset.id, b.querySelector('.n').textContent]));
    assert.deepEqual(rows, top.entries.map((e) => [e.id, String(e.value)]));
  } finally {
    await context.close();
  }
});

test('a row click filters the figures, chart, lists and address, and back undoes it', async () => {
  const { context, page } = await open();
  try {
    const n = await loads(page);
    await page.click('.toplist[data-kind="creator"] button.row[data-id="cr-1"]');
    await loadsAfter(page, n);
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('creator'), 'cr-1');
    const total = await apiCounters('DIMENSION_CREATOR', 'cr-1');
    assert.equal(await figure(page, 'clicks'), String(total.clicks));
    assert.notEqual(String(total.clicks), String((await apiCounters('DIMENSION_MERCHANT', MERCHANT)).clicks));
    const charted = await page.$$eval('#chart tbody tr', (rows) => rows.reduce((sum, r) => sum + Number(r.cells[1].textContent), 0));
    assert.equal(charted, Number(total.clicks));
    const creators = await page.$$eval('.toplist[data-kind="creator"] button.row', (bs) => bs.map((b) => [b.dataset.id, b.getAttribute('aria-pressed')]));
    assert.deepEqual(creators, [['cr-1', 'true']]);
    // The address is a bookmark: opened anew, it shows the same view.
    const seen = errors;
    const { context: again, page: bookmarked } = await open(cartclick.keys.dashboard, { path: `/${url.search}` });
    assert.equal(await figure(bookmarked, 'clicks'), String(total.clicks));
    await again.close();
    errors = seen.concat(errors);
    const m = await loads(page);
    await page.goBack();
    await loadsAfter(page, m);
    assert.equal(new URL(page.url()).searchParams.get('creator'), null);
    assert.ok((await page.$$('.toplist[data-kind="creator"] button.row')).length >= 3);
  } finally {
    await context.close();
  }
});

test('a tap moves the live figure within 2 s', async (t) => {
  if (noLiveRoute) {
    t.skip('this binary has no /v1/counters:watch yet');
    return;
  }
  const { context, page } = await open();
  try {
    await page.waitForFunction(() => /live/.test(document.getElementById('live-state').textContent));
    const before = Number(await page.$eval('#live dd[data-metric="taps"]', (el) => el.textContent.replace(/,/g, '')));
    await tap({ creator: 'cr-3', video: 'vid-d', product: 'sku-3' });
    const tapped = Date.now();
    await page.waitForFunction((b) => Number(document.querySelector('#live dd[data-metric="taps"]').textContent.replace(/,/g, '')) > b,
      before, { timeout: 2_000 });
    t.diagnostic(`the live figure moved ${Date.now() - tapped} ms after the tap returned`);
  } finally {
    await context.close();
  }
});

test('in the browser\'s time zone the days are that zone\'s, summed from hours; a zone off whole hours falls back to UTC', async () => {
  const { context, page } = await open(cartclick.keys.dashboard, {
    path: `/?merchant=${MERCHANT}&range=7d&tz=local`, timezoneId: 'Europe/Copenhagen',
  });
  try {
    assert.match(await page.textContent('#range-label'), /Europe\/Copenhagen days, summed from hours/);
    assert.equal(await page.$$eval('#chart tbody tr', (rows) => rows.length), 7);
    // Every seeded click is in the last 7 Copenhagen days.
    const total = await apiCounters('DIMENSION_MERCHANT', MERCHANT);
    assert.equal(await figure(page, 'clicks'), String(total.clicks));
    assert.match(await page.textContent('#top-label'), /UTC day/);
  } finally {
    await context.close();
  }
  const { context: india, page: kolkata } = await open(cartclick.keys.dashboard, {
    path: `/?merchant=${MERCHANT}&tz=local`, timezoneId: 'Asia/Kolkata',
  });
  try {
    assert.match(await kolkata.textContent('#range-label'), /Asia\/(Kolkata|Calcutta) is not a whole number of hours off UTC, so times are UTC/);
  } finally {
    await india.close();
  }
});

test('the CSV export holds the API\'s numbers', async () => {
  const { context, page } = await open();
  try {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
    const csv = await readFile(await download.path(), 'utf8');
    const rows = csv.trim().split('\r\n').map((line) => line.split(','));
    assert.deepEqual(rows[0], ['section', 'id', 'metric', 'currency', 'value', 'previous']);
    const find = (section, metric, currency = '') => rows.find((r) => r[0] === section && r[2] === metric && r[3] === currency);
    const total = await apiCounters('DIMENSION_MERCHANT', MERCHANT);
    assert.equal(find('figure', 'taps')[4], String(total.taps));
    assert.equal(find('figure', 'clicks')[4], String(total.clicks));
    assert.equal(find('figure', 'conversions')[4], String(total.conversions));
    const revenue = total.revenue.find((m) => m.currencyCode === 'DKK').amountMinor;
    assert.equal(find('figure', 'revenue', 'DKK')[4], (Number(revenue) / 100).toFixed(2));
    const charted = rows.filter((r) => r[0] === 'chart' && r[2] === 'clicks').reduce((sum, r) => sum + Number(r[4]), 0);
    assert.equal(charted, Number(total.clicks));
    const top = await api(cartclick.keys.dashboard, '/v1/top', {
      dimension: 'DIMENSION_VIDEO', day: today().day, metric: 'TOP_METRIC_CLICKS', limit: 10, merchantId: MERCHANT,
    });
    assert.deepEqual(rows.filter((r) => r[0] === 'top_video').map((r) => [r[1], r[4]]), top.entries.map((e) => [e.id, String(e.value)]));
    assert.ok(rows.some((r) => r[0] === 'held' && r[1] === 'order-held'));
  } finally {
    await context.close();
  }
});

test('held commissions show their signals, and a creator filter shows the creator\'s earnings', async () => {
  const { context, page } = await open();
  try {
    const held = await page.$$eval('#money tbody tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
    const row = held.find((cells) => cells[1] === 'order-held');
    assert.ok(row, JSON.stringify(held));
    assert.equal(row[2], 'cr-2');
    assert.match(row[4], /self referral/);
    const n = await loads(page);
    await page.click('.toplist[data-kind="creator"] button.row[data-id="cr-2"]');
    await loadsAfter(page, n);
    assert.equal(await page.textContent('#money-title'), 'Earnings of creator cr-2');
    const { balances } = await api(cartclick.keys.dashboard, '/v1/earnings', { creatorId: 'cr-2', merchantId: MERCHANT });
    const cells = await page.$$eval('#money tbody tr td', (tds) => tds.map((td) => td.textContent));
    const b = balances[0];
    const show = (m) => `${(Number(m?.amountMinor || 0) / 100).toFixed(2)} DKK`;
    assert.deepEqual(cells, [MERCHANT, show(b.pending), show(b.payable), show(b.held), show(b.paid)]);
    assert.notEqual(show(b.held), '0.00 DKK');
  } finally {
    await context.close();
  }
});

test('a merchant key sees its own merchant and no picker; a bad key is told in plain words', async () => {
  expectedFailures.push(/Failed to load resource: .* 403/, /Failed to load resource: .* 401/);
  const { context, page } = await open(cartclick.keys.merchant, { path: '/' });
  try {
    assert.equal(await page.isVisible('#merchant'), false);
    assert.match(await page.textContent('#who'), new RegExp(MERCHANT));
    const total = await apiCounters('DIMENSION_MERCHANT', MERCHANT);
    assert.equal(await figure(page, 'clicks'), String(total.clicks));
  } finally {
    await context.close();
  }
  const { context: other, page: bad, errors: badErrors } = await freshPage(browser);
  try {
    await bad.goto(`${BASE}/#key=not-a-key`);
    await bad.waitForFunction(() => /not valid/.test(document.getElementById('status').textContent));
    assert.equal(await bad.isVisible('#key'), true);
    assert.equal(await bad.evaluate(() => sessionStorage.getItem('cartclick.key')), null);
    // The browser logs the 401 itself; nothing else may fail.
    assert.deepEqual(unexpected(badErrors), []);
  } finally {
    await other.close();
  }
  const { context: feed, page: feedPage } = await freshPage(browser);
  try {
    await feedPage.goto(`${BASE}/#key=${cartclick.keys.feed}`);
    await feedPage.waitForFunction(() => /cannot read dashboards/.test(document.getElementById('status').textContent));
  } finally {
    await feed.close();
  }
});

test('usable by keyboard alone: presets and rows are reached with Tab and pressed with Enter', async () => {
  const { context, page } = await open();
  try {
    const reach = async (selector) => {
      for (let i = 0; i < 60; i++) {
        await page.keyboard.press('Tab');
        if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return;
      }
      assert.fail(`Tab never reached ${selector}`);
    };
    await reach('[data-range="7d"]');
    let n = await loads(page);
    await page.keyboard.press('Enter');
    await loadsAfter(page, n);
    assert.equal(new URL(page.url()).searchParams.get('range'), '7d');
    await reach('.toplist[data-kind="product"] button.row');
    const id = await page.evaluate(() => document.activeElement.dataset.id);
    n = await loads(page);
    await page.keyboard.press('Enter');
    await loadsAfter(page, n);
    assert.equal(new URL(page.url()).searchParams.get('product'), id);
  } finally {
    await context.close();
  }
});

test('no serious or critical axe-core findings, readable at 360 px, and screenshots at 1280 and 360 px', async (t) => {
  const axe = await readFile(AXE, 'utf8');
  for (const width of [1280, 360]) {
    // bypassCSP lets the test inject axe-core; the page itself runs as served.
    const { context, page } = await open(cartclick.keys.dashboard, { viewport: { width, height: 900 }, bypassCSP: true });
    try {
      const started = await page.evaluate(() => performance.getEntriesByName('cartclick:first-data')[0]?.startTime);
      t.diagnostic(`${width} px: first render with data ${Math.round(started)} ms after navigation start`);
      await page.evaluate(axe);
      const violations = await page.evaluate(async () => (await window.axe.run(document)).violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`));
      assert.deepEqual(violations, []);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${width} px: the page is ${overflow} px wider than the screen`);
      await page.screenshot({ path: `${OUTPUT}dashboard-${width}.png`, fullPage: true });
    } finally {
      await context.close();
    }
  }
});
