/* Rotation plans: every open plan with its status and how many of its seven steps are done. */
'use strict';
(function () {
  const h = PW.h;

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
