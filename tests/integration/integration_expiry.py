#!/usr/bin/env python3
"""certificate_expiring end to end under `pinwatch serve`.

One endpoint that no app pins, served by two loopback edges (127.0.0.1 and
127.0.0.2: tlsserver --second-address, two farms on one port sharing a root
and intermediate, each edge with its own leaf, all generated at start):
each presents a leaf that expires in 5 days under an intermediate that
expires in 20. A webhook receiver on loopback collects the notifications.
[alerts] expiry_days = 2,7,21,30 (ascending, stored as 30,21,7,2): with the
default 30,14,7,2 a 20-day intermediate would be info, not warning.

  1. both edges serve the 5-day leaf: certificate_expiring fires critical and
     names the leaf;
  2. the leaf is renewed on 127.0.0.1 only: still critical, and 127.0.0.2 is
     named as the edge still serving the old certificate;
  3. the leaf is renewed on 127.0.0.2 too: a warning naming the intermediate;
  4. the intermediate is renewed on both edges: resolved.
/metrics carries pinwatch_certificate_expiry_timestamp_seconds for each
edge, the absolute notAfter of the earliest certificate.

usage: integration_expiry.py PINWATCH TLSSERVER
"""
import http.server
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import pwtest  # noqa: E402
from pwtest import fail, wait_for  # noqa: E402

HOST = 'expiring.test'
DAY = 86400


class Receiver(http.server.BaseHTTPRequestHandler):
    got = []
    lock = threading.Lock()

    def do_POST(self):
        n = int(self.headers.get('Content-Length', '0'))
        body = self.rfile.read(n)
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        with Receiver.lock:
            Receiver.got.append(doc)
        self.send_response(200)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'ok')

    def log_message(self, *args):
        pass


def expiring_alerts():
    """(status, severity, summary, details) of every certificate_expiring notification."""
    out = []
    with Receiver.lock:
        docs = list(Receiver.got)
    for d in docs:
        for a in (d or {}).get('alerts', []):
            if a.get('labels', {}).get('alertname') == 'certificate_expiring':
                out.append((a['status'], a['labels']['severity'],
                            a['annotations']['summary'], a['pinwatch']['details']))
    return out


class Farm:
    """tlsserver --control with two edges of HOST: 127.0.0.1 and 127.0.0.2."""

    def __init__(self, tlsserver, ca):
        self.p = subprocess.Popen([tlsserver, '--control', '--intermediate-days', '20',
                                   '--second-address', '127.0.0.2', '--ca-out', ca,
                                   HOST + '=expiring'],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if not line.startswith('port '):
            fail('tlsserver did not start')
        self.port = int(line.split()[1])

    def command(self, cmd):
        self.p.stdin.write(cmd + '\n')
        self.p.stdin.flush()
        answer = self.p.stdout.readline().strip()
        if answer != 'ok':
            fail('tlsserver: %s: %s' % (cmd, answer))

    def stop(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def main():
    pw, tlsserver = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix='pinwatch-expiry-')
    print('tmp ' + tmp, flush=True)
    db = os.path.join(tmp, 'db.sqlite')
    env = dict(os.environ, PINWATCH_DB=db)
    farms, daemon, httpd = [], None, None
    try:
        ca = os.path.join(tmp, 'ca.pem')
        farm = Farm(tlsserver, ca)
        farms.append(farm)
        hosts = os.path.join(tmp, 'hosts')
        with open(hosts, 'w') as f:
            f.write('127.0.0.1 %s\n127.0.0.2 %s\n' % (HOST, HOST))
        env['PINWATCH_HOSTS_FILE'] = hosts

        httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Receiver)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        hook = 'http://127.0.0.1:%d/hook' % httpd.server_address[1]

        subprocess.run([pw, 'endpoint', 'add', '%s:%d' % (HOST, farm.port), '--interval', '10s'],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([pw, 'webhook', 'add', hook, '--secret', 'expiry-test-secret',
                        '--min-severity', 'info'], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        c = sqlite3.connect(db)
        c.execute('UPDATE endpoints SET next_probe_at = 0')
        c.commit()
        c.close()
        token = subprocess.run([pw, 'token', 'create', 'ci', '--role', 'read'], env=env,
                               check=True, capture_output=True, text=True).stdout.strip()
        conf = os.path.join(tmp, 'pinwatch.conf')
        with open(conf, 'w') as f:
            f.write('[storage]\npath = %s\n[http]\nlisten = 127.0.0.1:0\n'
                    '[probe]\ntimeout_ms = 5000\nca_file = %s\n'
                    '[alerts]\nexpiry_days = 2,7,21,30\n' % (db, ca))
        daemon = pwtest.Daemon(pw, conf, env, os.path.join(tmp, 'serve.log'),
                               discover_port=True)

        def latest(pred):
            def fn():
                if not daemon.alive():
                    fail('serve exited:\n' + daemon.text()[-3000:])
                for n in reversed(expiring_alerts()):
                    if pred(n):
                        return n
                return None
            return fn

        # 1. the 5-day leaf on both edges
        st, sev, summary, det = wait_for(
            'certificate_expiring critical naming the leaf',
            latest(lambda n: n[0] == 'firing' and n[1] == 'critical'), 90)
        cert = det['certificate']
        if cert['role'] != 'leaf' or HOST not in (cert['subject'] or ''):
            fail('critical alert does not name the leaf: %r' % cert)
        if 'leaf certificate' not in summary or not (4 <= det['days_left'] <= 5):
            fail('summary/days: %r, %r' % (summary, det['days_left']))
        print('1. critical: ' + summary, flush=True)

        # `pinwatch check` lists it with the same days left, at the same level
        r = subprocess.run([pw, 'check', '-c', conf], env=env, capture_output=True, text=True)
        want = '%d days left' % det['days_left']
        lines = [ln for ln in r.stdout.splitlines()
                 if HOST in ln and want in ln and 'critical' in ln and 'leaf' in ln]
        if 'Expiring certificates ([alerts] expiry_days 30,21,7,2)' not in r.stdout or \
                not lines:
            fail('check does not list %s with %r:\n%s' % (HOST, want, r.stdout))

        st, text = pwtest.call(daemon.base, 'GET', '/metrics', token)
        if st != 200:
            fail('/metrics: %d' % st)
        now = time.time()
        for addr in ('127.0.0.1', '127.0.0.2'):
            prefix = 'pinwatch_certificate_expiry_timestamp_seconds{endpoint="%s:%d",' \
                     'address="%s"} ' % (HOST, farm.port, addr)
            line = [ln for ln in text.splitlines() if ln.startswith(prefix)]
            if not line:
                fail('no %s... in /metrics:\n%s' % (prefix, text))
            v = float(line[0].split()[-1])
            if not (now + 4 * DAY < v <= now + 5 * DAY + 60):
                fail('%s: %r is not an absolute time about 5 days ahead' % (addr, v))

        # 2. renewed on 127.0.0.1 only: 127.0.0.2 is named
        n0 = len(expiring_alerts())
        farm.command('renew %s 90 127.0.0.1' % HOST)
        st, sev, summary, det = wait_for(
            'the edge still serving the old leaf named',
            latest(lambda n: n[0] == 'firing' and n[3].get('stale_addresses') == ['127.0.0.2']
                   and n[3].get('renewed_addresses') == ['127.0.0.1']), 90)
        if sev != 'critical' or '127.0.0.2' not in summary:
            fail('partial renewal: %s %r' % (sev, summary))
        print('2. partial: ' + summary, flush=True)

        # 3. renewed everywhere: the 20-day intermediate is next
        farm.command('renew %s 90 127.0.0.2' % HOST)
        st, sev, summary, det = wait_for(
            'certificate_expiring warning naming the intermediate',
            latest(lambda n: n[0] == 'firing' and n[1] == 'warning'), 90)
        if det['certificate']['role'] != 'intermediate' or \
                'intermediate' not in (det['certificate']['subject'] or ''):
            fail('warning does not name the intermediate: %r' % det['certificate'])
        if not (19 <= det['days_left'] <= 20) or det['threshold_days'] != 21 or 'intermediate certificate' not in summary:
            fail('warning: %r (%r days)' % (summary, det['days_left']))
        print('3. warning: ' + summary, flush=True)

        # 4. the intermediate renewed on both edges: resolved
        farm.command('intermediate 400')
        wait_for('certificate_expiring resolved',
                 latest(lambda n: n[0] == 'resolved'), 90)
        if n0 < 1:
            fail('no notification before the renewal')
        c = sqlite3.connect('file:%s?mode=ro' % db, uri=True, timeout=30)
        firing = c.execute("SELECT count(*) FROM alerts WHERE kind = 'certificate_expiring'"
                           " AND status = 'firing'").fetchone()[0]
        c.close()
        if firing:
            fail('certificate_expiring still firing after the renewal')
        print('4. resolved', flush=True)
        rc = daemon.stop()
        daemon = None
        if rc != 0:
            fail('serve exited %s' % rc)
        print('PASS')
    finally:
        if daemon:
            daemon.stop()
        for f in farms:
            f.stop()
        if httpd:
            httpd.shutdown()
        if os.environ.get('KEEP') is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
