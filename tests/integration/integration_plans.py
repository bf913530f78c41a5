#!/usr/bin/env python3
"""A planned rotation under `pinwatch serve`, end to end.

A loopback TLS server (Python's ssl module) presents a leaf signed by a test
root (certificates made with certtool at test time). The inventory pins the
current leaf key, a planned key and the root. A plan for the planned chain is
recorded (CLI and API), the server is rotated to that chain, and:

  * the webhook receives rotation_completed (info) naming the plan, and no
    unplanned chain_changed for the endpoint;
  * the plan's state moves from ready to rolling_out, every address presenting
    the planned key (step 7 waits for [plans] confirm_days);
  * rotating back to the old chain, which no plan names, fires chain_changed
    with "planned": false;
  * a plan whose not-before date has passed while it would strand users
    raises plan_overdue;
  * plan add/show/cancel and /api/v1/plans answer as documented, the audit log
    records each change, and bad input is refused with exit 2 / HTTP 400.

usage: integration_plans.py PINWATCH
"""
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from pwtest import Daemon, call, fail, free_port, wait_for  # noqa: E402

PW = sys.argv[1]
TMP = tempfile.mkdtemp(prefix='pw-plans-')
DB = os.path.join(TMP, 'pw.db')
ENV = dict(os.environ, PINWATCH_DB=DB)


def path(name):
    return os.path.join(TMP, name)


def sh(args, check=True, stdin=None):
    r = subprocess.run(args, capture_output=True, text=True, env=ENV, input=stdin)
    if check and r.returncode != 0:
        fail('command failed (%d): %s\n%s%s' % (r.returncode, ' '.join(args), r.stdout,
                                                  r.stderr))
    return r


def certs():
    def tmpl(name, text):
        with open(path(name + '.tmpl'), 'w') as f:
            f.write(text)

    for k in ('root', 'old', 'new', 'spare'):
        sh(['certtool', '--generate-privkey', '--key-type', 'ecdsa', '--outfile',
            path(k + '.key')])
    tmpl('root', 'cn = "pinwatch plans test root"\nca\ncert_signing_key\nexpiration_days = 3650\n')
    tmpl('leaf', 'cn = "api.plan.test"\ndns_name = "api.plan.test"\ntls_www_server\n'
         'signing_key\nexpiration_days = 200\n')
    sh(['certtool', '--generate-self-signed', '--load-privkey', path('root.key'), '--template',
        path('root.tmpl'), '--outfile', path('root.pem')])
    for k in ('old', 'new'):
        sh(['certtool', '--generate-certificate', '--load-privkey', path(k + '.key'),
            '--load-ca-certificate', path('root.pem'), '--load-ca-privkey', path('root.key'),
            '--template', path('leaf.tmpl'), '--outfile', path(k + '.pem')])


def pin(name):
    """SPKI pin (base64) of a certificate, as `pinwatch pin` prints it."""
    out = sh([PW, 'pin', path(name + '.pem'), '--json']).stdout
    j = json.loads(out)
    items = j if isinstance(j, list) else j.get('items', [j])
    return items[0]['pin'].replace('sha256/', '')


def spare_pin():
    out = sh([PW, 'pin', path('spare.key'), '--json']).stdout
    j = json.loads(out)
    items = j if isinstance(j, list) else j.get('items', [j])
    return items[0]['pin'].replace('sha256/', '')


class TLSServer(threading.Thread):
    """Serves one certificate at a time; swap() changes it for new connections."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(('127.0.0.1', port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.ctx = None
        self.stop = False

    def swap(self, name):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(path(name + '.pem'), path(name + '.key'))
        self.ctx = ctx

    def run(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                c.settimeout(5)
                s = self.ctx.wrap_socket(c, server_side=True)
                s.close()
            except (OSError, ssl.SSLError):
                c.close()


class Receiver(http.server.BaseHTTPRequestHandler):
    bodies = []
    lock = threading.Lock()

    def do_POST(self):
        n = int(self.headers.get('Content-Length', '0'))
        body = json.loads(self.rfile.read(n))
        with Receiver.lock:
            Receiver.bodies.append(body)
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *a):
        pass


def alerts(kind, status='firing'):
    with Receiver.lock:
        return [a for b in Receiver.bodies for a in b['alerts']
                if a['labels']['alertname'] == kind and a['status'] == status]


def plan_json(pid):
    return json.loads(sh([PW, 'plan', 'show', str(pid), '--json']).stdout)


def main():
    certs()
    root, old, new, spare = pin('root'), pin('old'), pin('new'), spare_pin()
    tls_port = free_port()
    srv = TLSServer(tls_port)
    srv.swap('old')
    srv.start()
    hosts = path('hosts')
    with open(hosts, 'w') as f:
        f.write('127.0.0.1 api.plan.test\n')
    ENV['PINWATCH_HOSTS_FILE'] = hosts

    inv = {
        'endpoints': [{'host': 'api.plan.test', 'port': tls_port, 'interval': '10s'}],
        'apps': [{'name': 'shop', 'platform': 'android', 'adoption_threshold': 0.9,
                  'versions': [
                      {'version': '2.0', 'adoption': [{'at': '2026-01-01', 'share': 0.7}],
                       'pin_policies': [{'pattern': 'api.plan.test', 'pins': [
                           {'sha256': old}, {'sha256': new, 'role': 'backup'},
                           {'sha256': spare, 'role': 'backup'}]}]},
                      {'version': '1.0', 'adoption': [{'at': '2026-01-01', 'share': 0.3}],
                       'pin_policies': [{'pattern': 'api.plan.test', 'pins': [
                           {'sha256': root}]}]}]}]}
    with open(path('inv.json'), 'w') as f:
        json.dump(inv, f)
    sh([PW, 'import', path('inv.json')])
    token = sh([PW, 'token', 'create', 'plans', '--role', 'write']).stdout.strip()
    rtoken = sh([PW, 'token', 'create', 'reader', '--role', 'read']).stdout.strip()

    hook = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Receiver)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    sh([PW, 'webhook', 'add', 'http://127.0.0.1:%d/hook' % hook.server_address[1],
        '--format', 'generic', '--secret', 's3cret', '--min-severity', 'info'])

    # Bad input: exit 2, nothing recorded.
    for args, what in (([], 'no key'), (['--pin', 'nope'], 'bad pin'),
                       (['--pin', new, '--chain', path('new.pem')], 'both chain and pins'),
                       (['--pin', new, '--not-before', '2026-13-01'], 'bad date')):
        r = sh([PW, 'plan', 'add', '--host', 'api.plan.test', '--port', str(tls_port)] + args,
               check=False)
        if r.returncode != 2:
            fail('plan add with %s: exit %d, want 2' % (what, r.returncode))
    if json.loads(sh([PW, 'plan', 'list', '--json']).stdout) != []:
        fail('a refused plan was recorded')
    if sh([PW, 'plan', 'show', '99'], check=False).returncode != 2:
        fail('plan show of an unknown id must exit 2')

    conf = path('pinwatch.conf')
    port = free_port()
    with open(conf, 'w') as f:
        f.write('[storage]\npath = %s\n[http]\nlisten = 127.0.0.1:%d\n'
                '[probe]\ninterval = 10s\ntimeout_ms = 5000\nca_file = %s\n'
                '[webhook]\nbackoff_cap = 1s\n' % (DB, port, path('root.pem')))
    d = Daemon(PW, conf, ENV, path('serve.log'), discover_port=True)
    try:
        base = d.base

        def probed():
            st, body = call(base, 'GET', '/api/v1/readiness', rtoken)
            return st == 200 and '"outcome": "ok"' in body.replace('":"', '": "')
        wait_for('the first probe of api.plan.test', probed, timeout=60)

        # A plan through the API (write token), one through the CLI (stdin chain).
        st, body = call(base, 'POST', '/api/v1/plans', rtoken,
                        {'host': 'api.plan.test', 'port': tls_port, 'pins': [new]})
        if st != 403:
            fail('a read token added a plan: %d %s' % (st, body))
        st, body = call(base, 'POST', '/api/v1/plans', token,
                        {'host': 'api.plan.test', 'port': tls_port, 'pins': [spare, root],
                         'not_before': '2026-01-01', 'note': 'disaster drill'})
        if st != 201:
            fail('POST /api/v1/plans: %d %s' % (st, body))
        drill = json.loads(body)
        st, body = call(base, 'POST', '/api/v1/plans', token,
                        {'host': 'api.plan.test', 'pins': [new], 'bogus': 1})
        if st != 400:
            fail('unknown key accepted: %d %s' % (st, body))
        with open(path('new.pem')) as f:
            r = sh([PW, 'plan', 'add', '--host', 'api.plan.test', '--port', str(tls_port),
                    '--chain', '-', '--note', 'CHG-42', '--json'], stdin=f.read())
        plan = json.loads(r.stdout)
        pid = plan['id']
        if plan['status'] != 'ready' or not plan['from_chain']:
            fail('the planned chain is survived by every version: want ready, got %s'
                 % json.dumps(plan, indent=1))
        steps = {s['name']: s for s in plan['steps']}
        for name, want in (('inventory', True), ('pins', True), ('staging', False),
                           ('prepared', True), ('release', True), ('adoption', True),
                           ('cleanup', False)):
            if steps[name]['done'] != want:
                fail('step %s: done=%s, want %s: %s' % (name, steps[name]['done'], want,
                                                        steps[name]['evidence']))
        # The drill plan moves to the spare leaf key under the same root: 2.0
        # pins the spare key, 1.0 the root: ready. Its not-before date has
        # passed, but it is ready, so it is not overdue.
        if drill['overdue']:
            fail('a ready plan was called overdue')

        # An overdue plan: pins nobody carries, due in the past.
        st, body = call(base, 'POST', '/api/v1/plans', token,
                        {'host': 'api.plan.test', 'port': tls_port,
                         'pins': ['BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA='],
                         'not_before': '2026-01-01'})
        if st != 201 or json.loads(body)['status'] != 'waiting':
            fail('the stranding plan: %d %s' % (st, body))
        overdue_id = json.loads(body)['id']
        wait_for('plan_overdue', lambda: [a for a in alerts('plan_overdue')
                                          if a['pinwatch']['details']['plan'] == overdue_id])

        # Rotate the server to the planned chain.
        srv.swap('new')
        rc = wait_for('rotation_completed', lambda: [
            a for a in alerts('rotation_completed')
            if a['pinwatch']['details']['plan'] == pid], timeout=90)
        if rc[0]['labels']['severity'] != 'info':
            fail('rotation_completed is info: %s' % rc[0]['labels'])
        if 'plan %d' % pid not in rc[0]['annotations']['summary']:
            fail('rotation_completed names the plan: %s' % rc[0]['annotations']['summary'])
        time.sleep(3)
        if alerts('chain_changed'):
            fail('a planned rotation also raised chain_changed')
        p = plan_json(pid)
        if p['status'] != 'rolling_out' or p['presenting'] != p['addresses']:
            fail('after the rotation: want rolling_out on every address, got %s (%s/%s)'
                 % (p['status'], p['presenting'], p['addresses']))

        # Back to the old chain: no plan names it, so it is unplanned.
        srv.swap('old')
        cc = wait_for('chain_changed', lambda: alerts('chain_changed'), timeout=90)
        if cc[0]['pinwatch']['details'].get('planned') is not False:
            fail('chain_changed says planned: false: %s' % cc[0]['pinwatch']['details'])

        # Cancel: CLI, then again (exit 2), then via the API (404).
        sh([PW, 'plan', 'cancel', str(pid)])
        if sh([PW, 'plan', 'cancel', str(pid)], check=False).returncode != 2:
            fail('cancelling a cancelled plan must exit 2')
        st, _ = call(base, 'DELETE', '/api/v1/plans/%d' % pid, token)
        if st != 404:
            fail('DELETE of a cancelled plan: %d, want 404' % st)
        st, body = call(base, 'GET', '/api/v1/plans/%d' % pid, rtoken)
        if st != 200 or json.loads(body)['status'] != 'cancelled':
            fail('GET a cancelled plan: %d %s' % (st, body))
        st, body = call(base, 'GET', '/api/v1/plans', rtoken)
        if st != 200 or pid in [x['id'] for x in json.loads(body)['items']]:
            fail('the open plans list shows a cancelled plan: %s' % body)
        audit = sh([PW, 'audit', 'list']).stdout
        if audit.count('plan:') < 4 or 'cancel' not in audit:
            fail('plan changes are audited:\n' + audit)
        print('ok: plan ready -> rotation_completed -> rolling_out; chain_changed planned:false;'
              ' plan_overdue; API and CLI')
    finally:
        d.stop()
        srv.stop = True
        hook.shutdown()


if __name__ == '__main__':
    try:
        main()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
