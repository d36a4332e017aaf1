// A tiny test shop (node:http, no framework): what a merchant's webshop does
// with cartclick, and nothing more.
//
//   GET  /p/:sku          landing page (the redirect from a video lands here)
//   GET  /about           another page to navigate through
//   GET  /checkout?sku=   the checkout form, marked data-cartclick-checkout
//   GET  /spa             a checkout form added by script after the load
//   POST /order           the shop's SERVER side: reads the cartclick_token
//                         field and confirms the sale with cartclick's HTTP
//                         JSON API, with the merchant key only it holds
//   GET  /cartclick.min.js, /cartclick.js   the snippet
//
// The merchant key lives in this process only: no page, header or cookie the
// shop sends to a browser ever carries it (the full-flow test checks that).

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const WEB = fileURLToPath(new URL('..', import.meta.url));

const escape = (text) =>
  String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Starts the shop on 127.0.0.1 and a free port.
 *
 * options:
 *   snippetAttrs  extra attributes of the snippet's script tag, as HTML
 *                 (e.g. 'data-param="ref"'); default none
 *   snippet       which file to serve as the snippet: 'cartclick.min.js'
 *                 (default, what shops get) or 'cartclick.js'
 *   cartclick     { httpUrl, merchantKey }: where POST /order confirms sales;
 *                 without it /order only echoes the token it received
 *   currency, amountMinor   the price of everything (default DKK 129.00)
 *
 * Returns { url, orders, close() }; `orders` lists what /order received and
 * what cartclick answered, for the tests to inspect.
 */
export async function startShop(options = {}) {
  const {
    snippetAttrs = '',
    snippet = 'cartclick.min.js',
    cartclick = null,
    currency = 'DKK',
    amountMinor = 12900,
  } = options;
  const orders = [];
  let orderSeq = 0;

  const page = (title, body, extraHead = '') => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<link rel="icon" href="data:,">
<script src="/cartclick.min.js" defer ${snippetAttrs}></script>${extraHead}
</head><body><h1>${escape(title)}</h1>
<nav><a id="home" href="/p/sku-1">Product</a> <a id="about" href="/about">About</a></nav>
${body}
</body></html>`;

  const routes = {
    'GET /about': () => page('About us', '<p>We sell shoes.</p><a id="to-checkout" href="/checkout?sku=sku-1">Checkout</a>'),
    'GET /checkout': (url) => {
      const sku = url.searchParams.get('sku') || 'sku-1';
      return page('Checkout', `<form id="checkout" method="post" action="/order" data-cartclick-checkout>
<input type="hidden" name="sku" value="${escape(sku)}">
<label>Email <input name="email" value="viewer@example.com"></label>
<button id="buy" type="submit">Buy for ${escape(currency)} ${(amountMinor / 100).toFixed(2)}</button>
</form>`);
    },
    'GET /spa': () => page('Single-page checkout', '<div id="app"></div>', `
<script>
  setTimeout(() => {
    document.getElementById('app').innerHTML =
      '<form id="late" method="post" action="/order" data-cartclick-checkout><button id="buy">Buy</button></form>';
  }, 50);
</script>`),
  };

  async function order(req, res) {
    const form = new URLSearchParams(await readBody(req));
    const token = form.get('cartclick_token') || '';
    const orderId = `o-${process.pid}-${Date.now()}-${++orderSeq}`;
    const record = { orderId, token, sku: form.get('sku'), status: null, result: null };
    orders.push(record);
    if (token && cartclick) {
      // Server to server: the merchant key goes from here to cartclick only.
      // A shop takes the order whatever cartclick answers (and may retry
      // the confirmation later: it is idempotent on the order id).
      try {
        const response = await fetch(`${cartclick.httpUrl}/v1/sales:confirm`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${cartclick.merchantKey}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({
            token,
            orderId,
            amount: { currencyCode: currency, amountMinor: String(amountMinor) },
          }),
          signal: AbortSignal.timeout(5_000),
        });
        record.status = response.status;
        record.result = await response.json().catch(() => null);
      } catch (err) {
        record.status = 0;
        record.result = { unreachable: String(err.cause ?? err) };
      }
    }
    const attributed = record.status === 200;
    const body = `<p id="order">Order ${escape(orderId)} placed.</p>
<p id="token">cartclick token: ${escape(token || '(none)')}</p>
<p id="attribution" data-status="${escape(record.status ?? '')}">${
      attributed ? 'Attributed: ' : 'Not attributed: '
    }<code>${escape(JSON.stringify(record.result))}</code></p>
${attributed ? '<script>addEventListener("DOMContentLoaded", () => cartclick.clear());</script>' : ''}`;
    send(res, 200, 'text/html; charset=utf-8', page('Thank you', body));
  }

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://shop.invalid');
      if (req.method === 'GET' && (url.pathname === '/cartclick.min.js' || url.pathname === '/cartclick.js')) {
        const file = url.pathname === '/cartclick.js' ? 'cartclick.js' : snippet;
        return send(res, 200, 'text/javascript; charset=utf-8', await readFile(WEB + file));
      }
      if (req.method === 'GET' && url.pathname === '/favicon.ico') return send(res, 204, 'image/x-icon', '');
      const sku = url.pathname.match(/^\/p\/([\w-]+)$/);
      if (req.method === 'GET' && sku) {
        return send(res, 200, 'text/html; charset=utf-8', page(`Product ${sku[1]}`,
          `<p>Running shoes.</p><a id="to-checkout" href="/checkout?sku=${sku[1]}">Buy now</a>`));
      }
      if (req.method === 'POST' && url.pathname === '/order') return await order(req, res);
      const route = routes[`${req.method} ${url.pathname}`];
      if (route) return send(res, 200, 'text/html; charset=utf-8', route(url));
      send(res, 404, 'text/plain', 'not found');
    } catch (err) {
      send(res, 500, 'text/plain', `shop error: ${err.message}`);
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    orders,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    }),
  };
}

function send(res, status, type, body) {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
