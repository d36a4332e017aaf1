// The full flow against the real cartclick binary: a feed issues a token,
// the viewer lands on the test shop through the redirect URL, the snippet
// keeps the token through navigation into checkout, and the shop's SERVER
// confirms the sale with its merchant key. The browser never sees that key.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launch, freshPage, cookie, proxyHttps } from './browser.mjs';
import { startShop } from './shop.mjs';
import { startCartclick, fields } from './cartclick.mjs';

const MERCHANT = 'web-shop';
const CAMPAIGN = 'web-campaign';
// The merchant's registered domain. cartclick only redirects to https on a
// registered domain, while the test shop is plain http on 127.0.0.1: the
// browser context answers https://shop.test/... from the local shop
// (proxyHttps), so the test opens the exact redirect URL cartclick returned.
const SHOP_HOST = 'shop.test';

let cartclick;
let shop;
let browser;

before(async () => {
  cartclick = await startCartclick({ merchantId: MERCHANT });
  const admin = (...args) => cartclick.cli(cartclick.keys.admin, 'admin', ...args);
  await admin('merchant', 'put', '--id', MERCHANT, '--name', 'Web test shop',
    '--domain', SHOP_HOST, '--token-param', 'cc');
  await admin('campaign', 'put', '--id', CAMPAIGN, '--merchant', MERCHANT,
    '--category', 'apparel', '--window-hours', '168');
  await admin('campaign', 'review', '--id', CAMPAIGN, '--decision', 'approve', '--reason', 'web test');
  shop = await startShop({
    cartclick: { httpUrl: cartclick.httpUrl, merchantKey: cartclick.keys.merchant },
    currency: 'DKK',
    amountMinor: 12900,
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await shop?.close();
  await cartclick?.stop();
});

async function counters(key) {
  const hour = 3600_000;
  const start = new Date(Math.floor(Date.now() / hour) * hour - hour);
  const end = new Date(start.getTime() + 3 * hour);
  const query = new URLSearchParams({
    dimension: 'DIMENSION_CAMPAIGN',
    id: CAMPAIGN,
    granularity: 'GRANULARITY_HOUR',
    startTime: start.toISOString(),
    endTime: end.toISOString(),
  });
  const response = await fetch(`${cartclick.httpUrl}/v1/counters?${query}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

test('a tap in a video becomes a confirmed, counted sale', async () => {
  // The feed service reports the tap.
  const issued = fields(await cartclick.cli(cartclick.keys.feed, 'issue',
    '--campaign', CAMPAIGN, '--product', 'sku-1', '--video', 'vid-1',
    '--creator', 'cr-1', '--viewer', 'viewer-1',
    '--landing-url', `https://${SHOP_HOST}/p/sku-1?utm_source=cartclick#details`));
  assert.match(issued.token, /^[A-Za-z0-9_-]{1,100}$/);
  const redirect = new URL(issued.redirect_url);
  assert.equal(redirect.searchParams.get('cc'), issued.token);

  const { context, page, errors } = await freshPage(browser);
  try {
    await proxyHttps(context, SHOP_HOST, shop.url);
    // Everything the browser sent and received, to look for secrets in.
    const seen = [];
    page.on('request', (request) => seen.push((async () => [
      `request ${request.url()}`,
      JSON.stringify(await request.allHeaders()),
      request.postData() ?? '',
    ].join('\n'))()));
    page.on('response', (response) => seen.push((async () => [
      `response ${response.url()}`,
      JSON.stringify(await response.allHeaders()),
      (await response.body().catch(() => Buffer.alloc(0))).toString('utf8'),
    ].join('\n'))()));

    // The viewer lands through the redirect URL.
    await page.goto(issued.redirect_url);
    await page.waitForFunction(() => window.cartclick);
    assert.equal(page.url(), `https://${SHOP_HOST}/p/sku-1?utm_source=cartclick#details`);
    const kept = await cookie(context);
    assert.equal(kept?.value, issued.token);
    assert.equal(kept.secure, true);

    // Browses, then checks out.
    await page.click('#about');
    await page.waitForURL(`https://${SHOP_HOST}/about`);
    await page.click('#to-checkout');
    await page.waitForURL(`https://${SHOP_HOST}/checkout?sku=sku-1`);
    assert.equal(await page.$eval('#checkout', (f) => f.elements.cartclick_token.value), issued.token);
    await page.click('#buy');
    await page.waitForSelector('#attribution');

    // The shop's server confirmed the sale.
    const status = await page.$eval('#attribution', (p) => p.dataset.status);
    const order = shop.orders.at(-1);
    assert.equal(status, '200', `ConfirmSale answered ${order.status}: ${JSON.stringify(order.result)}`);
    assert.equal(order.token, issued.token);
    assert.equal(order.result.clickId, issued.click_id);
    assert.equal(order.result.campaignId, CAMPAIGN);
    assert.equal(order.result.creatorId, 'cr-1');
    assert.equal(order.result.videoId, 'vid-1');
    assert.equal(order.result.productId, 'sku-1');
    assert.equal(order.result.replayed, false);
    assert.ok(order.result.clickedAt && order.result.confirmedAt);
    assert.match(await page.textContent('#attribution'), /"campaignId":"web-campaign"/);

    // The thank-you page forgot the token (cartclick.clear()).
    await page.waitForFunction(() => window.cartclick && window.cartclick.token() === null);
    assert.equal(await cookie(context), undefined);

    // The counters show the click and the sale.
    const { total } = await counters(cartclick.keys.merchant);
    assert.equal(String(total.clicks), '1');
    assert.equal(String(total.conversions), '1');
    assert.deepEqual(
      total.revenue.map((m) => [m.currencyCode, String(m.amountMinor)]),
      [['DKK', '12900']],
    );

    // No secret reached the browser: not in any request or response it
    // saw, nor in its cookies.
    const traffic = await Promise.all(seen);
    assert.ok(traffic.length >= 8, `saw ${traffic.length} requests and responses`);
    const cookies = await page.evaluate(() => document.cookie);
    const jar = JSON.stringify(await context.cookies());
    for (const [role, secret] of Object.entries(cartclick.keys)) {
      for (const item of traffic) {
        assert.ok(!item.includes(secret), `the ${role} key appears in ${item.split('\n')[0]}`);
      }
      assert.ok(!cookies.includes(secret), `the ${role} key is in document.cookie`);
      assert.ok(!jar.includes(secret), `the ${role} key is in a cookie`);
    }
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('the shop gets cartclick errors as JSON with an ErrorInfo reason', async () => {
  // A token from nowhere: the shop's confirm call is refused, and the page
  // says so without breaking.
  const { context, page, errors } = await freshPage(browser);
  try {
    await proxyHttps(context, SHOP_HOST, shop.url);
    const forged = 'A'.repeat(60);
    await page.goto(`https://${SHOP_HOST}/checkout?cc=${forged}`);
    await page.waitForFunction(() => window.cartclick);
    await page.click('#buy');
    await page.waitForSelector('#attribution');
    const order = shop.orders.at(-1);
    assert.equal(order.token, forged);
    assert.equal(order.status, 400, JSON.stringify(order.result));
    assert.equal(order.result.code, 3);
    const info = order.result.details.find((d) => d['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo');
    assert.equal(info?.reason, 'TOKEN_INVALID');
    assert.equal(info.domain, 'cartclick');
    assert.equal(await page.$eval('#attribution', (p) => p.dataset.status), '400');
    // Not attributed, so the token is kept (the shop may retry).
    assert.equal((await cookie(context))?.value, forged);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
