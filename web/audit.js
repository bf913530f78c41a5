/* Audit: the hash-chained log with filters and the verification result. */
'use strict';
(function () {
  const h = PW.h;

  async function start() {
    PW.chrome('Audit');
    const main = PW.clear(document.getElementById('main'));
    main.appendChild(h('h1', { text: 'Audit log' }));
    const verify = h('div', { id: 'verify' });
    main.appendChild(verify);
    const q = new URLSearchParams(location.search);
    const field = (name, label) => {
      const i = h('input', { name, type: 'text', size: 14 });
      i.value = q.get(name) || '';
      return h('label', {}, label, i);
    };
    main.appendChild(h('form', { class: 'filters', method: 'get', action: '/audit' },
      field('actor', 'Actor'), field('action', 'Action'), field('object_type', 'Object type'),
      field('object_id', 'Object id'), field('since', 'Since (YYYY-MM-DD)'), h('button', { type: 'submit', text: 'Filter' })));
    try {
      const v = await PW.api('/audit/verify');
      verify.appendChild(h('p', { class: v.ok ? 'notice accept' : 'stranding-warning',
        text: v.ok ? `Hash chain verified: ${v.rows ?? ''} rows intact.` : 'Hash chain broken: ' + (v.detail || v.error || JSON.stringify(v)) }));
    } catch (e) {
      verify.appendChild(h('p', { class: 'notice', text: e.status === 404 ? 'Verification is not available on this server.' : 'Verification failed: ' + e.message }));
    }
    const sp = new URLSearchParams();
    for (const k of ['actor', 'action', 'object_type', 'object_id', 'since']) if (q.get(k)) sp.set(k, q.get(k));
    const tbody = h('tbody');
    const table = h('div', { class: 'table-wrap' }, h('table', { id: 'audit' },
      h('thead', {}, h('tr', {}, ['#', 'At', 'Actor', 'Action', 'Object', 'Change'].map(t => h('th', { text: t })))), tbody));
    main.appendChild(table);
    let cursor = null;
    const more = h('button', { type: 'button', text: 'Older entries' });
    const load = async () => {
      try {
        const page = await PW.api('/audit?' + sp.toString() + '&limit=100' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
        for (const r of page.items) {
          tbody.appendChild(h('tr', {}, h('td', { class: 'num', text: r.id }), h('td', { text: r.at }), h('td', { text: r.actor }),
            h('td', { text: r.action }), h('td', { text: r.object_type + (r.object_id ? ' ' + r.object_id : '') }),
            h('td', { class: 'mono', text: (r.before ? 'before: ' + JSON.stringify(r.before) + ' ' : '') + (r.after ? 'after: ' + JSON.stringify(r.after) : '') })));
        }
        cursor = page.next_cursor;
        more.hidden = !cursor;
      } catch (e) { PW.showError(main, e); more.hidden = true; }
    };
    more.addEventListener('click', load);
    main.appendChild(more);
    await load();
  }
  document.addEventListener('DOMContentLoaded', start);
})();
