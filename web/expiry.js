/* Expiry timeline: every served certificate's validity as a bar; today and readiness dates marked. */
'use strict';
(function () {
  const h = PW.h;
  const DAY = 86400000;

  /* The engine's forecast of when each app's key-rotation readiness reaches
   * its threshold (latest date over the worst endpoints). */
  async function readinessDates() {
    const byApp = {};
    try {
      const data = await PW.api('/readiness?limit=1000');
      for (const e of data.items || []) {
        for (const a of e.apps || []) {
          const f = a.forecast;
          if (!a.key_rotation || a.key_rotation.ready || !f || !f.available || !f.date) continue;
          if (!byApp[a.app] || f.date > byApp[a.app]) byApp[a.app] = f.date;
        }
      }
    } catch (e) { /* dates are optional decoration */ }
    return Object.entries(byApp).map(([app, day]) => ({ app, day }));
  }

  const colour = { critical: '#b00020', warning: '#a15c00', info: '#7a6a00' };

  /* Which addresses serve a certificate, told apart: "api:443" when every
   * address of that endpoint serves it, "api:443 (127.0.0.1)" when only some
   * do (one edge still on the old certificate). */
  function servedBy(c, addrsOf) {
    const by = {};
    for (const x of c.addresses || []) (by[x.endpoint] = by[x.endpoint] || []).push(x.address);
    const eps = Object.keys(by).length ? Object.keys(by) : (c.endpoints || []);
    return eps.map(ep => {
      const mine = by[ep] || [];
      const all = addrsOf[ep] || new Set(mine);
      return mine.length && mine.length < all.size ? `${ep} (${mine.join(', ')})` : ep;
    });
  }

  /* Month ticks whose labels never overlap: the smallest step (1, 2, 3, 6,
   * 12, 24, 60 months) that leaves at least 70 px per label. */
  function ticks(t0, t1, width) {
    for (const step of [1, 2, 3, 6, 12, 24, 60]) {
      const out = [];
      const d = new Date(t0);
      let m = d.getUTCFullYear() * 12 + d.getUTCMonth() + 1;
      m = Math.ceil(m / step) * step;
      for (;; m += step) {
        const t = Date.UTC(Math.floor(m / 12), m % 12, 1);
        if (t > t1) break;
        out.push(t);
      }
      if (out.length * 70 <= width) return { step, out };
    }
    return { step: 60, out: [] };
  }

  function chart(certs, dates, th, addrsOf) {
    const now = Date.now();
    const t0 = Math.min(now - 30 * DAY, ...certs.map(c => Date.parse(c.not_before)));
    const t1 = Math.min(now + 800 * DAY, Math.max(now + 60 * DAY, ...certs.map(c => Date.parse(c.not_after)), ...dates.map(d => Date.parse(d.day))));
    const W = 900, L = 260, rowH = 20, T = 24;
    const nlab = Math.min(3, dates.length);
    const H = T + certs.length * rowH + 22 + nlab * 14;
    const x = t => L + (W - L - 10) * ((Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0));
    const svg = PW.svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'certificate validity' });
    const axisY = T + certs.length * rowH + 4;
    const tk = ticks(t0, t1, W - L - 10);
    for (const t of tk.out) {
      svg.appendChild(PW.svg('line', { x1: x(t), x2: x(t), y1: T - 4, y2: axisY, stroke: '#eee' }));
      svg.appendChild(PW.svg('text', { x: x(t) - 18, y: axisY + 12, class: 'axis',
        text: new Date(t).toISOString().slice(0, tk.step >= 12 ? 4 : 7) }));
    }
    certs.forEach((c, i) => {
      const y = T + i * rowH;
      const left = c.days_left ?? PW.daysLeft(c.not_after);
      const who = servedBy(c, addrsOf);
      const partial = who.filter(w => w.includes(' ('));
      const label = (c.subject || '').slice(0, 34) + (partial.length ? ' · ' + partial[0].slice(partial[0].indexOf('(')) : '');
      svg.appendChild(PW.svg('text', { x: 4, y: y + 13, text: label.slice(0, 44) }));
      const r = PW.svg('rect', { x: x(Date.parse(c.not_before)), y: y + 3, height: rowH - 6,
        width: Math.max(2, x(Date.parse(c.not_after)) - x(Date.parse(c.not_before))),
        fill: colour[PW.expiryLevel(left, th)] || '#245ea8' });
      r.appendChild(PW.svg('title', { text: `${c.subject} — until ${c.not_after} (${left} days) — ${who.join(', ')}` }));
      svg.appendChild(r);
    });
    svg.appendChild(PW.svg('line', { x1: x(now), x2: x(now), y1: T - 4, y2: axisY, stroke: '#1d1d1f', 'stroke-width': 2 }));
    svg.appendChild(PW.svg('text', { x: x(now) + 3, y: 14, text: 'today' }));
    /* readiness dates: a line each; labels on up to three rows, none overlapping */
    const ends = [];
    dates.slice().sort((a, b) => Date.parse(a.day) - Date.parse(b.day)).forEach(d => {
      const xx = x(Date.parse(d.day));
      svg.appendChild(PW.svg('line', { x1: xx, x2: xx, y1: T - 4, y2: axisY, stroke: '#1f7a3a', 'stroke-width': 2 }));
      const text = d.app + ' ready ' + d.day;
      const w = text.length * 6.2;
      const lx = Math.min(xx + 3, W - w - 2);
      for (let row = 0; row < nlab; row++) {
        if (ends[row] === undefined || lx > ends[row] + 6) {
          ends[row] = lx + w;
          svg.appendChild(PW.svg('text', { x: lx, y: axisY + 26 + row * 14, fill: '#1f7a3a', class: 'ready-label', text }));
          return;
        }
      }
    });
    return svg;
  }

  async function start() {
    PW.chrome('Expiry');
    const main = PW.clear(document.getElementById('main'));
    main.appendChild(h('h1', { text: 'Expiry timeline' }));
    try {
      const certs = await PW.apiAll('/certificates', 2000);
      const th = await PW.expiryThresholds();
      const days = c => c.days_left ?? PW.daysLeft(c.not_after);
      /* by alert level at the configured thresholds, then soonest first */
      certs.sort((a, b) => PW.expiryRank(PW.expiryLevel(days(a), th)) - PW.expiryRank(PW.expiryLevel(days(b), th)) ||
        Date.parse(a.not_after) - Date.parse(b.not_after));
      const dates = await readinessDates();
      main.appendChild(h('p', { class: 'muted', id: 'expiry-thresholds',
        text: `Alert thresholds ([alerts] expiry_days): ${th.join(', ')} days.` }));
      /* every address of each endpoint, from the leaf certificates served now */
      const addrsOf = {};
      for (const c of certs) for (const a of c.addresses || []) (addrsOf[a.endpoint] = addrsOf[a.endpoint] || new Set()).add(a.address);
      main.appendChild(chart(certs.slice(0, 300), dates, th, addrsOf));
      if (certs.length > 300) main.appendChild(h('p', { class: 'muted', text: `Showing the 300 earliest of ${certs.length} certificates.` }));
      main.appendChild(h('div', { class: 'table-wrap' }, h('table', { id: 'certs' },
        h('thead', {}, h('tr', {}, ['Subject', 'Issuer', 'Not after', 'Days', 'Served by'].map(t => h('th', { text: t })))),
        h('tbody', {}, certs.map(c => h('tr', {}, h('td', { class: 'subject', text: c.subject }), h('td', { text: c.issuer }),
          h('td', { text: c.not_after.slice(0, 10) }),
          h('td', { class: 'num' + (PW.expiryLevel(days(c), th) ? ' exp-' + PW.expiryLevel(days(c), th) : ''), text: days(c) }),
          h('td', { text: servedBy(c, addrsOf).join(', ') })))))));
    } catch (e) { PW.showError(main, e); }
  }
  document.addEventListener('DOMContentLoaded', start);
})();
