// Where the dashboard tests open the page. Once the binary serves the page
// at `/` itself, the tests use the binary's HTTP address directly; until
// then this serves web/dashboard/dist/ with the headers the binary will send
// (the strict Content-Security-Policy among them) and forwards /v1/… to the
// binary, streaming, so the page and the API share one origin as in
// production.

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';

import { DIST } from '../scripts/build-dashboard.mjs';

export const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const TYPES = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

/** The base URL of the page for a running cartclick ({ httpUrl }): { url, close() }. */
export async function dashboardOrigin(cartclick) {
  const own = await fetch(`${cartclick.httpUrl}/`).catch(() => null);
  if (own?.ok && (own.headers.get('content-type') || '').startsWith('text/html')) {
    return { url: cartclick.httpUrl, own: true, close: async () => {} };
  }
  const server = createServer(async (req, res) => {
    try {
      if (req.url.startsWith('/v1/')) return await forward(cartclick.httpUrl, req, res);
      const path = req.url.split('?')[0];
      const name = path === '/' ? 'index.html' : path.startsWith('/assets/') ? path.slice(1) : null;
      if (!name || name.includes('..')) { res.writeHead(404).end(); return; }
      const body = await readFile(DIST + name);
      res.writeHead(200, {
        'content-type': TYPES[name.split('.').pop()],
        'content-security-policy': CSP,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': name === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable',
      });
      res.end(body);
    } catch {
      if (!res.headersSent) res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    own: false,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

async function forward(target, req, res) {
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  const headers = { ...req.headers };
  delete headers.host;
  delete headers.connection;
  const response = await fetch(target + req.url, { method: req.method, headers, signal: abort.signal }).catch(() => null);
  if (!response) { res.writeHead(502).end(); return; }
  res.writeHead(response.status, Object.fromEntries([...response.headers]
    .filter(([name]) => !['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding'].includes(name))));
  if (!response.body) { res.end(); return; }
  Readable.fromWeb(response.body).on('error', () => res.destroy()).pipe(res);
}
