/*
 * cartclick.js: keeps a cartclick click token from the landing URL until
 * checkout. No dependencies; safe on every page of a shop:
 *
 *   <script src="/cartclick.min.js" defer data-param="cc" data-max-age="604800"></script>
 *
 * On a landing from a shoppable video the URL carries the token in the query
 * parameter `data-param` (the merchant's token_param, default "cc"). The
 * snippet keeps it in a first-party cookie (`data-cookie`, default
 * "cartclick_token") for `data-max-age` seconds (the attribution window,
 * default 7 days), takes it out of the address bar, and puts it in a hidden
 * input `cartclick_token` of every form marked `data-cartclick-checkout`.
 * The shop's SERVER sends it to cartclick's ConfirmSale with its merchant
 * key; that key never belongs in a page.
 *
 * Optional `data-domain` sets the cookie's Domain (e.g. "shop.dk" to share it
 * with checkout.shop.dk); without it the cookie is host-only.
 *
 * window.cartclick:
 *   token()      the kept token, or null
 *   clear()      forget it (call after a completed order)
 *   attach(form) fill the token into a form now (marked forms are automatic)
 *
 * It never throws. Without cookies the token lasts for the current page
 * only; without the history API the parameter stays in the address.
 */
(() => {
  // Tokens are opaque, URL-safe base64 (no padding), at most 100 characters.
  const TOKEN = /^[A-Za-z0-9_-]{1,100}$/;
  const FIELD = 'cartclick_token';
  const FORMS = 'form[data-cartclick-checkout]';
  const doc = document;

  // Settings from the script tag's data-* attributes; bad values fall back
  // to the defaults rather than break the cookie.
  const script = doc.currentScript || doc.querySelector('script[src*="cartclick"]');
  const data = (name) => (script && script.getAttribute('data-' + name)) || '';
  const param = data('param') || 'cc';
  let cookie = data('cookie');
  if (!/^[\w.-]+$/.test(cookie)) cookie = FIELD;
  let maxAge = data('max-age') | 0;
  if (maxAge <= 0) maxAge = 604800; // 7 days, cartclick's default window
  let domain = data('domain');
  if (!/^[\w.-]*$/.test(domain)) domain = '';

  // The token when the cookie could not be written (cookies off): it then
  // lasts for this page only.
  let memo = null;

  // Writes the cookie; age 0 deletes it. First party, sent on top-level
  // navigations from other sites (Lax), Secure on https.
  const writeCookie = (value, age) => {
    try {
      doc.cookie = `${cookie}=${value}; Max-Age=${age}; Path=/; SameSite=Lax` +
        (domain ? '; Domain=' + domain : '') +
        (location.protocol == 'https:' ? '; Secure' : '');
    } catch (e) { /* cookies unavailable (sandboxed frame, ...) */ }
  };

  const readCookie = () => {
    try {
      for (const pair of doc.cookie.split(/; */)) {
        const [name, value] = pair.split('=');
        if (name == cookie && TOKEN.test(value)) return value;
      }
    } catch (e) { /* as above */ }
    return null;
  };

  const token = () => readCookie() || memo;

  // Puts the token into the form's hidden input `cartclick_token`, adding
  // the input if the form has none. Without a token the form is left alone.
  const attach = (form) => {
    try {
      const value = token();
      let input = form.querySelector(`input[name=${FIELD}]`);
      if (!value) return;
      if (!input) {
        input = doc.createElement('input');
        input.type = 'hidden';
        input.name = FIELD;
        form.append(input);
      }
      input.value = value;
    } catch (e) { /* not a form */ }
  };

  // Attaches to `root` if it is a marked form, and to marked forms inside it.
  const attachAll = (root) => {
    try {
      if (root.matches && root.matches(FORMS)) attach(root);
      if (root.querySelectorAll) root.querySelectorAll(FORMS).forEach(attach);
    } catch (e) { /* not an element */ }
  };

  const clear = () => {
    memo = null;
    writeCookie('', 0);
    try {
      doc.querySelectorAll(`${FORMS} input[name=${FIELD}]`).forEach((input) => { input.value = ''; });
    } catch (e) { /* ignore */ }
  };

  try {
    // The landing: take a valid token from the query, keep it, and take the
    // parameter out of the address bar (so it stays out of shared links and
    // referrers). The rest of the query is kept byte for byte (no
    // re-encoding), and so is the fragment. A value that is not a token is
    // ignored and left where it is.
    const kept = [];
    let found = null;
    for (const part of location.search.slice(1).split('&')) {
      let [name, value = ''] = part.split(/=(.*)/); // at the first '=' only
      try {
        name = decodeURIComponent(name);
        value = decodeURIComponent(value);
      } catch (e) { /* a malformed escape: not ours */ }
      if (name == param && TOKEN.test(value)) found = value;
      else if (part) kept.push(part);
    }
    if (found) {
      // A later landing replaces the token and restarts the window.
      writeCookie(found, maxAge);
      memo = readCookie() == found ? null : found;
      history.replaceState(history.state, '',
        location.pathname + (kept.length ? '?' + kept.join('&') : '') + location.hash);
    }
  } catch (e) { /* no history API: the address keeps the token */ }

  const start = () => {
    attachAll(doc);
    try {
      // Checkout forms added later (single-page shops) get the token too.
      new MutationObserver((records) => {
        for (const record of records) record.addedNodes.forEach(attachAll);
      }).observe(doc.documentElement, { childList: true, subtree: true });
    } catch (e) { /* no MutationObserver: call cartclick.attach(form) */ }
  };

  try {
    // A submit refreshes the form's token (another tab may have landed since).
    doc.addEventListener('submit', (event) => attachAll(event.target), true);
    if (doc.readyState == 'loading') doc.addEventListener('DOMContentLoaded', start);
    else start();
  } catch (e) { /* never break the page */ }

  window.cartclick = { token, clear, attach };
})();
