// The snippet in real headless Chromium, on pages of the test shop.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { launch, freshPage, cookie, proxyHttps } from './browser.mjs';
import { startShop } from './shop.mjs';

const WEEK = 604800;
// Tokens as cartclick makes them: unpadded base64url, up to 99 characters.
const newToken = () => randomBytes(60).toString('base64url');

let browser;
let shop;
before(async () => {
  browser = await launch();
  shop = await startShop();
});
after(async () => {
  await browser?.close();
  await shop?.close();
});

// A test in a fresh context; fails if the page logged an error or threw.
function browserTest(name, body) {
  test(name, async () => {
    const { context, page, errors } = await freshPage(browser);
    try {
      await body({ context, page });
      assert.deepEqual(errors, [], 'no page errors nor console errors');
    } finally {
      await context.close();
    }
  });
}

const snippetToken = (page) => page.evaluate(() => window.cartclick.token());
const checkoutField = (page) =>
  page.$eval('#checkout', (form) => form.elements.cartclick_token?.value ?? null);

browserTest('a landing keeps the token in a first-party cookie for the window', async ({ context, page }) => {
  const token = newToken();
  const before = Date.now() / 1000;
  await page.goto(`${shop.url}/p/sku-1?cc=${token}`);
  await page.waitForFunction(() => window.cartclick);

  const kept = await cookie(context);
  assert.ok(kept, 'cookie set');
  assert.equal(kept.value, token);
  assert.equal(kept.path, '/');
  assert.equal(kept.sameSite, 'Lax');
  assert.equal(kept.secure, false, 'not Secure on http');
  assert.equal(kept.httpOnly, false);
  assert.equal(kept.domain, '127.0.0.1', 'host-only, first party');
  assert.ok(Math.abs(kept.expires - (before + WEEK)) < 60, `expires in 7 days (got ${kept.expires - before} s)`);
  assert.equal(await snippetToken(page), token);
});

browserTest('on https the cookie is Secure', async ({ context, page }) => {
  await proxyHttps(context, 'shop.test', shop.url);
  const token = newToken();
  await page.goto(`https://shop.test/p/sku-1?cc=${token}`);
  await page.waitForFunction(() => window.cartclick);
  const kept = await cookie(context);
  assert.equal(kept?.value, token);
  assert.equal(kept.secure, true);
  assert.equal(kept.domain, 'shop.test');
  assert.equal(kept.sameSite, 'Lax');
  assert.equal(page.url(), 'https://shop.test/p/sku-1');
});

browserTest('the parameter leaves the address bar; the rest of the query and the fragment stay', async ({ page }) => {
  const token = newToken();
  await page.goto(`${shop.url}/about`);
  const entries = await page.evaluate(() => history.length);
  await page.goto(`${shop.url}/p/sku-1?utm_source=vid&cc=${token}&q=a%20b+c&flag#reviews`);
  await page.waitForFunction(() => window.cartclick);
  assert.equal(page.url(), `${shop.url}/p/sku-1?utm_source=vid&q=a%20b+c&flag#reviews`);
  assert.equal(await page.evaluate(() => history.length), entries + 1, 'replaced, not pushed');
  await page.goBack();
  assert.equal(page.url(), `${shop.url}/about`, 'no history entry holds the token');

  await page.goto(`${shop.url}/p/sku-1?cc=${newToken()}#top`);
  await page.waitForFunction(() => window.cartclick);
  assert.equal(page.url(), `${shop.url}/p/sku-1#top`);
});

browserTest('the token survives navigation and fills the checkout form', async ({ page }) => {
  const token = newToken();
  await page.goto(`${shop.url}/p/sku-1?cc=${token}`);
  await page.click('#about');
  await page.waitForURL(`${shop.url}/about`);
  await page.click('#to-checkout');
  await page.waitForURL(`${shop.url}/checkout?sku=sku-1`);
  await page.waitForFunction(() => window.cartclick);
  assert.equal(await checkoutField(page), token);
  assert.equal(
    await page.$eval('#checkout input[name=cartclick_token]', (input) => input.type),
    'hidden',
  );

  const seen = shop.orders.length;
  await page.click('#buy');
  await page.waitForSelector('#order');
  assert.equal(shop.orders.length, seen + 1);
  assert.equal(shop.orders.at(-1).token, token, 'the shop server got the token in the form');
});

browserTest('a later landing replaces the token', async ({ context, page }) => {
  const first = newToken();
  const second = newToken();
  await page.goto(`${shop.url}/p/sku-1?cc=${first}`);
  await page.waitForFunction(() => window.cartclick);
  assert.equal((await cookie(context))?.value, first);
  await page.goto(`${shop.url}/p/sku-2?cc=${second}`);
  await page.waitForFunction(() => window.cartclick);
  assert.equal((await cookie(context))?.value, second);
  await page.goto(`${shop.url}/checkout?sku=sku-2`);
  await page.waitForFunction(() => window.cartclick);
  assert.equal(await checkoutField(page), second);
});

browserTest('values that are not tokens are ignored and left alone', async ({ context, page }) => {
  const junk = [
    'a'.repeat(101), // too long
    'abc$def',
    'abc%2Bdef', // '+' is not URL-safe base64
    'abc%20def',
    'abc=def',
    'abc.def',
    '%E2%9C%93',
    '%ZZ',
    '',
  ];
  for (const value of junk) {
    const url = `${shop.url}/p/sku-1?cc=${value}&x=1`;
    await page.goto(url);
    await page.waitForFunction(() => window.cartclick);
    assert.equal(await cookie(context), undefined, `no cookie for ${JSON.stringify(value)}`);
    assert.equal(await snippetToken(page), null);
    assert.equal(page.url(), url, 'address left as it was');
  }
  await page.goto(`${shop.url}/checkout`);
  await page.waitForFunction(() => window.cartclick);
  assert.equal(await checkoutField(page), null, 'no field added without a token');

  // Junk does not replace a kept token either.
  const token = newToken();
  await page.goto(`${shop.url}/p/sku-1?cc=${token}`);
  await page.waitForFunction(() => window.cartclick);
  await page.goto(`${shop.url}/p/sku-1?cc=not*a*token`);
  await page.waitForFunction(() => window.cartclick);
  assert.equal((await cookie(context))?.value, token);

  // 100 characters is the longest token accepted.
  const longest = 'A'.repeat(99) + '_';
  await page.goto(`${shop.url}/p/sku-1?cc=${longest}`);
  await page.waitForFunction(() => window.cartclick);
  assert.equal((await cookie(context))?.value, longest);
});

browserTest('no token: nothing set, nothing added, no errors', async ({ context, page }) => {
  await page.goto(`${shop.url}/p/sku-1?utm_source=vid`);
  await page.waitForFunction(() => window.cartclick);
  assert.equal(page.url(), `${shop.url}/p/sku-1?utm_source=vid`);
  await page.goto(`${shop.url}/checkout`);
  await page.waitForFunction(() => window.cartclick);
  assert.deepEqual(await context.cookies(), []);
  assert.equal(await snippetToken(page), null);
  assert.equal(await checkoutField(page), null);
  await page.evaluate(() => window.cartclick.clear());
  assert.deepEqual(await context.cookies(), []);
});

test('data-param, data-cookie and data-max-age configure it', async () => {
  const custom = await startShop({
    snippetAttrs: 'data-param="ref" data-cookie="shop_cc" data-max-age="3600"',
  });
  const { context, page, errors } = await freshPage(browser);
  try {
    const token = newToken();
    const other = newToken();
    const before = Date.now() / 1000;
    await page.goto(`${custom.url}/p/sku-1?cc=${other}&ref=${token}`);
    await page.waitForFunction(() => window.cartclick);
    assert.equal(page.url(), `${custom.url}/p/sku-1?cc=${other}`, 'only the configured parameter is taken');
    assert.equal(await cookie(context), undefined, 'not under the default name');
    const kept = await cookie(context, 'shop_cc');
    assert.equal(kept?.value, token);
    assert.ok(Math.abs(kept.expires - (before + 3600)) < 60, 'expires in an hour');
    await page.goto(`${custom.url}/checkout`);
    await page.waitForFunction(() => window.cartclick);
    assert.equal(await checkoutField(page), token);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await custom.close();
  }
});

browserTest('the readable source behaves like the minified file', async ({ context, page }) => {
  const source = await startShop({ snippet: 'cartclick.js' });
  try {
    const token = newToken();
    await page.goto(`${source.url}/p/sku-1?cc=${token}&a=1`);
    await page.waitForFunction(() => window.cartclick);
    assert.equal(page.url(), `${source.url}/p/sku-1?a=1`);
    assert.equal((await cookie(context))?.value, token);
  } finally {
    await source.close();
  }
});

browserTest('forms added later get the token; attach() and clear() work', async ({ context, page }) => {
  const token = newToken();
  await page.goto(`${shop.url}/p/sku-1?cc=${token}`);
  await page.goto(`${shop.url}/spa`);
  await page.waitForSelector('#late');
  await page.waitForFunction(() => document.querySelector('#late input[name=cartclick_token]'));
  assert.equal(await page.$eval('#late', (f) => f.elements.cartclick_token.value), token);

  // An unmarked form, by hand.
  const attached = await page.evaluate(() => {
    const form = document.createElement('form');
    document.body.append(form);
    window.cartclick.attach(form);
    return form.elements.cartclick_token?.value;
  });
  assert.equal(attached, token);

  // After the order: forgotten, and the marked form's field emptied.
  await page.evaluate(() => window.cartclick.clear());
  assert.equal(await cookie(context), undefined);
  assert.equal(await snippetToken(page), null);
  assert.equal(await page.$eval('#late', (f) => f.elements.cartclick_token.value), '');
});

browserTest('a submit refreshes the field with the newest token', async ({ page }) => {
  const first = newToken();
  const second = newToken();
  await page.goto(`${shop.url}/p/sku-1?cc=${first}`);
  await page.goto(`${shop.url}/checkout`);
  await page.waitForFunction(() => window.cartclick);
  assert.equal(await checkoutField(page), first);
  // Another tab lands meanwhile.
  const other = await page.context().newPage();
  await other.goto(`${shop.url}/p/sku-2?cc=${second}`);
  await other.waitForFunction(() => window.cartclick);
  await other.close();
  await page.click('#buy');
  await page.waitForSelector('#order');
  assert.equal(shop.orders.at(-1).token, second);
});

browserTest('cookies that throw and no history API: no errors, the token lasts the page', async ({ context, page }) => {
  await context.addInitScript(() => {
    const deny = () => {
      throw new DOMException('The document is sandboxed', 'SecurityError');
    };
    Object.defineProperty(Document.prototype, 'cookie', { get: deny, set: deny, configurable: true });
    history.replaceState = undefined;
  });
  const token = newToken();
  const url = `${shop.url}/checkout?cc=${token}`;
  await page.goto(url);
  await page.waitForFunction(() => window.cartclick);
  assert.equal(await snippetToken(page), token, 'kept in memory');
  assert.equal(await checkoutField(page), token);
  assert.equal(page.url(), url, 'without history.replaceState the address stays');
  await page.evaluate(() => window.cartclick.clear());
  assert.equal(await snippetToken(page), null);
});

browserTest('cookies switched off in the browser: no errors', async ({ context, page }) => {
  // Chromium ignores cookie writes for a document whose cookies are blocked;
  // a getter that returns nothing stands in for that.
  await context.addInitScript(() => {
    Object.defineProperty(Document.prototype, 'cookie', { get: () => '', set: () => {}, configurable: true });
  });
  const token = newToken();
  await page.goto(`${shop.url}/checkout?cc=${token}&b=2`);
  await page.waitForFunction(() => window.cartclick);
  assert.equal(await snippetToken(page), token);
  assert.equal(await checkoutField(page), token);
  assert.equal(page.url(), `${shop.url}/checkout?b=2`);
});

test('data-domain shares the cookie with subdomains; bad settings fall back to defaults', async () => {
  const shared = await startShop({ snippetAttrs: 'data-domain="shop.test"' });
  const odd = await startShop({
    snippetAttrs: 'data-cookie="a b;c" data-max-age="soon" data-domain="x; Path=/evil"',
  });
  const { context, page, errors } = await freshPage(browser);
  try {
    await proxyHttps(context, 'www.shop.test', shared.url);
    const token = newToken();
    await page.goto(`https://www.shop.test/p/sku-1?cc=${token}`);
    await page.waitForFunction(() => window.cartclick);
    const kept = await cookie(context);
    assert.equal(kept?.value, token);
    assert.equal(kept.domain, '.shop.test');

    const other = newToken();
    const before = Date.now() / 1000;
    await page.goto(`${odd.url}/p/sku-1?cc=${other}`);
    await page.waitForFunction(() => window.cartclick);
    const plain = (await context.cookies(odd.url)).filter((c) => c.name === 'cartclick_token');
    assert.equal(plain.length, 1);
    assert.equal(plain[0].value, other);
    assert.equal(plain[0].domain, '127.0.0.1');
    assert.equal(plain[0].path, '/');
    assert.ok(Math.abs(plain[0].expires - (before + WEEK)) < 60);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await shared.close();
    await odd.close();
  }
});
