/* Alerts: what is firing now (worst first), recent resolutions, and silences. */
'use strict';
(function () {
  const h = PW.h;

  function when(t) {
    return t ? new Date(t * 1000).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '';
  }

  function target(a) {
    if (a.endpoint_id) return h('a', { href: '/endpoint?id=' + encodeURIComponent(a.endpoint_id), text: a.endpoint || ('endpoint ' + a.endpoint_id) });
    if (a.details && a.details.plan) return h('a', { href: '/plan?id=' + encodeURIComponent(a.details.plan), text: 'plan ' + a.details.plan });
    return a.app || '';
  }

  function table(list, id) {
    return h('div', { class: 'table-wrap' }, h('table', { id },
      h('thead', {}, h('tr', {}, ['Severity', 'Alert', 'About', 'Summary', 'Since'].map((t, i) =>
        h('th', { class: i === 2 ? 'hide-narrow' : null, text: t })))),
      h('tbody', {}, list.map(a => h('tr', {},
        h('td', {}, PW.badge(a.severity), a.silenced ? h('div', { class: 'muted', text: 'silenced' }) : ''),
        h('td', { class: 'mono', text: a.kind }),
        h('td', { class: 'hide-narrow' }, target(a)),
        h('td', {}, h('div', { class: 'subject', text: a.summary || '' }),
          a.endpoint_id ? h('a', { class: 'narrow-only', href: '/endpoint?id=' + encodeURIComponent(a.endpoint_id), text: 'endpoint' }) : ''),
        h('td', { text: a.status === 'resolved' ? 'resolved ' + when(a.ends_at) : when(a.starts_at) }))))));
  }

  async function start() {
    PW.chrome('Alerts');
    const main = PW.clear(document.getElementById('main'));
    main.appendChild(h('h1', { text: 'Alerts' }));
    try {
      const [firing, all, silences] = await Promise.all([
        PW.api('/alerts'), PW.api('/alerts?all=true&limit=200'), PW.api('/alerts/silences')]);
      const now = (firing.items || []).slice().sort((a, b) =>
        (PW.severityRank[a.severity] ?? 9) - (PW.severityRank[b.severity] ?? 9) || (b.starts_at || 0) - (a.starts_at || 0));
      main.appendChild(h('p', { class: 'muted', id: 'as-of', text: 'Data from ' + new Date().toISOString().slice(0, 19).replace('T', ' ') + ' UTC' }));
      main.appendChild(h('h2', { text: 'Firing (' + now.length + ')' }));
      main.appendChild(now.length ? table(now, 'firing') : h('p', { class: 'muted', id: 'firing', text: 'Nothing is firing.' }));
      const resolved = (all.items || []).filter(a => a.status === 'resolved').slice(0, 50);
      main.appendChild(h('h2', { text: 'Recently resolved' }));
      main.appendChild(resolved.length ? table(resolved, 'resolved') : h('p', { class: 'muted', text: 'None.' }));
      const sil = silences.items || [];
      main.appendChild(h('h2', { text: 'Silences (' + sil.length + ')' }));
      main.appendChild(sil.length ? h('div', { class: 'table-wrap' }, h('table', { id: 'silences' },
        h('thead', {}, h('tr', {}, ['Silences', 'Until', 'Reason', 'By'].map(t => h('th', { text: t })))),
        h('tbody', {}, sil.map(s => h('tr', {},
          h('td', { class: 'mono', text: s.fingerprint || s.endpoint || ('endpoint ' + s.endpoint_id) }),
          h('td', { text: when(s.until) }), h('td', { text: s.reason || '' }), h('td', { text: s.created_by || '' }))))))
        : h('p', { class: 'muted', text: 'No active silences. Silence with: pinwatch alert silence FINGERPRINT --for 24h --reason TEXT' }));
    } catch (e) { PW.showError(main, e); }
  }
  if (document.body && document.body.dataset.page === 'alerts') PW.live(start);
})();
