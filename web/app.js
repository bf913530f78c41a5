/* App: adoption over time per version, pins per version, backup coverage vs threshold, forecast. */
'use strict';
(function () {
  const h = PW.h;
  const COLORS = ['#245ea8', '#b00020', '#1f7a3a', '#a15c00', '#6a3d9a', '#00838f', '#5d4037', '#c2185b'];

  function hasBackup(v) {
    return (v.pin_policies || []).some(p => p.enforce && (p.pins || []).some(x => x.role === 'backup'));
  }

  function shareAt(v, day) {
    let s = null;
    for (const a of v.adoption || []) if (a.at <= day) s = a.share;
    return s;
  }

  /* Line chart: series [{label, points: [[dayString, value]]}], optional threshold. */
  function lineChart(series, threshold, label) {
    const days = [...new Set(series.flatMap(s => s.points.map(p => p[0])))].sort();
    const W = 800, H = 260, L = 40, B = 30, T = 10, R = 120;
    const svg = PW.svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label });
    if (!days.length) { svg.appendChild(PW.svg('text', { x: 10, y: 20, text: 'no adoption samples' })); return svg; }
    const t0 = Date.parse(days[0]), t1 = Math.max(t0 + 86400000, Date.parse(days[days.length - 1]));
    const x = d => L + (W - L - R) * ((Date.parse(d) - t0) / (t1 - t0));
    const y = v => T + (H - T - B) * (1 - v);
    for (const g of [0, 0.25, 0.5, 0.75, 1]) {
      svg.appendChild(PW.svg('line', { x1: L, x2: W - R, y1: y(g), y2: y(g), stroke: '#eee' }));
      svg.appendChild(PW.svg('text', { x: 2, y: y(g) + 4, text: Math.round(g * 100) + '%' }));
    }
    svg.appendChild(PW.svg('text', { x: L, y: H - 8, text: days[0] }));
    svg.appendChild(PW.svg('text', { x: W - R - 70, y: H - 8, text: days[days.length - 1] }));
    if (threshold !== undefined) {
      svg.appendChild(PW.svg('line', { x1: L, x2: W - R, y1: y(threshold), y2: y(threshold), stroke: '#b00020', 'stroke-dasharray': '6 4' }));
      svg.appendChild(PW.svg('text', { x: W - R + 4, y: y(threshold) + 4, text: 'threshold ' + PW.pct(threshold) }));
    }
    series.forEach((s, i) => {
      const color = COLORS[i % COLORS.length];
      const pts = s.points.map(p => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
      svg.appendChild(PW.svg('polyline', { points: pts, fill: 'none', stroke: color, 'stroke-width': 2 }));
      for (const p of s.points) {
        const c = PW.svg('circle', { cx: x(p[0]), cy: y(p[1]), r: 3, fill: color });
        c.appendChild(PW.svg('title', { text: `${s.label} ${p[0]}: ${PW.pct(p[1])}` }));
        svg.appendChild(c);
      }
      const last = s.points[s.points.length - 1];
      if (last && threshold === undefined) svg.appendChild(PW.svg('text', { x: W - R + 4, y: y(last[1]) + 4, fill: color, text: s.label }));
    });
    return svg;
  }

  /* Backup coverage over sample days, and a linear forecast of when it reaches the threshold. */
  function coverage(app) {
    const days = [...new Set(app.versions.flatMap(v => (v.adoption || []).map(a => a.at)))].sort();
    const pts = days.map(d => [d, app.versions.filter(hasBackup).reduce((s, v) => s + (shareAt(v, d) || 0), 0)]);
    let forecast = null;
    const last = pts[pts.length - 1];
    if (last && last[1] >= app.adoption_threshold) forecast = { reached: true, day: last[0] };
    else if (pts.length >= 2) {
      const a = pts[pts.length - 2], b = last;
      const rate = (b[1] - a[1]) / ((Date.parse(b[0]) - Date.parse(a[0])) / 86400000);
      if (rate > 0) {
        const days = (app.adoption_threshold - b[1]) / rate;
        forecast = { reached: false, day: new Date(Date.parse(b[0]) + days * 86400000).toISOString().slice(0, 10) };
      }
    }
    return { pts, forecast };
  }
  PW.appCoverage = coverage;

  async function start() {
    PW.chrome('');
    const main = PW.clear(document.getElementById('main'));
    try {
      let id = PW.param('id');
      if (!id && PW.param('name')) {
        /* /app?name=shop-android: look the app up by name */
        const apps = await PW.apiAll('/apps');
        const hit = apps.find(a => a.name === PW.param('name'));
        if (!hit) throw Object.assign(new Error('no app named ' + JSON.stringify(PW.param('name'))), { status: 404, code: 'not_found' });
        id = hit.id;
      }
      if (!id || !/^[0-9]+$/.test(id)) throw Object.assign(new Error('This page needs an app: /app?id=N or /app?name=NAME (see the overview).'), { status: 400 });
      const app = await PW.api('/apps/' + encodeURIComponent(id));
      main.appendChild(h('h1', { text: app.name }));
      main.appendChild(h('p', { class: 'muted', text: [app.platform, app.bundle_id, 'failure mode: ' + app.failure_mode,
        'rotation threshold: ' + PW.pct(app.adoption_threshold)].filter(Boolean).join(' · ') }));
      const unknown = app.versions.filter(v => PW.latestShare(v) === null);
      if (unknown.length) main.appendChild(h('p', { class: 'notice', text: 'Versions without adoption figures (unknown, not counted as 0): ' + unknown.map(v => v.version).join(', ') }));
      main.appendChild(h('h2', { text: 'Adoption over time' }));
      main.appendChild(lineChart(app.versions.map(v => ({ label: v.version, points: (v.adoption || []).map(a => [a.at, a.share]) })), undefined, 'adoption per version'));
      const cov = coverage(app);
      main.appendChild(h('h2', { text: 'Backup pin coverage against the threshold' }));
      main.appendChild(lineChart([{ label: 'with backup pin', points: cov.pts }], app.adoption_threshold, 'backup coverage'));
      main.appendChild(h('p', { id: 'forecast', text: !cov.forecast ? 'Forecast: not enough samples, or coverage is not growing.'
        : cov.forecast.reached ? 'Coverage reached the threshold on ' + cov.forecast.day + ': a key rotation is safe for this app.'
        : 'Forecast: coverage reaches the threshold around ' + cov.forecast.day + ' at the current rate.' }));
      main.appendChild(h('h2', { text: 'Pins per version' }));
      main.appendChild(h('div', { class: 'table-wrap' }, h('table', { id: 'pins' },
        h('thead', {}, h('tr', {}, ['Version', 'Released', 'Share', 'Pattern', 'Enforce', 'Expires', 'Pins'].map(t => h('th', { text: t })))),
        h('tbody', {}, app.versions.flatMap(v => (v.pin_policies.length ? v.pin_policies : [null]).map((p, i) => h('tr', {},
          h('td', { text: i ? '' : v.version }), h('td', { text: i ? '' : (v.released || '') }),
          h('td', { class: 'num', text: i ? '' : (PW.latestShare(v) === null ? 'unknown' : PW.pct(PW.latestShare(v))) }),
          h('td', { class: 'mono', text: p ? p.pattern + (p.include_subdomains ? ' (+subdomains)' : '') : 'no pins' }),
          h('td', { text: p ? (p.enforce ? 'yes' : 'report-only') : '' }), h('td', { text: p && p.expires ? p.expires : '' }),
          h('td', {}, p ? (p.pins || []).map(x => h('div', { class: 'mono', text: x.role + ' ' + x.sha256 })) : '')))))))); 
    } catch (e) { PW.showError(main, e); }
  }
  if (document.body && document.body.dataset.page === 'app') document.addEventListener('DOMContentLoaded', start);
})();
