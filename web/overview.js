/* Overview: every endpoint, worst first, with stranded shares per app. */
'use strict';
(function () {
  const h = PW.h;

  function endpointLink(e) {
    const id = e.id || e.endpoint_id;
    const href = id ? '/endpoint?id=' + encodeURIComponent(id)
      : '/endpoint?host=' + encodeURIComponent(e.host) + '&port=' + encodeURIComponent(e.port);
    return h('a', { href, text: e.host + ':' + e.port });
  }

  function worstNow(e) {
    let w = 0;
    for (const a of e.apps || []) w = Math.max(w, (a.now && a.now.stranded_share) || 0);
    return w;
  }

  function filterForm(main) {
    const q = new URLSearchParams(location.search);
    const field = (name, label, kind) => {
      let input;
      if (kind === 'severity') {
        input = h('select', { name }, ['', 'critical', 'warning', 'info', 'ok'].map(s =>
          h('option', { value: s, text: s || 'any' })));
      } else {
        input = h('input', { name, type: 'text', size: 12 });
      }
      input.value = q.get(name) || '';
      return h('label', {}, label, input);
    };
    main.appendChild(h('form', { class: 'filters', method: 'get', action: '/' },
      field('environment', 'Environment'), field('owner', 'Owner'), field('tag', 'Tag'),
      field('severity', 'Severity', 'severity'), h('button', { type: 'submit', text: 'Filter' })));
    const out = new URLSearchParams();
    for (const k of ['environment', 'owner', 'tag', 'severity']) if (q.get(k)) out.set(k, q.get(k));
    return out.toString();
  }

  let appIds = {};

  function appCell(name) {
    const id = appIds[name];
    return id ? h('a', { href: '/app?id=' + encodeURIComponent(id), text: name }) : name;
  }

  let expiryDays = [30, 14, 7, 2];
  const daysOf = e => (e.expiry && e.expiry.days_left !== undefined ? e.expiry.days_left : null);
  const expLevel = e => PW.expiryLevel(daysOf(e), expiryDays);

  function render(main, list) {
    /* expiry sorts and colours by the thresholds the alerts use (/status expiry_days) */
    list.sort((a, b) => (PW.severityRank[a.severity] ?? 9) - (PW.severityRank[b.severity] ?? 9) ||
      worstNow(b) - worstNow(a) ||
      PW.expiryRank(expLevel(a)) - PW.expiryRank(expLevel(b)) ||
      (daysOf(a) ?? 1e9) - (daysOf(b) ?? 1e9));
    const stranding = list.filter(e => worstNow(e) > 0);
    if (stranding.length) {
      const e = stranding[0];
      const a = (e.apps || []).reduce((x, y) => ((y.now && y.now.stranded_share) || 0) > ((x.now && x.now.stranded_share) || 0) ? y : x);
      main.appendChild(h('div', { class: 'stranding-warning', id: 'stranding-warning', role: 'alert' },
        `Users are stranded right now on ${stranding.length} endpoint${stranding.length > 1 ? 's' : ''}. ` +
        `Worst: ${a.app} loses ${PW.pct(a.now.stranded_share)} of its users on ${e.host}:${e.port}.`,
        (a.reasons || []).filter(r => r.startsWith('To restore service')).map(r => h('div', { class: 'advice', text: r }))));
    }
    const tbody = h('tbody');
    for (const e of list) {
      const apps = e.apps && e.apps.length ? e.apps : [null];
      apps.forEach((a, i) => {
        const first = i === 0;
        const now = a && a.now, kr = a && a.key_rotation;
        tbody.appendChild(h('tr', { class: first ? 'ep-first' : null },
          h('td', {}, first ? PW.badge(e.severity) : ''),
          h('td', {}, first ? endpointLink(e) : ''),
          h('td', {}, a ? appCell(a.app) : h('span', { class: 'muted', text: 'no app pins this host' })),
          h('td', { class: 'num' + (now && now.stranded_share > 0 ? ' stranded' : ''), text: now ? PW.pct(now.stranded_share) : '' }),
          h('td', { class: 'num' + (kr && kr.stranded_share > 0 ? ' stranded' : ''), text: kr ? PW.pct(kr.stranded_share) : '' }),
          h('td', { class: 'num hide-narrow', text: now && now.unknown_share ? PW.pct(now.unknown_share) : '' }),
          h('td', { text: kr ? (kr.ready ? 'ready' : 'not ready') : '' }),
          h('td', { class: 'num' + (first && expLevel(e) ? ' exp-' + expLevel(e) : ''), text: first && daysOf(e) !== null ? daysOf(e) : '' })));
      });
    }
    main.appendChild(h('div', { class: 'table-wrap' }, h('table', { id: 'overview' },
      h('thead', {}, h('tr', {}, ['Severity', 'Endpoint', 'App', 'Stranded now', 'Key rotation',
        'Unknown', 'Rotation', 'Days to expiry'].map((t, i) =>
        h('th', { class: i >= 3 && i !== 6 ? 'num' + (i === 5 ? ' hide-narrow' : '') : null, text: t })))),
      tbody)));
    if (!list.length) main.appendChild(h('p', { class: 'muted', text: 'No endpoints match.' }));
  }

  async function start() {
    PW.chrome('Overview');
    const main = document.getElementById('main');
    PW.clear(main).appendChild(h('h1', { text: 'Overview' }));
    const status = h('div', { class: 'cards' });
    main.appendChild(status);
    const query = filterForm(main);
    try {
      const s = await PW.api('/status');
      if (Array.isArray(s.expiry_days) && s.expiry_days.length) expiryDays = PW._expiryDays = s.expiry_days;
      const card = (label, v) => h('div', { class: 'card' }, h('div', { class: 'muted', text: label }), h('strong', { text: v }));
      PW.append(status, [card('Endpoints', s.endpoints), card('Apps', s.apps), card('Firing alerts', s.alerts_firing),
        card('Last sweep', s.last_sweep || 'never')]);
    } catch (e) { PW.showError(main, e); return; }
    try {
      for (const a of await PW.apiAll('/apps', 2000)) appIds[a.name] = a.id;
    } catch (e) { /* names stay plain text */ }
    try {
      const base = '/readiness?limit=200' + (query ? '&' + query : '');
      const data = await PW.api(base);
      const list = data.items || [];
      try {
        const plans = (await PW.api('/plans')).items || [];
        if (plans.length) {
          main.appendChild(h('h2', { text: 'Open rotation plans' }));
          main.appendChild(PW.plansTable(plans, 'overview-plans'));
        }
      } catch (e) { /* a server without plans: nothing to show */ }
      const section = h('section', { id: 'overview-list' });
      main.appendChild(section);
      render(section, list);
      let cursor = data.next_cursor;
      if (cursor) {
        const note = h('p', { class: 'muted', text: `Showing the ${list.length} worst of ${data.total} endpoints.` });
        const more = h('button', { type: 'button', text: 'Show more', onclick: async () => {
          more.disabled = true;
          try {
            const page = await PW.api(base + '&cursor=' + encodeURIComponent(cursor));
            list.push(...(page.items || []));
            cursor = page.next_cursor;
            PW.clear(section);
            render(section, list);
            note.textContent = `Showing the ${list.length} worst of ${data.total} endpoints.`;
            more.hidden = !cursor;
          } catch (e) { PW.showError(main, e); }
          more.disabled = false;
        } });
        main.appendChild(note);
        main.appendChild(more);
      }
    } catch (e) {
      if (e.status === 404) {
        main.appendChild(h('p', { class: 'notice', text: 'Readiness is not available on this server; showing the inventory only.' }));
        const eps = await PW.apiAll('/endpoints' + (query ? '?' + query : ''), 5000);
        render(main, eps.map(x => ({ id: x.id, host: x.host, port: x.port, severity: 'unknown', apps: [] })));
      } else {
        PW.showError(main, e);
      }
    }
  }
  PW.live(start);
})();
