// Minifies cartclick.js into cartclick.min.js with terser (`npm run build`).
// The tests call build() and compare with the committed cartclick.min.js, so
// the committed file cannot go stale.

import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { minify } from 'terser';

const WEB = fileURLToPath(new URL('..', import.meta.url));
export const SOURCE = WEB + 'cartclick.js';
export const OUTPUT = WEB + 'cartclick.min.js';

const OPTIONS = {
  ecma: 2017,
  compress: { passes: 2 },
  mangle: true,
  format: {
    comments: false,
    preamble: '/*! cartclick: keeps the click token until checkout; source: cartclick.js */',
  },
};

/** The minified snippet, as `npm run build` writes it. */
export async function build() {
  const { code } = await minify(await readFile(SOURCE, 'utf8'), OPTIONS);
  return code + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const code = await build();
  await writeFile(OUTPUT, code);
  console.log(`cartclick.min.js: ${Buffer.byteLength(code)} bytes`);
}
