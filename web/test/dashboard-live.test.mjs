// The page's live reader (dashboard/src/api.js watch()) against a stand-in
// event stream, in Node: the binary's own route is checked in the browser
// test. Buckets arrive as they are sent, keep-alives are skipped, a key goes
// in the header only, and an `event: error` ends the stream in plain words.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';

import { client } from '../dashboard/src/api.js';

test('watch() reads buckets, skips keep-alives, sends the key in a header, and stops on event: error', async () => {
  const seen = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url, authorization: req.headers.authorization });
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(': keep-alive\n\n');
    res.write('data: {"startTime":"2026-01-01T10:00:00Z","taps":"1"}\n\n');
    // One event split across two writes.
    res.write('data: {"startTime":"2026-01-01T10:00:00Z",');
    setTimeout(() => {
      res.write('"taps":"2"}\n\n');
      res.end('event: error\ndata: {"code":16,"message":"key revoked","details":[]}\n\n');
    }, 50);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const realFetch = globalThis.fetch;
  globalThis.fetch = (url, init) => realFetch(base + url, init);
  try {
    const buckets = [];
    const states = [];
    let unauthorized = 0;
    const api = client('secret-key', () => unauthorized++);
    await new Promise((resolve) => {
      api.watch({ dimension: 'DIMENSION_MERCHANT', id: 'm-1' }, (b) => buckets.push(b.taps), (state, final) => {
        states.push(state);
        if (final) resolve();
      });
    });
    assert.deepEqual(buckets, ['1', '2']);
    assert.equal(states[0], 'live');
    assert.match(states.at(-1), /not valid \(revoked\?\)/);
    assert.equal(unauthorized, 1);
    assert.equal(seen.length, 1, 'a revoked key is not retried');
    assert.equal(seen[0].authorization, 'Bearer secret-key');
    assert.doesNotMatch(seen[0].url, /secret/);
  } finally {
    globalThis.fetch = realFetch;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
