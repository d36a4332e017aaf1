// The committed builds are fresh builds of their sources and fit their
// size budgets: the snippet's cartclick.min.js, and the dashboard's dist/.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';

import { build, SOURCE, OUTPUT } from '../scripts/build.mjs';
import { buildDashboard, DIST } from '../scripts/build-dashboard.mjs';

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

// The dashboard page's committed dist/ is a fresh build of its source, and
// fits the budget of the issue (JS and CSS at most 60 KB gzipped).

const DASHBOARD_BUDGET = 60 * 1024; // bytes, gzipped, JS and CSS together

test('web/dashboard/dist equals a fresh build of web/dashboard (run `npm run build:dashboard`)', async () => {
  const files = await buildDashboard();
  const committed = (await readdir(DIST, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => relative(DIST, join(entry.parentPath, entry.name)))
    .sort();
  assert.deepEqual(committed, Object.keys(files).sort());
  for (const [name, text] of Object.entries(files)) assert.equal(await readFile(DIST + name, 'utf8'), text, name);
});

test('the dashboard\'s JS and CSS are at most 60 KB gzipped', async () => {
  const assets = Object.entries(await buildDashboard()).filter(([name]) => /\.(js|css)$/.test(name));
  const size = assets.reduce((sum, [, text]) => sum + gzipSync(text, { level: 9 }).length, 0);
  assert.ok(size <= DASHBOARD_BUDGET, `the dashboard's assets are ${size} bytes gzipped, the budget is ${DASHBOARD_BUDGET}`);
});
