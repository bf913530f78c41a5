/* Endpoint: addresses and chains, timeline, version x chain matrix, reasons, what-if. */
'use strict';
(function () {
  const h = PW.h;

  /* [alerts] expiry_days: days are coloured as certificate_expiring rates them */
  let expiryDays = [30, 14, 7, 2];

  function chainTable(chain) {
    if (!chain || !chain.length) return h('p', { class: 'muted', text: 'no chain' });
    return h('div', { class: 'table-wrap' }, h('table', { class: 'chain' },
      h('thead', {}, h('tr', {}, ['#', 'Subject', 'Issuer', 'Not after', 'Days', 'Pin (sha256)'].map(t => h('th', { text: t })))),
      h('tbody', {}, chain.map((c, i) => {
        const d = c.days_left ?? PW.daysLeft(c.not_after);
        const lv = PW.expiryLevel(d, expiryDays);
        return h('tr', {},
          h('td', { text: i }), h('td', { class: 'subject', text: c.subject }), h('td', { text: c.issuer }),
          h('td', { text: (c.not_after || '').slice(0, 10) }),
          h('td', { class: 'num' + (lv ? ' exp-' + lv : ''), text: d === null ? '' : d }),
          h('td', { class: 'mono', text: c.pin }));
      }))));
  }

  function pinsOf(obs) {
    const chain = (obs.validated_chain && obs.validated_chain.length ? obs.validated_chain : obs.presented_chain) || [];
    return new Set(chain.map(c => c.pin));
  }

  /* Outcome segments per address over time. */
  function timeline(history) {
    if (!history.length) return h('p', { class: 'muted', text: 'No observations yet.' });
    const addrs = [...new Set(history.map(o => o.address))].sort();
    const t0 = Math.min(...history.map(o => Date.parse(o.first_seen)));
    const t1 = Math.max(Date.now(), ...history.map(o => Date.parse(o.last_seen)));
    const W = 800, L = 130, rowH = 22, H = addrs.length * rowH + 30;
    const x = t => L + (W - L - 10) * ((t - t0) / Math.max(1, t1 - t0));
    const svg = PW.svg('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'timeline of outcomes' });
    addrs.forEach((a, i) => svg.appendChild(PW.svg('text', { x: 4, y: 18 + i * rowH, text: a })));
    for (const o of history) {
      const i = addrs.indexOf(o.address);
      const xa = x(Date.parse(o.first_seen)), xb = Math.max(xa + 2, x(Date.parse(o.last_seen)));
      const rect = PW.svg('rect', { x: xa, y: 6 + i * rowH, width: xb - xa, height: rowH - 8,
        fill: o.outcome === 'ok' ? '#1f7a3a' : '#b00020' });
      rect.appendChild(PW.svg('title', { text: `${o.address}: ${o.outcome} ${o.first_seen} – ${o.last_seen}` }));
      svg.appendChild(rect);
    }
    svg.appendChild(PW.svg('text', { x: L, y: H - 6, text: new Date(t0).toISOString().slice(0, 16).replace('T', ' ') }));
    svg.appendChild(PW.svg('text', { x: W - 120, y: H - 6, text: new Date(t1).toISOString().slice(0, 16).replace('T', ' ') }));
    return svg;
  }

  async function matrix(host, observations, readiness) {
    const apps = await PW.apiAll('/apps', 1000);
    const wanted = readiness && readiness.apps ? new Set(readiness.apps.map(a => a.app)) : null;
    const chains = [];
    for (const o of observations) {
      const key = [...pinsOf(o)].join(',');
      let c = chains.find(x => x.key === key);
      if (!c) chains.push(c = { key, pins: pinsOf(o), addrs: [], leaf: ((o.presented_chain || [])[0] || {}).subject });
      c.addrs.push(o.address);
    }
    const rows = [];
    for (const a of apps) {
      if (wanted && !wanted.has(a.name)) continue;
      const full = await PW.api('/apps/' + a.id);
      for (const v of full.versions) {
        const p = PW.policyFor(v, host);
        if (!p) continue;
        rows.push(h('tr', {},
          h('td', {}, h('a', { href: '/app?id=' + a.id, text: a.name })), h('td', { text: v.version }),
          h('td', { class: 'num', text: PW.latestShare(v) === null ? 'unknown' : PW.pct(PW.latestShare(v)) }),
          chains.map(c => {
            if (!p.enforce) return h('td', { class: 'muted', text: 'not enforced' });
            const ok = (p.pins || []).some(pin => c.pins.has(pin.sha256));
            return h('td', { class: ok ? 'accept' : 'reject', text: ok ? 'accepts' : 'rejects' });
          })));
      }
    }
    if (!rows.length) return h('p', { class: 'muted', text: 'No app version pins this host.' });
    return h('div', { class: 'table-wrap' }, h('table', { id: 'matrix' },
      h('thead', {}, h('tr', {}, h('th', { text: 'App' }), h('th', { text: 'Version' }), h('th', { class: 'num', text: 'Share' }),
        chains.map(c => h('th', { text: c.addrs.join(', ') + (c.leaf ? ' — ' + c.leaf : '') })))),
      h('tbody', {}, rows)));
  }

  function verdictTable(apps) {
    const cell = v => h('td', { class: 'num' + (v && v.stranded_share > 0 ? ' stranded' : ''),
      text: v ? PW.pct(v.stranded_share) + (v.stranded_versions && v.stranded_versions.length ?
        ' (' + v.stranded_versions.map(s => s.version).join(', ') + ')' : '') : '–' });
    return h('div', { class: 'table-wrap' }, h('table', { id: 'verdicts' },
      h('thead', {}, h('tr', {}, ['App', 'Now', 'Key rotation', 'CA change', 'Unknown', 'Rotation', 'Ready by (forecast)'].map(t => h('th', { text: t })))),
      h('tbody', {}, apps.map(a => h('tr', {}, h('td', { text: a.app }), cell(a.now), cell(a.key_rotation), cell(a.ca_change),
        h('td', { class: 'num', text: a.now ? PW.pct(a.now.unknown_share) : '' }),
        h('td', { text: a.key_rotation ? (a.key_rotation.ready ? 'ready' : 'not ready') : '' }),
        h('td', { title: (a.forecast && a.forecast.basis) || null,
          text: a.key_rotation && a.key_rotation.ready ? '–' : a.forecast && a.forecast.available ? a.forecast.date : 'no forecast' }))))));
  }

  function whatifForm(main, ep) {
    const pem = h('textarea', { name: 'chain', placeholder: '-----BEGIN CERTIFICATE-----', 'aria-label': 'candidate chain PEM' });
    const at = h('input', { type: 'date', name: 'at' });
    const out = h('div', { id: 'whatif-result' });
    const form = h('form', { class: 'whatif', onsubmit: async (ev) => {
      ev.preventDefault();
      PW.clear(out);
      const body = { host: ep.host, port: ep.port, chain_pem: pem.value };
      if (at.value) body.at = at.value;
      try {
        const r = await PW.api('/whatif', { method: 'POST', body });
        const apps = r.apps || [];
        const ck = r.checks || {};
        if (ck.checked && !ck.ok)
          out.appendChild(h('div', { class: 'stranding-warning', role: 'alert',
            text: 'No client would accept this chain: ' + (ck.failures || []).join('; ') + '.' }));
        if (apps.some(a => a.stranded_share > 0))
          out.appendChild(h('div', { class: 'stranding-warning', role: 'alert', text: 'This chain would strand users.' }));
        if ((ck.not_on_path || []).length)
          out.appendChild(h('p', { class: 'muted', text: 'Not on any path from the leaf (ignored): ' + ck.not_on_path.join(', ') }));
        if (ck.path_dependent)
          out.appendChild(h('p', { class: 'muted', text: 'The verdict depends on the path the client builds: the worst counts.' }));
        out.appendChild(h('table', {}, h('thead', {}, h('tr', {}, ['App', 'Stranded', 'Unknown', 'Versions'].map(t => h('th', { text: t })))),
          h('tbody', {}, apps.map(a => h('tr', {}, h('td', { text: a.app }), h('td', { class: 'num', text: PW.pct(a.stranded_share) }),
            h('td', { class: 'num', text: PW.pct(a.unknown_share) }),
            h('td', { text: (a.stranded_versions || []).map(v => v.version + ' (' + PW.pct(v.share) + ')').join(', ') }))))));
      } catch (e) { PW.showError(out, e); }
    } }, h('label', {}, 'Candidate chain (PEM)', pem), h('label', {}, 'Evaluate at ', at),
      h('button', { type: 'submit', text: 'Evaluate' }));
    main.appendChild(form);
    main.appendChild(out);
  }

  async function start() {
    PW.chrome('');
    const main = PW.clear(document.getElementById('main'));
    expiryDays = await PW.expiryThresholds();
    try {
      let id = PW.param('id');
      if (!id) {
        const l = await PW.api('/endpoints?host=' + encodeURIComponent(PW.param('host') || '') + '&limit=10');
        const m = (l.items || []).find(e => String(e.port) === (PW.param('port') || '443'));
        if (!m) throw Object.assign(new Error('No such endpoint.'), { status: 404 });
        id = m.id;
      }
      const ep = await PW.api('/endpoints/' + encodeURIComponent(id));
      main.appendChild(h('h1', { text: ep.host + ':' + ep.port }));
      main.appendChild(h('p', { class: 'muted', text: [ep.environment, ep.owner, (ep.tags || []).join(', ')].filter(Boolean).join(' · ') }));
      let readiness = null;
      try { readiness = await PW.api('/readiness/' + encodeURIComponent(id)); } catch (e) {
        main.appendChild(h('p', { class: 'notice', text: e.status === 404 ? 'Readiness is not available for this endpoint.' : e.message }));
      }
      if (readiness) {
        const apps = readiness.apps || [];
        const bad = apps.filter(a => a.now && a.now.stranded_share > 0);
        if (bad.length)
          main.appendChild(h('div', { class: 'stranding-warning', id: 'stranding-warning', role: 'alert',
            text: 'Users are stranded right now: ' + bad.map(a => a.app + ' ' + PW.pct(a.now.stranded_share)).join(', ') },
            bad.flatMap(a => (a.reasons || []).filter(r => r.startsWith('To restore service'))).map(r => h('div', { class: 'advice', text: r }))));
        main.appendChild(h('p', {}, 'Severity ', PW.badge(readiness.severity)));
        main.appendChild(h('h2', { text: 'Readiness per app' }));
        main.appendChild(verdictTable(apps));
        const reasons = [...(readiness.reasons || []), ...apps.flatMap(a => a.reasons || [])];
        if (reasons.length) main.appendChild(h('ul', { class: 'reasons' }, reasons.map(r => h('li', { text: r }))));
      }
      const obs = await PW.api('/endpoints/' + encodeURIComponent(id) + '/observations');
      main.appendChild(h('h2', { text: 'Addresses and chains' }));
      for (const o of obs.items) {
        main.appendChild(h('h3', {}, h('span', { class: 'mono', text: o.address }), ' ',
          h('span', { class: o.outcome === 'ok' ? 'accept' : 'reject', text: o.outcome }),
          h('span', { class: 'muted', text: ' since ' + o.first_seen + (o.detail ? ' — ' + o.detail : '') })));
        main.appendChild(chainTable(o.presented_chain));
      }
      if (!obs.items.length) main.appendChild(h('p', { class: 'muted', text: 'Not probed yet.' }));
      main.appendChild(h('h2', { text: 'Which versions accept what is served now' }));
      main.appendChild(await matrix(ep.host, obs.items, readiness));
      const hist = await PW.api('/endpoints/' + encodeURIComponent(id) + '/history?limit=500');
      main.appendChild(h('h2', { text: 'Timeline' }));
      main.appendChild(timeline(hist.items));
      main.appendChild(h('h2', { text: 'What if it served this chain?' }));
      whatifForm(main, ep);
    } catch (e) { PW.showError(main, e); }
  }
  document.addEventListener('DOMContentLoaded', start);
})();
