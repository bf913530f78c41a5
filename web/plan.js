/* One rotation plan: its seven steps with their evidence, and the shares per app if executed now. */
'use strict';
(function () {
  const h = PW.h;

  async function start() {
    PW.chrome('Plans');
    const main = PW.clear(document.getElementById('main'));
    try {
      const id = PW.param('id');
      if (!id || !/^[0-9]+$/.test(id)) throw Object.assign(new Error('This page needs a plan number: /plan?id=N (see the plans page).'), { status: 400 });
      const p = await PW.api('/plans/' + encodeURIComponent(id));
      main.appendChild(h('h1', { text: 'Plan #' + p.id + ': ' + p.host + ':' + p.port }));
      main.appendChild(h('p', {}, h('span', { class: 'badge plan-' + p.status, id: 'plan-status', text: p.status.replace('_', ' ') }),
        p.overdue ? h('span', { class: 'stranded', text: ' overdue: the not-before date has passed and it is not ready' }) : '',
        ' ', h('span', { class: 'muted', text: [p.not_before ? 'not before ' + p.not_before : '', p.note ? 'note: ' + p.note : '',
          'recorded by ' + p.created_by + ' at ' + p.created_at].filter(Boolean).join(' · ') })));
      main.appendChild(h('p', { class: 'muted', text: p.presenting + ' of ' + p.addresses + ' address(es) present the planned key' +
        (p.presenting_since ? ' (all since ' + p.presenting_since + ')' : '') + '.' }));
      main.appendChild(h('ol', { class: 'steps', id: 'steps' }, (p.steps || []).map(s =>
        h('li', { class: s.done ? 'done' : 'open' },
          h('span', { class: s.done ? 'accept' : 'reject', text: s.done ? '✓ ' : '○ ' }),
          h('strong', { text: s.name }),
          h('ul', { class: 'reasons' }, (s.evidence || []).map(e => h('li', { text: e })))))));
      if ((p.apps || []).length) {
        main.appendChild(h('h2', { text: 'If the plan were executed now' }));
        main.appendChild(h('div', { class: 'table-wrap' }, h('table', { id: 'plan-apps' },
          h('thead', {}, h('tr', {}, ['App', 'Stranded', 'Surviving', 'Needed', 'Ready', 'Forecast'].map((t, i) =>
            h('th', { class: i >= 1 && i <= 3 ? 'num' : null, text: t })))),
          h('tbody', {}, p.apps.map(a => h('tr', {},
            h('td', { text: a.app }),
            h('td', { class: 'num' + (a.stranded_share > 0 ? ' stranded' : ''), text: PW.pct(a.stranded_share) }),
            h('td', { class: 'num', text: PW.pct(a.surviving_share) }),
            h('td', { class: 'num', text: PW.pct(a.adoption_threshold) }),
            h('td', { text: a.ready ? 'ready' : 'not ready' }),
            h('td', { text: a.forecast && a.forecast.available ? a.forecast.date : (a.forecast ? a.forecast.basis : '') })))))));
      }
      main.appendChild(h('h2', { text: 'Planned keys' }));
      main.appendChild(h('ul', {}, (p.keys || []).map((k, i) => h('li', { class: 'mono', text: 'sha256/' + k + (i === 0 && p.from_chain ? ' (leaf)' : '') }))));
    } catch (e) { PW.showError(main, e); }
  }
  if (document.body && document.body.dataset.page === 'plan') PW.live(start);
})();
