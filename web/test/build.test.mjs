// The committed cartclick.min.js is a fresh build of cartclick.js and fits
// the size budget.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

import { build, SOURCE, OUTPUT } from '../scripts/build.mjs';

const LIMIT = 2048; // bytes, minified (not gzipped)

test('cartclick.min.js is under 2 KB', async () => {
  const size = (await readFile(OUTPUT)).length;
  assert.ok(size < LIMIT, `cartclick.min.js is ${size} bytes, the limit is ${LIMIT}`);
});

test('cartclick.min.js equals a fresh build of cartclick.js (run `npm run build`)', async () => {
  assert.equal(await readFile(OUTPUT, 'utf8'), await build());
});

test('the snippet has no dependencies and no module syntax', async () => {
  const source = await readFile(SOURCE, 'utf8');
  assert.doesNotMatch(source, /\b(import|require)\s*\(|^\s*(import|export)\s/m);
});
