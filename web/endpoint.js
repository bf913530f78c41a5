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

  /* Timeline: one lane per address, one bar per observation period (a row of
   * the history), coloured by the engine's verdict on that period's chain
   * (readiness.stranded), else by its outcome. Times are UTC. */
  const TL_MIN = 3;	/* px: a problem period narrower than this is widened to it */
  const TL_JOIN = 3;	/* probe intervals: a shorter silence between two periods is cadence, not a gap */
  const DAY = 86400000;

  function periodState(o) {
    if (o.readiness && o.readiness.stranded) return 'stranded';
    if (o.outcome !== 'ok') return 'failing';
    return 'ok';
  }

  function utc(t) { return new Date(t).toISOString().slice(0, 16).replace('T', ' '); }

  function leafKey(o) {
    const c = o.presented_chain || [];
    return c.length ? 'sha256/' + c[0].pin : null;
  }

  function chainId(o) {
    const c = o.presented_chain || [];
    return c.length ? c.map(x => x.sha256).join(',') : null;
  }

  function periodTitle(o, state) {
    const lines = [`${o.address}: ${utc(Date.parse(o.first_seen))} – ${utc(Date.parse(o.last_seen))} UTC` +
      ` (${o.probe_count} probe${o.probe_count === 1 ? '' : 's'})`, 'Outcome: ' + o.outcome];
    const rd = o.readiness;
    if (!rd) lines.push('No chain to check pins against.');
    else if (!(rd.apps || []).length) lines.push('No app pins this host at that time.');
    else for (const a of rd.apps)
      lines.push(`${a.app}: ${a.stranded_share > 0 ? 'strands ' + PW.pct(a.stranded_share) : 'nobody stranded'}` +
        ((a.stranded_versions || []).length ? ' (' + a.stranded_versions.map(v => v.version).join(', ') + ')' : '') +
        (a.unknown_share > 0 ? `, ${PW.pct(a.unknown_share)} unknown` : ''));
    if (state === 'stranded') lines.unshift('Users stranded');
    return lines.join('\n');
  }

  /* Axis ticks whose labels never overlap: the smallest step leaving 100 px per label. */
  function timeTicks(t0, t1, width) {
    const M = 60000, H = 60 * M;
    for (const step of [5 * M, 15 * M, 30 * M, H, 2 * H, 3 * H, 6 * H, 12 * H, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY, 91 * DAY, 182 * DAY, 364 * DAY, 1820 * DAY]) {
      const out = [];
      for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) out.push(t);
      if (out.length * 100 <= width) return { step, out };
    }
    return { step: 0, out: [] };
  }

  function timeline(box, history, ep) {
    if (!history.length) return box.appendChild(h('p', { class: 'muted', text: 'No observations yet.' }));
    const now = Date.now();
    const addrs = [...new Set(history.map(o => o.address))].sort();
    const t0 = Math.min(...history.map(o => Date.parse(o.first_seen)));
    const t1 = Math.max(now, ...history.map(o => Date.parse(o.last_seen)));
    const join = TL_JOIN * 1000 * (ep.interval_s || 300);
    /* drawn 1:1 in CSS pixels, so that TL_MIN is a real width */
    const W = Math.max(280, Math.floor(box.clientWidth || 800) - 2);
    const L = 6, R = W - 8, rowH = 38, T = 4;
    const H = T + addrs.length * rowH + 24;
    const x = t => L + (R - L) * ((t - t0) / Math.max(1, t1 - t0));
    const svg = PW.svg('svg', { class: 'chart timeline', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img',
      'aria-label': 'observation periods per address, coloured by readiness' });
    const axisY = T + addrs.length * rowH;
    const tk = timeTicks(t0, t1, R - L);
    for (const t of tk.out) {
      svg.appendChild(PW.svg('line', { x1: x(t), x2: x(t), y1: T, y2: axisY + 3, class: 'grid' }));
      const iso = new Date(t).toISOString();
      const label = tk.step >= DAY ? iso.slice(0, 10) : iso.slice(5, 16).replace('T', ' ');
      svg.appendChild(PW.svg('text', { x: Math.min(Math.max(x(t) - 30, 0), W - 62), y: axisY + 16, class: 'axis', text: label }));
    }
    const bars = [], marks = [];
    addrs.forEach((a, i) => {
      const y = T + i * rowH;
      svg.appendChild(PW.svg('text', { x: L, y: y + 11, class: 'lane', text: a }));
      const rows = history.filter(o => o.address === a)
        .sort((p, q) => Date.parse(p.first_seen) - Date.parse(q.first_seen) || p.id - q.id);
      let carry = null, prevChain = null, prevLeaf = null;
      rows.forEach((o, k) => {
        const s = Date.parse(o.first_seen), last = Date.parse(o.last_seen);
        const next = rows[k + 1];
        /* the probe cadence is no gap: a period lasts until the next begins,
         * the newest one until now, when the silence is shorter than TL_JOIN intervals */
        const until = next ? Date.parse(next.first_seen) : t1;
        const joined = until >= last && until - last <= join;
        const e = joined ? until : last;
        const state = periodState(o);
        let xs = carry ?? x(s), xe = x(e);
        carry = null;
        const id = chainId(o);
        if (id && prevChain && id !== prevChain) {
          const xm = x(s), leaf = leafKey(o);
          const g = PW.svg('g', { class: 'chain-change', 'data-address': a, 'data-old': prevLeaf, 'data-new': leaf },
            PW.svg('line', { x1: xm, x2: xm, y1: y + 9, y2: y + 36 }),
            PW.svg('path', { d: `M${xm - 5} ${y + 7}h10l-5 6z` }),
            PW.svg('rect', { x: xm - 6, y: y + 6, width: 12, height: 31, class: 'hit' }),
            PW.svg('title', { text: `Chain changed on ${a} at ${utc(s)} UTC: leaf key ${prevLeaf} → ${leaf}` +
              (prevLeaf === leaf ? ' (same key, other certificates)' : '') }));
          marks.push(g);
        }
        if (id) { prevChain = id; prevLeaf = leafKey(o); }
        if (xe - xs < TL_MIN) {
          if (state === 'ok') {
            /* too short to see and nothing to see: the next period covers it */
            if (joined && next) carry = xs;
            return;
          }
          xe = xs + TL_MIN;
          if (xe > R) { xs = R - TL_MIN; xe = R; }
        }
        const r = PW.svg('rect', { x: xs, y: y + 15, width: xe - xs, height: 18, class: 'period tl-' + state,
          'data-id': o.id, 'data-state': state, 'data-address': a });
        r.appendChild(PW.svg('title', { text: periodTitle(o, state) }));
        bars.push(r);
      });
    });
    /* problems above neighbours they were widened over; markers on top */
    const order = { ok: 0, failing: 1, stranded: 2 };
    bars.sort((p, q) => order[p.dataset.state] - order[q.dataset.state]).forEach(b => svg.appendChild(b));
    marks.forEach(m => svg.appendChild(m));
    box.appendChild(svg);
    const sw = (cls, text) => h('span', { class: 'item' }, h('span', { class: 'swatch ' + cls }), text);
    box.appendChild(h('div', { class: 'legend', id: 'timeline-legend' },
      sw('tl-stranded', 'users stranded (an app\u2019s stranded share > 0)'),
      sw('tl-failing', 'probe or validation failure'),
      sw('tl-ok', 'ok'),
      sw('tl-change', 'chain change (hover: old and new leaf key)'),
      sw('tl-gap', `no observation for more than ${TL_JOIN} probe intervals`),
      h('span', { class: 'item muted', text: 'times in UTC' })));
    return box;
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
      timeline(main.appendChild(h('div', { class: 'timeline-box', id: 'timeline' })), hist.items, ep);
      main.appendChild(h('h2', { text: 'What if it served this chain?' }));
      whatifForm(main, ep);
    } catch (e) { PW.showError(main, e); }
  }
  document.addEventListener('DOMContentLoaded', start);
})();
