#!/usr/bin/env python3
"""Hardening of the doors open to everyone (issue 15), against `pinwatch serve`
on loopback: each check fails on the code before the fix.

  burst      1,500 connections from as many 127.x addresses send a partial
             request and close; /healthz answers at once, no CLOSE-WAIT
             socket is left; connections past max_connections are closed by
             the server (refused or evicted) instead of waiting in the backlog
  slowloris  96 connections from 6 addresses trickle a byte a second into
             headers or a body: /healthz answers during, every trickler is
             closed by the request deadline ([http] timeout), /healthz after
  host       the Host header must name this server (DNS rebinding); Origin
             equal to a foreign Host no longer passes the cross-site check;
             libmicrohttpd's own error answers (400/414/431/505) close the
             connection and reflect nothing of the request
  probenow   probe-now of an endpoint created a moment ago probes it; a
             disabled one is 409
  redact     webhook URLs appear as scheme://host/... in listings and audit
  modes      database, -wal and -shm are 0600 under umask 000
  actor      a forged $SUDO_USER (newline, no sudo) does not name the actor
  flood      600 forged pin-failure reports (made-up app versions), then a
             genuine cluster and a genuine stranding: the genuine ones alert
             and reach a slow webhook at once, the flood does not page

Floods are bounded in count and time; bounds on waits are generous (shared
machine, sanitizer builds): outcomes are asserted, not speed.

usage: integration_harden.py PINWATCH TLSSERVER
"""
import base64
import hashlib
import http.client
import http.server
import json
import os
import pwd
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import pwtest  # noqa: E402
from pwtest import fail, free_port, wait_for  # noqa: E402

PW = TLSSERVER = None
TMP = None


def serve(name, http_conf, env_extra=None, preexec=None, setup=None):
    """A fresh database with an admin and a read token, `pinwatch serve` on a
    free port with [http] @http_conf. Returns (daemon, base, port, env, admin, reader)."""
    d = os.path.join(TMP, name)
    os.makedirs(d)
    db = os.path.join(d, 'db.sqlite')
    env = dict(os.environ, PINWATCH_DB=db)
    env.update(env_extra or {})
    admin = subprocess.run([PW, 'token', 'create', 'admin', '--role', 'admin'], env=env,
                           check=True, capture_output=True, text=True,
                           preexec_fn=preexec).stdout.strip()
    reader = subprocess.run([PW, 'token', 'create', 'reader', '--role', 'read'], env=env,
                            check=True, capture_output=True, text=True).stdout.strip()
    if setup:
        setup(env, d)
    port = free_port()
    conf = os.path.join(d, 'pinwatch.conf')
    with open(conf, 'w') as f:
        f.write('[storage]\npath = %s\n[http]\nlisten = 127.0.0.1:%d\n%s' % (db, port, http_conf))
    log = open(os.path.join(d, 'serve.log'), 'w')
    proc = subprocess.Popen([PW, 'serve', '-c', conf], env=env, stdout=log, stderr=log,
                            preexec_fn=preexec)
    daemon = pwtest.Daemon.__new__(pwtest.Daemon)
    daemon.logpath, daemon.log, daemon.proc = os.path.join(d, 'serve.log'), log, proc
    base = 'http://127.0.0.1:%d' % port
    wait_for('serve %s up' % name, lambda: raw_get(port, '/healthz')[0] == 200 or
             (not daemon.alive() and fail('serve exited:\n' + daemon.text()[-2000:])))
    return daemon, base, port, env, admin, reader


def raw_get(port, path, host=None, headers=None, timeout=10, src=None, method='GET',
            body=None):
    """(status, body) through http.client; 0 when nothing answered."""
    try:
        c = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout,
                                       source_address=(src, 0) if src else None)
        h = dict(headers or {})
        if host is not None:
            c.putrequest(method, path, skip_host=True)
            c.putheader('Host', host)
        else:
            c.putrequest(method, path)
        data = json.dumps(body).encode() if body is not None else None
        if data is not None:
            h.setdefault('Content-Type', 'application/json')
            h['Content-Length'] = str(len(data))
        for k, v in h.items():
            c.putheader(k, v)
        c.endheaders(data)
        r = c.getresponse()
        out = r.status, r.read().decode(errors='replace')
        c.close()
        return out
    except (OSError, http.client.HTTPException) as e:
        return 0, str(e)


def close_wait(port):
    """Sockets of local port @port in CLOSE-WAIT (state 08 of /proc/net/tcp)."""
    n = 0
    for f in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            lines = open(f).read().splitlines()[1:]
        except OSError:
            continue
        for l in lines:
            p = l.split()
            if int(p[1].split(':')[1], 16) == port and p[3] == '08':
                n += 1
    return n


def server_closed(s):
    """True when the server closed socket @s (EOF or reset), False if still open."""
    try:
        s.setblocking(False)
        return s.recv(4096) == b''
    except BlockingIOError:
        return False
    except OSError:
        return True


# ---- burst ----------------------------------------------------------------

def test_burst():
    d, base, port, env, admin, _ = serve(
        'burst', 'timeout = 60\nmax_connections = 256\nper_ip_connections = 64\n')
    try:
        socks = []
        for i in range(1500):
            s = socket.socket()
            s.setblocking(False)
            s.bind(('127.3.%d.%d' % (i // 250, 1 + i % 250), 0))
            try:
                s.connect(('127.0.0.1', port))
            except BlockingIOError:
                pass
            socks.append(s)
        time.sleep(0.1)
        for s in socks:
            try:
                s.send(b'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Half: ')
            except OSError:
                pass
            s.close()
        # during: the daemon answers well before [http] timeout (60 s)
        st, body = raw_get(port, '/healthz', timeout=15)
        if st != 200:
            fail('burst: /healthz right after the half-closed burst: %s %s' % (st, body[:200]))
        wait_for('no CLOSE-WAIT socket left', lambda: close_wait(port) == 0, timeout=15)
        print('burst: /healthz answered, no CLOSE-WAIT left', flush=True)

        # past max_connections: closed by the server, not queued in the backlog
        conns = []
        for i in range(300):
            s = socket.create_connection(('127.0.0.1', port), timeout=5,
                                         source_address=('127.4.%d.%d' % (i // 60, 1 + i % 60), 0))
            conns.append(s)
        # (four server threads accept at once: up to 4 more may get in)
        want = 300 - 256 - 4
        end = time.time() + 10 * pwtest.slow()
        closed = 0
        while time.time() < end:
            closed = sum(server_closed(s) for s in conns)
            if closed >= want:
                break
            time.sleep(0.2)
        if closed < want:
            fail('burst: only %d of 300 idle connections closed by a server allowing 256' % closed)
        # idle connections older than a second give way to a new one
        time.sleep(1.5)
        st, _ = raw_get(port, '/healthz', timeout=15)
        if st != 200:
            fail('burst: /healthz with max_connections idle connections held: %s' % st)
        for s in conns:
            s.close()
        print('burst: %d connections past the limit closed by the server' % closed, flush=True)
        wait_for('the refusals logged', lambda: 'refused at accept' in d.text(), timeout=20)
    finally:
        d.stop()


# ---- slowloris --------------------------------------------------------------

def test_slowloris():
    d, base, port, env, admin, _ = serve(
        'slow', 'timeout = 3\nmax_connections = 64\nper_ip_connections = 16\n')
    try:
        socks = []
        for a in range(6):
            for i in range(16):
                s = socket.create_connection(('127.0.0.1', port), timeout=5,
                                             source_address=('127.5.0.%d' % (a + 1), 0))
                if i % 2:
                    s.send(b'POST /api/v1/reports HTTP/1.1\r\nHost: localhost\r\n'
                           b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{')
                else:
                    s.send(b'GET /healthz HTTP/1.1\r\nHost: localhost\r\n')
                socks.append(s)
        t0 = time.time()
        during = []
        open_ = len(socks)
        while time.time() - t0 < 12 * pwtest.slow():
            for s in socks:
                try:
                    s.send(b'X' if socks.index(s) % 2 else b'X-A: b\r\n'[:1])
                except OSError:
                    pass
            if time.time() - t0 >= 1.5:
                st, _ = raw_get(port, '/healthz', timeout=10)
                during.append(st)
            open_ = sum(not server_closed(s) for s in socks)
            if open_ == 0 and len(during) >= 3:
                break
            time.sleep(1)
        for s in socks:
            s.close()
        if open_:
            fail('slowloris: %d of %d trickling connections outlived [http] timeout = 3 '
                 '(%d s)' % (open_, len(socks), 12 * pwtest.slow()))
        if not during or any(st != 200 for st in during):
            fail('slowloris: /healthz during the trickle: %s' % during)
        st, _ = raw_get(port, '/healthz')
        if st != 200:
            fail('slowloris: /healthz after: %s' % st)
        print('slowloris: every trickler closed within %.1f s; /healthz during %s'
              % (time.time() - t0, during), flush=True)
    finally:
        d.stop()


# ---- Host check ------------------------------------------------------------

def test_host():
    d, base, port, env, admin, _ = serve(
        'host', 'public_read = true\nbase_url = http://pinwatch.example:8080\n')
    try:
        cases = [
            ('evil.example', 421), ('evil.example:%d' % port, 421), ('localhost.evil.example', 421),
            ('127.0.0.2:%d' % port, 421),
            ('localhost:%d' % port, 200), ('LOCALHOST', 200), ('127.0.0.1:%d' % port, 200),
            ('[::1]:%d' % port, 200), ('pinwatch.example:8080', 200), ('pinwatch.example.', 200),
        ]
        for path in ('/api/v1/status', '/', '/healthz'):
            for host, want in cases:
                st, body = raw_get(port, path, host=host)
                if st != want:
                    fail('host: GET %s with Host %r: %s, want %s %s'
                         % (path, host, st, want, body[:200]))
        st, body = raw_get(port, '/api/v1/status', host='evil.example')
        if json.loads(body).get('error') != 'misdirected_request':
            fail('host: 421 is not pinwatch JSON: %s' % body[:200])
        auth = {'Authorization': 'Bearer ' + admin}
        ep = {'host': 'h.test', 'port': 443}
        # Origin equal to a foreign Host: refused (421 before the origin check)
        st, _ = raw_get(port, '/api/v1/endpoints', host='evil.example', method='POST',
                        headers=dict(auth, Origin='http://evil.example'), body=ep)
        if st != 421:
            fail('host: POST with Host = Origin = evil.example: %s' % st)
        st, _ = raw_get(port, '/api/v1/endpoints', host='localhost:%d' % port, method='POST',
                        headers=dict(auth, Origin='http://evil.example'), body=ep)
        if st != 403:
            fail('host: POST with a foreign Origin: %s' % st)
        st, body = raw_get(port, '/api/v1/endpoints', host='localhost:%d' % port, method='POST',
                           headers=dict(auth, Origin='http://localhost:%d' % port), body=ep)
        if st != 201:
            fail('host: POST with Origin localhost: %s %s' % (st, body[:200]))
        print('host: %d Host/Origin cases' % (3 * len(cases) + 3), flush=True)
        mhd_errors(port)
    finally:
        d.stop()


def raw(port, data):
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    s.sendall(data)
    out = b''
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        fail('libmicrohttpd error: connection kept open after %r' % data[:60])
    s.close()
    return out


def mhd_errors(port):
    """The answers libmicrohttpd gives by itself (documented in docs/api.md):
    the status, the connection closed after it, nothing of the request
    reflected. A negative Content-Length gets its header block twice
    (libmicrohttpd 0.9.75)."""
    mark = b'zq7REFLECTzq7'
    cases = [
        (b'POST /api/v1/reports HTTP/1.1\r\nHost: localhost\r\nContent-Length: -5\r\n'
         b'X-M: ' + mark + b'\r\n\r\n', 400),
        (b'GET /healthz HTTP/3.7\r\nHost: localhost\r\nX-M: ' + mark + b'\r\n\r\n', 505),
        (b'GET /' + mark + b'a' * 40000 + b' HTTP/1.1\r\nHost: localhost\r\n\r\n', 414),
        (b'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-M: ' + mark + b'a' * 40000 +
         b'\r\n\r\n', 431),
    ]
    for req, want in cases:
        out = raw(port, req)
        first = out.split(b'\r\n', 1)[0]
        if not first.startswith(b'HTTP/1.1 %d ' % want):
            fail('libmicrohttpd error: %r for %r' % (first, req[:50]))
        if mark in out:
            fail('libmicrohttpd error: the request is reflected in %r' % out[:300])
    # pinwatch's own JSON 414 below libmicrohttpd's buffer
    st, body = raw_get(port, '/' + 'a' * 2000, host='localhost')
    if st != 414 or json.loads(body).get('error') != 'uri_too_long':
        fail('uri_too_long: %s %s' % (st, body[:200]))
    print('mhd errors: 400, 505, 414, 431 answered by libmicrohttpd, closed, nothing '
          'reflected', flush=True)


# ---- probe-now on a new endpoint -----------------------------------------

def test_probe_now():
    def setup(env, _):
        subprocess.run([PW, 'endpoint', 'add', '127.0.0.1:1', '--interval', '1h'], env=env,
                       check=True, stdout=subprocess.DEVNULL)
    d, base, port, env, admin, _ = serve('probenow', '', setup=setup)
    try:
        # the scheduler reads the endpoints at start, then once a minute
        wait_for('probe-now of endpoint 1', lambda: pwtest.call(
            base, 'POST', '/api/v1/endpoints/1/probe', admin)[0] == 202)
        st, body = pwtest.call(base, 'POST', '/api/v1/endpoints', admin,
                               {'host': '127.0.0.1', 'port': 2, 'interval': '1h'})
        if st != 201:
            fail('probenow: creating an endpoint: %s %s' % (st, body))
        eid = json.loads(body)['id']
        st, body = pwtest.call(base, 'POST', '/api/v1/endpoints/%d/probe' % eid, admin)
        if st != 202:
            fail('probenow: probe-now of the new endpoint: %s %s' % (st, body))

        def observed():
            st, b = pwtest.call(base, 'GET', '/api/v1/endpoints/%d/observations' % eid, admin)
            return st == 200 and json.loads(b).get('items')
        wait_for('an observation of the endpoint created a moment ago', observed, timeout=30)
        st, body = pwtest.call(base, 'PUT', '/api/v1/endpoints/%d' % eid, admin,
                               {'host': '127.0.0.1', 'port': 2, 'enabled': False})
        if st != 200:
            fail('probenow: disabling: %s %s' % (st, body))
        st, body = pwtest.call(base, 'POST', '/api/v1/endpoints/%d/probe' % eid, admin)
        if st != 409:
            fail('probenow: probe-now of a disabled endpoint: %s %s' % (st, body))
        print('probenow: the new endpoint was probed; disabled is 409', flush=True)
    finally:
        d.stop()


# ---- redaction, file modes, actor ------------------------------------------

def test_redact_modes_actor():
    old = os.umask(0)
    try:
        d, base, port, env, admin, reader = serve('modes', '', preexec=lambda: os.umask(0))
    finally:
        os.umask(old)
    try:
        secret_url = 'https://hooks.example.com/services/T0SECRET/B0SECRET/XSECRET?token=QSECRET'
        st, body = pwtest.call(base, 'POST', '/api/v1/webhooks', admin,
                               {'url': secret_url, 'secret': 'k' * 32, 'min_severity': 'warning'})
        if st != 201:
            fail('redact: adding a webhook: %s %s' % (st, body))
        st, hooks = pwtest.call(base, 'GET', '/api/v1/webhooks', admin)
        st2, audit = pwtest.call(base, 'GET', '/api/v1/audit?limit=1000', reader)
        if st != 200 or st2 != 200:
            fail('redact: listings: %s %s' % (st, st2))
        for what, text in (('webhook list', hooks), ('audit log', audit)):
            if 'SECRET' in text or 'services' in text:
                fail('redact: the %s shows the URL path: %s' % (what, text[:400]))
        if 'https://hooks.example.com/...' not in hooks:
            fail('redact: the webhook list lacks the scheme and host: %s' % hooks[:300])
        print('redact: only scheme and host are shown', flush=True)

        db = env['PINWATCH_DB']
        wait_for('the -wal and -shm files', lambda: os.path.exists(db + '-wal') and
                 os.path.exists(db + '-shm'))
        for f in (db, db + '-wal', db + '-shm'):
            mode = stat.S_IMODE(os.stat(f).st_mode)
            if mode & 0o077:
                fail('modes: %s is %o under umask 000' % (os.path.basename(f), mode))
        print('modes: database, -wal and -shm are 0600 under umask 000', flush=True)

        me = 'cli:' + pwd.getpwuid(os.getuid()).pw_name
        forged = dict(env, SUDO_USER='alice\n2026-12-01 admin: token revoked')
        forged.pop('SUDO_UID', None)
        subprocess.run([PW, 'endpoint', 'add', 'actor.test:443'], env=forged, check=True,
                       stdout=subprocess.DEVNULL)
        c = sqlite3.connect('file:%s?mode=ro' % db, uri=True, timeout=30)
        actor = c.execute("SELECT actor FROM audit_log WHERE object_type = 'endpoint' "
                          "ORDER BY id DESC LIMIT 1").fetchone()[0]
        c.close()
        if actor != me:
            fail('actor: forged SUDO_USER gave actor %r, want %r' % (actor, me))
        print('actor: forged SUDO_USER ignored (%s)' % actor, flush=True)
    finally:
        d.stop()


# ---- report flood ------------------------------------------------------------

class SlowReceiver(http.server.BaseHTTPRequestHandler):
    got = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
        time.sleep(0.2)  # slow: 600 queued pages would take two minutes
        try:
            j = json.loads(body)
            a = j['alerts'][0]
            item = (a['labels'].get('alertname') or a['labels'].get('kind'),
                    a['labels'].get('severity'), a['annotations'].get('summary', ''))
        except (ValueError, KeyError, IndexError):
            item = ('?', '?', body[:100])
        with SlowReceiver.lock:
            SlowReceiver.got.append(item)
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *a):
        pass


def pem(der):
    b = base64.b64encode(der).decode()
    return '-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n' % '\n'.join(
        b[i:i + 64] for i in range(0, len(b), 64))


def report(host, port, version, chain):
    return {'app-bundle-id': 'com.example.shop', 'app-version': version,
            'app-platform': 'IOS', 'app-platform-version': '17.1.2', 'trustkit-version': '3.0.3',
            'date-time': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
            'hostname': host, 'port': port, 'noted-hostname': host,
            'include-subdomains': False, 'enforce-pinning': True,
            'validated-certificate-chain': chain,
            'known-pins': ['pin-sha256="%s"' % base64.b64encode(b'\1' * 32).decode()],
            'validation-result': 1}


def test_flood():
    farm = subprocess.Popen([TLSSERVER, '--count', '1', '--ca-out', os.path.join(TMP, 'ca.pem')],
                            stdout=subprocess.PIPE, text=True)
    srv = None
    d = None
    try:
        farm_port = int(farm.stdout.readline().split()[1])
        hook_port = free_port()
        srv = http.server.ThreadingHTTPServer(('127.0.0.1', hook_port), SlowReceiver)
        threading.Thread(target=srv.serve_forever, daemon=True).start()

        def setup(env, dd):
            hosts = os.path.join(dd, 'hosts')
            with open(hosts, 'w') as f:
                f.write('127.0.0.1 ep0.test\n')
            env['PINWATCH_HOSTS_FILE'] = hosts
            subprocess.run([PW, 'endpoint', 'add', 'ep0.test:%d' % farm_port, '--interval',
                            '10s'], env=env, check=True, stdout=subprocess.DEVNULL)
            subprocess.run([PW, 'webhook', 'add', 'http://127.0.0.1:%d/hook' % hook_port,
                            '--format', 'generic', '--secret', 's3cret'], env=env, check=True,
                           stdout=subprocess.DEVNULL)
        d, base, port, env, admin, reader = serve(
            'flood', '[probe]\nca_file = %s\n' % os.path.join(TMP, 'ca.pem'), setup=setup)
        db = env['PINWATCH_DB']

        def chain():
            c = sqlite3.connect('file:%s?mode=ro' % db, uri=True, timeout=30)
            try:
                rows = c.execute(
                    'SELECT c.der FROM observations o JOIN chain_certs cc ON cc.chain_id = '
                    'o.presented_chain_id JOIN certificates c ON c.id = cc.cert_id '
                    'WHERE o.endpoint_id = 1 ORDER BY o.id DESC, cc.pos').fetchall()
            finally:
                c.close()
            return [pem(r[0]) for r in rows]
        pwtest.call(base, 'POST', '/api/v1/endpoints/1/probe', admin)
        served = wait_for('the farm\'s chain stored', chain, timeout=60)
        # the app: 4.2.0 pins a key the server does not present (stranded once adopted)
        st, body = pwtest.call(base, 'POST', '/api/v1/apps', admin,
                               {'name': 'shop-ios', 'platform': 'ios',
                                'bundle_id': 'com.example.shop', 'adoption_threshold': 0.9})
        if st != 201:
            fail('flood: creating the app: %s %s' % (st, body))
        app_id = json.loads(body)['id']
        bogus = base64.b64encode(hashlib.sha256(b'not the server key').digest()).decode()
        st, body = pwtest.call(base, 'POST', '/api/v1/apps/%d/versions' % app_id, admin, {
            'version': '4.2.0', 'released': '2026-10-01',
            'pin_policies': [{'pattern': 'ep0.test', 'enforce': True,
                              'pins': [{'sha256': bogus, 'role': 'current'}]}]})
        if st != 201:
            fail('flood: creating version 4.2.0: %s %s' % (st, body))

        # 600 forged reports: made-up versions, one report each, 20 addresses
        t0 = time.time()
        for i in range(600):
            src = '127.6.0.%d' % (1 + i % 20)
            st, body = raw_get(port, '/api/v1/reports', method='POST', src=src,
                               body=report('ep0.test', farm_port, '9.%d.0' % i, served))
            if st != 202:
                fail('flood: forged report %d: %s %s' % (i, st, body[:200]))
        print('flood: 600 forged reports in %.1f s' % (time.time() - t0), flush=True)
        # the genuine cluster: a known version, two addresses
        for src in ('127.7.0.1', '127.7.0.2'):
            st, body = raw_get(port, '/api/v1/reports', method='POST', src=src,
                               body=report('ep0.test', farm_port, '4.2.0', served))
            if st != 202:
                fail('flood: genuine report: %s %s' % (st, body[:200]))
        # the genuine stranding: 4.2.0 is adopted
        st, body = pwtest.call(base, 'POST', '/api/v1/apps/%d/adoption' % app_id, admin,
                               {'samples': [{'version': '4.2.0',
                                             'at': time.strftime('%Y-%m-%d', time.gmtime()),
                                             'share': 0.4}]})
        if not 200 <= st < 300:
            fail('flood: adoption: %s %s' % (st, body))

        def delivered():
            with SlowReceiver.lock:
                got = list(SlowReceiver.got)
            kinds = [g[0] for g in got]
            return got if 'stranding_now' in kinds and any(
                g[0] == 'pin_failures_reported' and '4.2.0' in g[2] for g in got) else None
        # 600 pages at 0.2 s would take 120 s; the genuine two come well before
        got = wait_for('the genuine stranding and cluster delivered', delivered, timeout=90)
        flood_pages = [g for g in got if g[0] == 'pin_failures_reported' and '4.2.0' not in g[2]]
        if len(flood_pages) > 1:
            fail('flood: %d notifications for forged reports: %s' % (len(flood_pages),
                                                                  flood_pages[:3]))
        crit = [g for g in got if g[0] == 'stranding_now']
        if crit[0][1] != 'critical':
            fail('flood: stranding_now delivered as %s' % crit[0][1])
        st, body = pwtest.call(base, 'GET', '/api/v1/alerts', reader)
        items = json.loads(body)['items'] if st == 200 else []
        reported = [a for a in items if a.get('kind') == 'pin_failures_reported']
        if len(reported) != 2:
            fail('flood: want the genuine cluster and one per-host aggregate, got %s'
                 % [(a.get('severity'), a.get('summary')) for a in reported])
        for a in reported:
            if 'ep0.test:%d`' % farm_port not in a.get('summary', ''):
                fail('flood: host not quoted in %r' % a.get('summary'))
        print('flood: delivered %s; %d alerts for reports' % ([g[:2] for g in got],
                                                             len(reported)), flush=True)
    finally:
        if d:
            d.stop()
        if srv:
            srv.shutdown()
        farm.terminate()
        farm.wait()


def main():
    global PW, TLSSERVER, TMP
    PW, TLSSERVER = sys.argv[1], sys.argv[2]
    only = sys.argv[3:]
    with pwtest.scratch('pinwatch-harden-') as TMP:
        for name, fn in (('burst', test_burst), ('slowloris', test_slowloris),
                         ('host', test_host), ('probenow', test_probe_now),
                         ('redact', test_redact_modes_actor), ('flood', test_flood)):
            if not only or name in only:
                fn()
    print('PASS', flush=True)


if __name__ == '__main__':
    main()
