// Headless Chromium for the tests: Debian's /usr/bin/chromium (or
// $CHROMIUM), driven by playwright-core, which never downloads a browser.

import { chromium } from 'playwright-core';

const EXECUTABLE = process.env.CHROMIUM || '/usr/bin/chromium';

// The machine's network is closed: without the background-networking flags
// Chromium stalls on refused connections.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launch() {
  return chromium.launch({ executablePath: EXECUTABLE, args: ARGS, timeout: 30_000 });
}

/**
 * A fresh context (its own cookies and storage) and a page in it that
 * records every page error and console error in `errors`.
 */
export async function freshPage(browser) {
  const context = await browser.newContext();
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  return { context, page, errors };
}

/** The context's cookie called `name`, or undefined. */
export async function cookie(context, name = 'cartclick_token') {
  return (await context.cookies()).find((c) => c.name === name);
}

/**
 * Serves https://<host>/… in this context from a local http origin: the page
 * sees a real https origin (so Secure cookies and the exact redirect URL
 * work) while the requests go to the test shop on 127.0.0.1. Playwright
 * answers them itself: no DNS, no TLS.
 */
export async function proxyHttps(context, host, target) {
  await context.route(`https://${host}/**`, async (route) => {
    const request = route.request();
    const from = new URL(request.url());
    const headers = { ...(await request.allHeaders()) };
    delete headers.host;
    const response = await fetch(target + from.pathname + from.search, {
      method: request.method(),
      headers,
      body: request.postDataBuffer() ?? undefined,
      redirect: 'manual',
    });
    await route.fulfill({
      status: response.status,
      // Hop-by-hop headers belong to the hop to the local shop.
      headers: Object.fromEntries([...response.headers].filter(([name]) =>
        !['connection', 'keep-alive', 'transfer-encoding', 'content-length'].includes(name))),
      body: Buffer.from(await response.arrayBuffer()),
    });
  });
}
