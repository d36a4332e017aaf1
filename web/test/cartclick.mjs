// The real cartclick server for the full-flow test: the binary from
// $CARTCLICK_BIN (default <repo>/target/debug/cartclick), on the memory
// store, with API keys made for this run only, on ephemeral ports.

import { spawn, execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const BIN = process.env.CARTCLICK_BIN ||
  fileURLToPath(new URL('../../target/debug/cartclick', import.meta.url));

const ROLES = ['feed', 'merchant', 'dashboard', 'admin'];
const STARTUP_TIMEOUT_MS = 10_000;

const secret = () => randomBytes(32).toString('base64url');
const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/**
 * Starts `cartclick serve` and waits (at most 10 s) for its "serving" log
 * line. `merchantId` is the merchant the merchant key is bound to.
 *
 * Returns { grpcUrl, httpUrl, keys: { feed, merchant, dashboard, admin },
 * cli(apiKey, ...args), logs, stop() }. The keys are secrets made now; only
 * their SHA-256 goes into the config file.
 */
export async function startCartclick({ merchantId }) {
  await access(BIN).catch(() => {
    throw new Error(`no cartclick binary at ${BIN}: run \`cargo build\` or set CARTCLICK_BIN`);
  });
  const dir = await mkdtemp(join(tmpdir(), 'cartclick-web-'));
  const keys = Object.fromEntries(ROLES.map((role) => [role, secret()]));
  const config = [
    'listen = "127.0.0.1:0"',
    'http_listen = "127.0.0.1:0"',
    `viewer_pepper_base64 = "${randomBytes(32).toString('base64')}"`,
    '[[signing_keys]]',
    'kid = "web1"',
    `secret_base64 = "${randomBytes(32).toString('base64')}"`,
    'active = true',
    ...ROLES.flatMap((role) => [
      '[[api_keys]]',
      `id = "web-${role}"`,
      `role = "${role}"`,
      ...(role === 'merchant' ? [`merchant_id = "${merchantId}"`] : []),
      `sha256 = "${sha256(keys[role])}"`,
    ]),
  ].join('\n');
  const configFile = join(dir, 'cartclick.toml');
  await writeFile(configFile, config + '\n', { mode: 0o600 });

  const child = spawn(BIN, ['serve', '--config', configFile, '--log-format', 'json'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, RUST_LOG: 'info', NO_COLOR: '1' },
  });
  const logs = [];
  let exited = null;
  // 'close', not 'exit': by then every log line has been read.
  const exit = new Promise((resolve) => child.on('close', (code, signal) => {
    exited = { code, signal };
    resolve(exited);
  }));

  // Addresses from the log lines (JSON, fields flattened): `addr` is the
  // gRPC address on the "serving" line, `http_addr` the JSON API's.
  const addresses = new Promise((resolve, reject) => {
    const found = {};
    const timer = setTimeout(
      () => reject(new Error(`cartclick did not report both addresses in ${STARTUP_TIMEOUT_MS} ms:\n${logs.join('\n')}`)),
      STARTUP_TIMEOUT_MS,
    );
    createInterface({ input: child.stderr }).on('line', (line) => {
      logs.push(line);
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        return;
      }
      if (event.message === 'serving' && event.addr) found.addr = event.addr;
      if (event.http_addr) found.http_addr = event.http_addr;
      if (found.addr && found.http_addr) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    exit.then(() => {
      clearTimeout(timer);
      const noGateway = logs.some((line) => line.includes('http_listen'))
        ? 'this cartclick binary has no HTTP JSON gateway (http_listen) yet; '
        : '';
      reject(new Error(`${noGateway}cartclick exited (${JSON.stringify(exited)}) before serving:\n${logs.join('\n')}`));
    });
  });

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const late = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exit;
      clearTimeout(late);
    }
    await rm(dir, { recursive: true, force: true });
  };

  let found;
  try {
    found = await addresses;
  } catch (err) {
    await stop();
    throw err;
  }
  const grpcUrl = `http://${found.addr}`;
  const httpUrl = `http://${found.http_addr}`;

  /** Runs a client subcommand; the key goes in the environment, not argv. */
  const cli = async (apiKey, ...args) => {
    try {
      const { stdout } = await run(BIN, args, {
        env: { ...process.env, CARTCLICK_SERVER: grpcUrl, CARTCLICK_API_KEY: apiKey },
        timeout: 15_000,
      });
      return stdout;
    } catch (err) {
      throw new Error(`cartclick ${args.join(' ')} failed: ${err.stderr || err.message}`);
    }
  };

  return { grpcUrl, httpUrl, keys, cli, logs, stop };
}

/** `name   value` lines of a client command's output, as an object. */
export function fields(stdout) {
  return Object.fromEntries(
    stdout.split('\n')
      .map((line) => line.match(/^(\w+)\s+(.*)$/))
      .filter(Boolean)
      .map((m) => [m[1], m[2].trim()]),
  );
}
