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

  function chart(certs, dates, th) {
    const now = Date.now();
    const t0 = Math.min(now - 30 * DAY, ...certs.map(c => Date.parse(c.not_before)));
    const t1 = Math.min(now + 800 * DAY, Math.max(now + 60 * DAY, ...certs.map(c => Date.parse(c.not_after)), ...dates.map(d => Date.parse(d.day))));
    const W = 900, L = 260, rowH = 20, T = 24, H = T + certs.length * rowH + 24;
    const x = t => L + (W - L - 10) * ((Math.min(Math.max(t, t0), t1) - t0) / (t1 - t0));
    const svg = PW.svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'certificate validity' });
    certs.forEach((c, i) => {
      const y = T + i * rowH;
      const left = c.days_left ?? PW.daysLeft(c.not_after);
      svg.appendChild(PW.svg('text', { x: 4, y: y + 13, text: (c.subject || '').slice(0, 40) }));
      const r = PW.svg('rect', { x: x(Date.parse(c.not_before)), y: y + 3, height: rowH - 6,
        width: Math.max(2, x(Date.parse(c.not_after)) - x(Date.parse(c.not_before))),
        fill: colour[PW.expiryLevel(left, th)] || '#245ea8' });
      r.appendChild(PW.svg('title', { text: `${c.subject} — until ${c.not_after} (${left} days) — ${(c.endpoints || []).join(', ')}` }));
      svg.appendChild(r);
    });
    const mark = (t, label, color, row) => {
      svg.appendChild(PW.svg('line', { x1: x(t), x2: x(t), y1: T - 4, y2: H - 20, stroke: color, 'stroke-width': 2 }));
      svg.appendChild(PW.svg('text', { x: x(t) + 3, y: row ? H - 6 : 14, fill: color, text: label }));
    };
    mark(now, 'today', '#1d1d1f', 0);
    dates.forEach(d => mark(Date.parse(d.day), d.app + ' ready ' + d.day, '#1f7a3a', 1));
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
      main.appendChild(chart(certs.slice(0, 300), dates, th));
      if (certs.length > 300) main.appendChild(h('p', { class: 'muted', text: `Showing the 300 earliest of ${certs.length} certificates.` }));
      main.appendChild(h('div', { class: 'table-wrap' }, h('table', { id: 'certs' },
        h('thead', {}, h('tr', {}, ['Subject', 'Issuer', 'Not after', 'Days', 'Served by'].map(t => h('th', { text: t })))),
        h('tbody', {}, certs.map(c => h('tr', {}, h('td', { class: 'subject', text: c.subject }), h('td', { text: c.issuer }),
          h('td', { text: c.not_after.slice(0, 10) }),
          h('td', { class: 'num' + (PW.expiryLevel(days(c), th) ? ' exp-' + PW.expiryLevel(days(c), th) : ''), text: days(c) }),
          h('td', { text: (c.endpoints || []).join(', ') })))))));
    } catch (e) { PW.showError(main, e); }
  }
  document.addEventListener('DOMContentLoaded', start);
})();
