/* Field signals: pin-failure report clusters (counts per day, classification)
 * and candidate certificates with their what-if verdicts. Text only. */
'use strict';
(function () {
  const h = PW.h;
  const DAYS = 30;
  const CLASS = {
    matches_server: ['critical', 'matches server: the app\u2019s pins are wrong (stranding)'],
    differs: ['warning', 'differs: interception (TLS inspection, captive portal) or attack'],
    unknown_host: ['warning', 'unknown host: wrong domain mapping'],
    unobserved: ['info', 'not observed yet'],
  };

  function dayList() {
    const out = [];
    const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
    for (let i = DAYS - 1; i >= 0; i--) out.push(new Date(today - i * 86400000).toISOString().slice(0, 10));
    return out;
  }

  /* Reports per day as a small bar chart (SVG built with createElementNS). */
  function bars(days, counts) {
    const max = Math.max(1, ...days.map(d => counts[d] || 0));
    const W = 150, H = 28, bw = W / days.length;
    const svg = PW.svg('svg', { class: 'spark', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': 'reports per day' });
    days.forEach((d, i) => {
      const c = counts[d] || 0;
      if (!c) return;
      const bh = Math.max(1, (H - 2) * c / max);
      const r = PW.svg('rect', { x: i * bw, y: H - bh, width: Math.max(1, bw - 1), height: bh, fill: '#245ea8' });
      r.appendChild(PW.svg('title', { text: `${d}: ${c}` }));
      svg.appendChild(r);
    });
    return svg;
  }

  /* TrustKit-Android reports port 0: show the host alone then. */
  const hostPort = c => c.port ? `${c.host}:${c.port}` : c.host;

  function clusterTable(clusters) {
    const days = dayList();
    return h('div', { class: 'table-wrap' }, h('table', { id: 'clusters' },
      h('thead', {}, h('tr', {}, ['Classification', 'App', 'Version', 'Endpoint', 'Reports', `Last ${DAYS} days`, 'Last seen', 'Leaf seen by users']
        .map(t => h('th', { text: t })))),
      h('tbody', {}, clusters.map(c => {
        const [sev, label] = CLASS[c.classification] || ['info', c.classification];
        const counts = {};
        for (const d of c.days || []) counts[d.day] = d.count;
        return h('tr', {},
          h('td', {}, PW.badge(sev), ' ', label),
          h('td', { text: c.app || c.bundle_id || 'unknown app' }),
          h('td', { text: c.app_version || '–' }),
          h('td', {}, c.endpoint_id ? h('a', { href: '/endpoint?id=' + encodeURIComponent(c.endpoint_id), text: hostPort(c) }) : hostPort(c)),
          h('td', { class: 'num', text: c.report_count }),
          h('td', {}, bars(days, counts)),
          h('td', { text: new Date(c.last_seen * 1000).toISOString().slice(0, 16).replace('T', ' ') }),
          h('td', { class: 'subject' }, h('div', { text: (c.leaf && c.leaf.subject) || '–' }),
            h('div', { class: 'muted', text: 'issuer: ' + ((c.leaf && c.leaf.issuer) || '–') })));
      }))));
  }

  function candidateTable(cands) {
    return h('div', { class: 'table-wrap' }, h('table', { id: 'candidates' },
      h('thead', {}, h('tr', {}, ['Verdict', 'Certificate', 'Source', 'Valid', 'Endpoints covered', 'Stranded'].map(t => h('th', { text: t })))),
      h('tbody', {}, cands.map(c => {
        const v = c.verdict || {};
        const eps = v.endpoints || [];
        return h('tr', {},
          h('td', {}, c.would_strand ? PW.badge('critical') : PW.badge('ok'), ' ', c.would_strand ? 'would strand users' : 'safe'),
          h('td', { class: 'subject' }, h('div', { text: c.subject }), h('div', { class: 'muted', text: 'issuer: ' + c.issuer }),
            h('div', { class: 'muted mono', text: (c.dns_names || []).join(', ') })),
          h('td', { text: c.source }),
          h('td', { text: new Date(c.not_before * 1000).toISOString().slice(0, 10) + ' .. ' + new Date(c.not_after * 1000).toISOString().slice(0, 10) }),
          h('td', {}, eps.length ? h('ul', { class: 'reasons' }, eps.map(e => h('li', {}, `${e.host}:${e.port} `,
            (e.apps || []).map(a => h('span', { class: a.stranded_share > 0 ? 'stranded' : 'accept',
              text: `${a.app} ${PW.pct(a.stranded_share)}` + ((a.stranded_versions || []).length ? ' (' + a.stranded_versions.map(x => x.version).join(', ') + ')' : '') + ' ' })))))
            : h('span', { class: 'muted', text: 'no inventoried endpoint' })),
          h('td', { class: 'num' + (c.max_stranded > 0 ? ' stranded' : ''), text: PW.pct(c.max_stranded) }));
      }))));
  }

  async function start() {
    PW.chrome('Signals');
    const main = PW.clear(document.getElementById('main'));
    main.appendChild(h('h1', { text: 'Field signals' }));
    main.appendChild(h('h2', { text: 'Pin-failure reports' }));
    try {
      const r = await PW.api('/reports?days=' + DAYS);
      const items = r.items || [];
      if (!items.length) main.appendChild(h('p', { class: 'muted', text: 'No pin-failure reports received.' }));
      else main.appendChild(clusterTable(items));
    } catch (e) { PW.showError(main, e); }
    main.appendChild(h('h2', { text: 'Candidate certificates' }));
    try {
      const r = await PW.api('/candidates');
      const items = r.items || [];
      if (!items.length) main.appendChild(h('p', { class: 'muted', text: 'No candidates recorded (pinwatch candidate add, or the Cert Spotter hook).' }));
      else main.appendChild(candidateTable(items));
    } catch (e) { PW.showError(main, e); }
  }
  document.addEventListener('DOMContentLoaded', start);
})();
