// The JSON API on this page's own origin: every call carries the key in
// `authorization` (never in a URL), and every failure becomes an ApiError
// whose message a person can read.

/** An API failure: `status` is the HTTP status (0 when the network failed). */
export class ApiError extends Error {
  constructor(status, message, reason) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

/** Plain words for a failed call, from its status and google.rpc.Status body. */
export function plainWords(status, body, what) {
  const info = (body?.details || []).find((d) => d.reason);
  const field = info?.metadata?.field;
  if (status === 401) return 'This key is not valid (revoked?). Sign in again.';
  if (status === 403) return `This key may not ${what}.`;
  if (status === 429 || status === 503) return 'The server is busy; retrying…';
  if (status === 400 && field) return `The server refused ${what}: ${field} is not valid (${body.message || info.reason}).`;
  if (status === 0) return 'The server cannot be reached; retrying…';
  return `The server could not ${what} (${status}${body?.message ? `: ${body.message}` : ''}).`;
}

const RETRIES = 3;

/** A client for one key. `onUnauthorized` runs when the key stops working. */
export function client(key, onUnauthorized) {
  const headers = { authorization: `Bearer ${key}` };

  /** GET path?query as JSON; `what` says what it does, for error messages. */
  async function get(path, query, what) {
    const url = `${path}?${new URLSearchParams(query)}`;
    for (let attempt = 0; ; attempt++) {
      let response;
      try {
        response = await fetch(url, { headers, cache: 'no-store' });
      } catch {
        if (attempt < RETRIES) { await pause(attempt); continue; }
        throw new ApiError(0, plainWords(0, null, what));
      }
      if (response.ok) return response.json();
      const body = await response.json().catch(() => null);
      if ((response.status === 429 || response.status === 503) && attempt < RETRIES) {
        await pause(attempt);
        continue;
      }
      if (response.status === 401) onUnauthorized?.();
      const reason = (body?.details || []).find((d) => d.reason)?.reason;
      throw new ApiError(response.status, plainWords(response.status, body, what), reason);
    }
  }

  /**
   * Follows `GET /v1/counters:watch` (Server-Sent Events read with fetch, as
   * the key goes in a header): calls onBucket with each CounterBucket and
   * onState with a word on the connection; reconnects with backoff until the
   * returned stop() is called. A 401/403 ends it for good.
   */
  function watch(query, onBucket, onState) {
    const abort = new AbortController();
    let stopped = false;
    (async () => {
      for (let attempt = 0; !stopped; attempt++) {
        try {
          const response = await fetch(`/v1/counters:watch?${new URLSearchParams(query)}`, {
            headers: { ...headers, accept: 'text/event-stream' },
            signal: abort.signal,
            cache: 'no-store',
          });
          if (!response.ok) {
            const body = await response.json().catch(() => null);
            if (response.status === 401) onUnauthorized?.();
            const final = response.status === 401 || response.status === 403 || response.status === 400;
            onState(plainWords(response.status, body, 'watch these counters live'), final);
            if (final) return;
          } else {
            onState('live', false);
            attempt = 0;
            const error = await readEvents(response.body, onBucket);
            if (error) {
              const code = error.code === 16 ? 401 : error.code === 7 ? 403 : 503;
              if (code === 401) onUnauthorized?.();
              onState(plainWords(code, error, 'watch these counters live'), code !== 503);
              if (code !== 503) return;
            }
          }
        } catch (err) {
          if (stopped) return;
          onState('reconnecting…', false);
        }
        await pause(attempt, abort.signal);
      }
    })();
    return () => { stopped = true; abort.abort(); };
  }

  return { get, watch };
}

/**
 * Reads an event stream: each `data:` event's JSON goes to onBucket; an
 * `event: error` ends it and is returned (a google.rpc.Status). Returns
 * null when the server closed the stream without one.
 */
async function readEvents(body, onBucket) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return null;
    buffer += value;
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      let event = 'message';
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith(':')) continue; // keep-alive
        const colon = line.indexOf(':');
        const name = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (name === 'event') event = text;
        if (name === 'data') data.push(text);
      }
      if (!data.length) continue;
      const json = JSON.parse(data.join('\n'));
      if (event === 'error') return json;
      onBucket(json.bucket || json);
    }
  }
}

/** Backoff: 0.5 s, 1 s, 2 s … up to 15 s, with jitter. */
function pause(attempt, signal) {
  const ms = Math.min(15_000, 500 * 2 ** attempt) * (0.75 + Math.random() / 2);
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}
