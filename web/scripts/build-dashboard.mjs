// Builds the dashboard page (`npm run build:dashboard`): esbuild bundles and
// minifies web/dashboard/src/main.js and its CSS into
// web/dashboard/dist/assets/app-<hash>.{js,css}, and index.html is written
// with those names. The output depends only on the sources and the pinned
// esbuild, so CI rebuilds it and checks that the committed dist is the same
// byte for byte. The binary embeds dist/ and serves it at `/`.

import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const DASHBOARD = fileURLToPath(new URL('../dashboard/', import.meta.url));
export const DIST = DASHBOARD + 'dist/';

/** A short content hash, so a changed asset gets a new name (cache busting). */
const hash = (text) => createHash('sha256').update(text).digest('hex').slice(0, 12);

async function bundle(entry) {
  const result = await esbuild.build({
    entryPoints: [DASHBOARD + entry],
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022'],
    legalComments: 'none',
    charset: 'utf8',
    write: false,
  });
  return result.outputFiles[0].text;
}

/**
 * The dist files as { path relative to dist/: contents }, exactly as
 * `npm run build:dashboard` writes them.
 */
export async function buildDashboard() {
  const js = await bundle('src/main.js');
  const css = await bundle('src/style.css');
  const jsName = `assets/app-${hash(js)}.js`;
  const cssName = `assets/app-${hash(css)}.css`;
  const html = (await readFile(DASHBOARD + 'index.html', 'utf8'))
    .replace('/app.css', `/${cssName}`)
    .replace('/app.js', `/${jsName}`);
  return { 'index.html': html, [jsName]: js, [cssName]: css };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = await buildDashboard();
  await rm(DIST, { recursive: true, force: true });
  await mkdir(DIST + 'assets', { recursive: true });
  for (const [name, text] of Object.entries(files)) {
    await writeFile(DIST + name, text);
    console.log(`dashboard/dist/${name}: ${Buffer.byteLength(text)} bytes`);
  }
}
