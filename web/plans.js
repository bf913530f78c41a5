/* Rotation plans: every open plan with its status and how many of its seven steps are done. */
'use strict';
(function () {
  const h = PW.h;

  PW.planRow = function (p) {
    const done = (p.steps || []).filter(s => s.done).length;
    return h('tr', {},
      h('td', {}, h('a', { href: '/plan?id=' + encodeURIComponent(p.id), text: '#' + p.id })),
      h('td', {}, h('span', { class: 'badge plan-' + p.status, text: p.status.replace('_', ' ') }),
        p.overdue ? h('span', { class: 'stranded', text: ' overdue' }) : ''),
      h('td', { text: p.host + ':' + p.port }),
      h('td', { class: 'num', text: done + '/7' }),
      h('td', { class: 'hide-narrow', text: p.not_before || '' }),
      h('td', { class: 'hide-narrow', text: p.note || '' }));
  };

  PW.plansTable = function (plans, id) {
    return h('div', { class: 'table-wrap' }, h('table', { id },
      h('thead', {}, h('tr', {}, ['Plan', 'Status', 'Endpoint', 'Steps', 'Not before', 'Note'].map((t, i) =>
        h('th', { class: (i === 3 ? 'num' : '') + (i >= 4 ? ' hide-narrow' : '') || null, text: t })))),
      h('tbody', {}, plans.map(PW.planRow))));
  };

  async function start() {
    PW.chrome('Plans');
    const main = PW.clear(document.getElementById('main'));
    main.appendChild(h('h1', { text: 'Rotation plans' }));
    try {
      const all = PW.param('all') === 'true';
      const r = await PW.api('/plans' + (all ? '?all=true' : ''));
      const plans = r.items || [];
      main.appendChild(h('p', { class: 'muted', text: (all ? 'All plans' : 'Open plans') + ' · ' }, 
        h('a', { href: all ? '/plans' : '/plans?all=true', text: all ? 'open only' : 'include cancelled' })));
      main.appendChild(plans.length ? PW.plansTable(plans, 'plans')
        : h('p', { class: 'muted', id: 'plans', text: 'No plans. Record one with: pinwatch plan add --host H --chain next-chain.pem' }));
    } catch (e) { PW.showError(main, e); }
  }
  if (document.body && document.body.dataset.page === 'plans') PW.live(start);
})();
