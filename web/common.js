/* pinwatch dashboard: shared helpers. Every value from the API is inserted
 * with createTextNode/textContent; nothing is ever parsed as HTML. */
'use strict';

const PW = {};

PW.h = function (tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, String(v));
  }
  PW.append(el, children);
  return el;
};

PW.append = function (el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
};

PW.svg = function (tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, String(v));
  }
  PW.append(el, children);
  return el;
};

PW.clear = function (el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
};

PW.token = function () {
  try { return sessionStorage.getItem('pinwatch.token') || ''; } catch (e) { return ''; }
};

PW.api = async function (path, opts) {
  opts = opts || {};
  const headers = { 'Accept': 'application/json' };
  const tok = PW.token();
  if (tok) headers['Authorization'] = 'Bearer ' + tok;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch('/api/v1' + path, {
    method: opts.method || 'GET', headers, credentials: 'same-origin',
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  if (!res.ok) {
    const err = new Error((data && data.detail) || res.statusText || ('HTTP ' + res.status));
    err.status = res.status;
    err.code = data && data.error;
    throw err;
  }
  return data;
};

/* All pages of a paginated list (bounded). */
PW.apiAll = async function (path, max) {
  const items = [];
  let cursor = null;
  max = max || 20000;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await PW.api(path + sep + 'limit=1000' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    items.push(...(page.items || []));
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
};

PW.pct = function (x) {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  return (x * 100).toFixed(x > 0 && x < 0.001 ? 2 : 1) + '%';
};

/* Days left, as the server counts them (daemon/base/expiry.h):
 * floor((not_after - now) / 1 day), negative once expired. Prefer the
 * days_left the API sends; @nowMs defaults to this browser's clock. */
PW.daysLeft = function (iso, nowMs) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return null;
  return Math.floor((t - (nowMs ?? Date.now())) / 86400000);
};

/* The [alerts] expiry_days thresholds (descending) from /status, the ones the
 * certificate_expiring alert uses; the built-in default when unavailable. */
PW.expiryThresholds = async function () {
  if (!PW._expiryDays) {
    try {
      const s = await PW.api('/status');
      PW._expiryDays = Array.isArray(s.expiry_days) && s.expiry_days.length ? s.expiry_days : null;
    } catch (e) { /* the default below */ }
    PW._expiryDays = PW._expiryDays || [30, 14, 7, 2];
  }
  return PW._expiryDays;
};

/* The alert level of @days under thresholds @th (expiry_level() in C): null
 * beyond th[0]; info from th[0]; warning from th[1]; critical from th[2], or
 * from the last threshold when fewer are given. */
PW.expiryLevel = function (days, th) {
  if (days === null || days === undefined || !th || !th.length || days > th[0]) return null;
  const crit = th.length >= 3 ? 2 : th.length - 1;
  if (days <= th[crit]) return 'critical';
  if (th.length >= 2 && days <= th[1]) return 'warning';
  return 'info';
};

/* Sort rank of an expiry level: the most urgent first. */
PW.expiryRank = function (level) {
  return level === 'critical' ? 0 : level === 'warning' ? 1 : level === 'info' ? 2 : 3;
};

PW.param = function (name) {
  return new URLSearchParams(location.search).get(name);
};

PW.severityRank = { critical: 0, warning: 1, info: 2, ok: 3 };

PW.badge = function (severity) {
  const s = PW.severityRank[severity] !== undefined ? severity : 'unknown';
  return PW.h('span', { class: 'badge sev-' + s, text: s });
};

PW.showError = function (where, err) {
  /* Only errors pinwatch itself raised (HTTP answers, our own messages) are
   * shown as they are; a script failure says what to do instead of a raw
   * "TypeError". */
  const ours = err && (err.status !== undefined);
  const msg = !ours ? 'This page could not be shown: the address may be incomplete or point to something that does not exist. Go back to the overview and follow a link from there.'
    : err.status === 401 ? 'This view needs a token: enter one above.'
    : err.status === 403 ? 'Your token lacks the role this needs.'
    : err.status === 404 && err.code === 'not_found' && /route/.test(err.message) ? 'Not available on this server.'
    : err.status === 404 ? 'Not found: ' + err.message
    : err.message;
  PW.append(where, [PW.h('p', { class: 'error', role: 'alert', text: msg })]);
};

/* Header: navigation and token entry (built once; a refresh keeps it). */
PW.chrome = function (active) {
  if (document.querySelector('nav.top')) return;
  const nav = PW.h('nav', { class: 'top' },
    PW.h('a', { href: '/', class: 'brand', text: 'pinwatch' }),
    [['/', 'Overview'], ['/alerts', 'Alerts'], ['/plans', 'Plans'], ['/expiry', 'Expiry'], ['/signals', 'Signals'], ['/audit', 'Audit']].map(([href, label]) =>
      PW.h('a', { href, class: label === active ? 'active' : null, text: label })));
  const input = PW.h('input', { type: 'password', id: 'token', placeholder: 'API token', autocomplete: 'off', 'aria-label': 'API token' });
  input.value = PW.token();
  const form = PW.h('form', { class: 'token', onsubmit: (ev) => {
    ev.preventDefault();
    try {
      if (input.value) sessionStorage.setItem('pinwatch.token', input.value.trim());
      else sessionStorage.removeItem('pinwatch.token');
    } catch (e) { /* storage disabled */ }
    location.reload();
  } }, input, PW.h('button', { type: 'submit', text: 'Use' }));
  nav.appendChild(PW.h('span', { class: 'as-of', id: 'as-of', 'aria-live': 'polite' }));
  nav.appendChild(form);
  document.body.insertBefore(nav, document.body.firstChild);
};

/* Does pin policy @p cover @host? (exact, *.x one label, **.x any depth, include_subdomains) */
PW.patternCovers = function (p, host) {
  const pat = p.pattern;
  if (pat.startsWith('**.')) {
    const base = pat.slice(3);
    return host === base || host.endsWith('.' + base);
  }
  if (pat.startsWith('*.')) {
    const base = pat.slice(2);
    if (!host.endsWith('.' + base)) return false;
    return !host.slice(0, -base.length - 1).includes('.');
  }
  if (host === pat) return true;
  return !!p.include_subdomains && host.endsWith('.' + pat);
};

/* The most specific policy of a version for @host (exact beats wildcard). */
PW.policyFor = function (version, host) {
  let best = null;
  for (const p of version.pin_policies || []) {
    if (!PW.patternCovers(p, host)) continue;
    const score = p.pattern === host ? 3 : p.pattern.startsWith('*.') ? 2 : 1;
    if (!best || score > best.score) best = { score, p };
  }
  return best ? best.p : null;
};

PW.latestShare = function (version) {
  const a = version.adoption || [];
  return a.length ? a[a.length - 1].share : null;
};

/* Keep a page current without a reload: @start (the page's render function)
 * runs once, then every @every ms (?refresh=SECONDS overrides; 30 s by
 * default) /api/v1/status is polled and, when what it reports changed (a
 * sweep, an alert, an inventory change), the page is rendered again in place,
 * keeping the scroll position. Nothing is re-rendered while the user is
 * typing into a form. The header says when the data is from. */
PW.live = function (start, every) {
  const q = Number(PW.param('refresh'));
  every = q > 0 && q <= 3600 ? q * 1000 : (every || 30000);
  let sig = null;
  const sigOf = s => JSON.stringify([s.last_sweep, s.alerts_firing, s.endpoints, s.apps, s.readiness,
    s.audit_rows, s.plans_open]);
  const stamp = () => {
    const el = document.getElementById('as-of');
    if (el) el.textContent = 'data from ' + new Date().toISOString().slice(11, 19) + ' UTC';
  };
  const busy = () => {
    const a = document.activeElement;
    if (a && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName)) return true;
    return Array.from(document.querySelectorAll('main textarea')).some(t => t.value);
  };
  const poll = async () => {
    if (document.hidden || busy()) return;
    let s;
    try { s = await PW.api('/status'); } catch (e) { return; }
    const n = sigOf(s);
    if (sig !== null && n !== sig) {
      const y = window.scrollY;
      await start();
      window.scrollTo(0, y);
    }
    sig = n;
    stamp();
  };
  document.addEventListener('DOMContentLoaded', async () => {
    await start();
    stamp();
    await poll();
    setInterval(poll, every);
  });
};

/* Rotation plans as a table (plans page and overview). */
PW.planRow = function (p) {
  const done = (p.steps || []).filter(s => s.done).length;
  return PW.h('tr', {},
    PW.h('td', {}, PW.h('a', { href: '/plan?id=' + encodeURIComponent(p.id), text: '#' + p.id })),
    PW.h('td', {}, PW.h('span', { class: 'badge plan-' + p.status, text: p.status.replace('_', ' ') }),
      p.overdue ? PW.h('span', { class: 'stranded', text: ' overdue' }) : ''),
    PW.h('td', { text: p.host + ':' + p.port }),
    PW.h('td', { class: 'num', text: done + '/7' }),
    PW.h('td', { class: 'hide-narrow', text: p.not_before || '' }),
    PW.h('td', { class: 'hide-narrow', text: p.note || '' }));
};

PW.plansTable = function (plans, id) {
  return PW.h('div', { class: 'table-wrap' }, PW.h('table', { id },
    PW.h('thead', {}, PW.h('tr', {}, ['Plan', 'Status', 'Endpoint', 'Steps', 'Not before', 'Note'].map((t, i) =>
      PW.h('th', { class: (i === 3 ? 'num' : '') + (i >= 4 ? ' hide-narrow' : '') || null, text: t })))),
    PW.h('tbody', {}, plans.map(PW.planRow))));
};

