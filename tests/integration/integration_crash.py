#!/usr/bin/env python3
"""Crash safety of `pinwatch serve` (issue 8).

The daemon probes a loopback TLS farm (and a closed port) every 10 s, has a
webhook whose receiver is down (so notifications queue in the outbox), and
takes API writes (endpoints, apps, versions, adoption) from a client thread.
It is SIGKILLed at random moments (CRASH_KILLS times, at least 20) and
restarted. After every kill:

  * every write the API acknowledged (2xx) is in the database,
  * PRAGMA integrity_check says ok,
  * `pinwatch audit verify` exits 0,
  * every outbox row seen before the kill still exists (the receiver is down,
    so nothing may have been delivered or dropped).

At the end the receiver comes up and every notification ever seen queued
must arrive at least once (Idempotency-Key), and the outbox must drain.

usage: integration_crash.py PINWATCH TLSSERVER     (CRASH_SEED, CRASH_KILLS)
"""
import base64
import http.server
import json
import os
import functools
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import pwtest  # noqa: E402
from pwtest import fail, free_port  # noqa: E402

# short: an unanswered write during a kill counts as unanswered, not as a hang
call = functools.partial(pwtest.call, timeout=5)


class Writer(threading.Thread):
    """Issues API writes in a loop and records the acknowledged ones."""

    def __init__(self, base, token, farm_port, rng):
        super().__init__(daemon=True)
        self.base, self.token, self.farm_port, self.rng = base, token, farm_port, rng
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.acked = []  # (kind, key...)
        self.unanswered = 0
        self.rejected = []
        self.i = 0
        self.last_app = None  # (id, name)
        self.last_version = None  # (app_id, app_name, version)

    def pin(self):
        return base64.b64encode(self.rng.randbytes(32)).decode()

    def one(self):
        i = self.i
        self.i += 1
        kind = i % 4
        if kind == 3 and not self.last_version:
            kind = 2
        if kind == 2 and not self.last_app:
            kind = 1
        if kind == 0:
            host = 'w%d.test' % i
            port = self.farm_port if i % 8 == 0 else 1
            st, body = call(self.base, 'POST', '/api/v1/endpoints', self.token,
                            {'host': host, 'port': port, 'interval': '10s', 'tags': ['crash']})
            key = ('endpoint', host, port)
        elif kind == 1:
            name = 'app%d' % i
            st, body = call(self.base, 'POST', '/api/v1/apps', self.token,
                            {'name': name, 'platform': 'android' if i % 2 else 'ios',
                             'adoption_threshold': 0.9})
            key = ('app', name)
            if 200 <= st < 300:
                self.last_app = (json.loads(body)['id'], name)
        elif kind == 2:
            app_id, app = self.last_app
            ver = '1.%d' % i
            st, body = call(self.base, 'POST', '/api/v1/apps/%d/versions' % app_id, self.token, {
                'version': ver, 'released': '2026-10-01',
                'adoption': [{'at': '2026-11-01', 'share': 0.05}],
                'pin_policies': [{'pattern': 'ep0.test', 'enforce': True,
                                  'pins': [{'sha256': self.pin(), 'role': 'current'},
                                           {'sha256': self.pin(), 'role': 'backup'}]}]})
            key = ('version', app, ver)
            if 200 <= st < 300:
                self.last_version = (app_id, app, ver)
        else:
            app_id, app, ver = self.last_version
            day = time.strftime('%Y-%m-%d', time.gmtime(1700000000 + 86400 * i))
            st, body = call(self.base, 'POST', '/api/v1/apps/%d/adoption' % app_id, self.token,
                            {'samples': [{'version': ver, 'at': day, 'share': 0.5}]})
            key = ('adoption', app, ver, day)
        with self.lock:
            if 200 <= st < 300:
                self.acked.append(key)
            elif st == 0 or st == 503:
                self.unanswered += 1
            else:
                self.rejected.append((key, st, body[:200]))

    def run(self):
        while not self.stop.is_set():
            if self.i % 10 == 5:  # probe-now of ep0/ep1: probes at random moments too
                call(self.base, 'POST', '/api/v1/endpoints/%d/probe' % (1 + self.i // 10 % 2),
                     self.token)
            self.one()
            time.sleep(self.rng.uniform(0.0, 0.05))


def check_acked(db, acked):
    c = sqlite3.connect(db, timeout=30)
    try:
        ic = c.execute('PRAGMA integrity_check').fetchall()
        if ic != [('ok',)]:
            fail('integrity_check: %r' % ic)
        fk = c.execute('PRAGMA foreign_key_check').fetchall()
        if fk:
            fail('foreign_key_check: %r' % fk[:5])
        for k in acked:
            if k[0] == 'endpoint':
                q = ('SELECT 1 FROM endpoints WHERE host=? AND port=?', k[1:])
            elif k[0] == 'app':
                q = ('SELECT 1 FROM apps WHERE name=?', k[1:])
            elif k[0] == 'version':
                q = ('SELECT 1 FROM versions v JOIN apps a ON a.id=v.app_id '
                     'WHERE a.name=? AND v.version=?', k[1:])
            else:
                q = ('SELECT 1 FROM adoption d JOIN versions v ON v.id=d.version_id '
                     'JOIN apps a ON a.id=v.app_id WHERE a.name=? AND v.version=? AND d.at=?', k[1:])
            if not c.execute(*q).fetchone():
                fail('acknowledged write lost: %r' % (k,))
    finally:
        c.close()


def outbox(db):
    """{id: idempotency_key} of the outbox, read like any other reader."""
    c = sqlite3.connect('file:%s?mode=ro' % db, uri=True, timeout=30)
    try:
        return dict(c.execute('SELECT id, idempotency_key FROM webhook_outbox'))
    except sqlite3.OperationalError:
        return {}  # schema not there yet
    finally:
        c.close()


class Receiver(http.server.BaseHTTPRequestHandler):
    keys = set()

    def do_POST(self):
        n = int(self.headers.get('Content-Length', '0'))
        self.rfile.read(n)
        Receiver.keys.add(self.headers.get('Idempotency-Key'))
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *a):
        pass


def main():
    pw, tlsserver = sys.argv[1], sys.argv[2]
    seed = int(os.environ.get('CRASH_SEED', str(int(time.time()))))
    kills = max(20, int(os.environ.get('CRASH_KILLS', '24')))
    rng = random.Random(seed)
    print('seed %d, %d kills' % (seed, kills), flush=True)
    tmp = tempfile.mkdtemp(prefix='pinwatch-crash-')
    db = os.path.join(tmp, 'db.sqlite')
    ca = os.path.join(tmp, 'ca.pem')
    log = open(os.path.join(tmp, 'serve.log'), 'w')
    env = dict(os.environ, PINWATCH_DB=db)
    farm = proc = None
    try:
        farm = subprocess.Popen([tlsserver, '--count', '2', '--ca-out', ca],
                                stdout=subprocess.PIPE, text=True)
        farm_port = int(farm.stdout.readline().split()[1])
        hosts = os.path.join(tmp, 'hosts')
        with open(hosts, 'w') as f:
            f.write('127.0.0.1 ep0.test ep1.test\n')
            f.writelines('127.0.0.1 w%d.test\n' % i for i in range(0, 4000, 4))
        env['PINWATCH_HOSTS_FILE'] = hosts
        token = subprocess.run([pw, 'token', 'create', 'crash', '--role', 'admin'], env=env,
                               check=True, capture_output=True, text=True).stdout.strip()
        hook_port = free_port()
        subprocess.run([pw, 'webhook', 'add', 'http://127.0.0.1:%d/hook' % hook_port,
                        '--format', 'generic', '--secret', 's3cret', '--min-severity', 'info'],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        for ep in ('ep0.test:%d' % farm_port, 'ep1.test:%d' % farm_port):
            subprocess.run([pw, 'endpoint', 'add', ep, '--interval', '10s'], env=env, check=True,
                           stdout=subprocess.DEVNULL)
        port = free_port()
        base = 'http://127.0.0.1:%d' % port
        conf = os.path.join(tmp, 'pinwatch.conf')
        with open(conf, 'w') as f:
            f.write('[storage]\npath = %s\n[http]\nlisten = 127.0.0.1:%d\n'
                    '[probe]\ninterval = 10s\ntimeout_ms = 5000\nca_file = %s\n'
                    '[alerts]\nprobe_failures = 1\n'
                    '[webhook]\nbackoff_cap = 1s\nconnect_timeout_ms = 200\n' % (db, port, ca))

        writer = Writer(base, token, farm_port, rng)
        writer.start()
        seen = {}  # every outbox row ever observed: id -> idempotency key
        started = time.time()
        for k in range(kills):
            proc = subprocess.Popen([pw, 'serve', '-c', conf], env=env, stdout=log, stderr=log)
            kill_at = time.time() + rng.uniform(0.3, 2.5)
            snap = {}
            while time.time() < kill_at:
                snap = outbox(db)
                time.sleep(0.05)
            snap = outbox(db)  # the last view before the kill
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc = None
            with writer.lock:
                acked = list(writer.acked)
            check_acked(db, acked)
            after = outbox(db)
            lost = set(snap) - set(after)
            if lost:
                fail('kill %d: outbox rows %r vanished while the receiver was down' %
                     (k, sorted(lost)[:10]))
            seen.update(snap)
            seen.update(after)
            r = subprocess.run([pw, 'audit', 'verify'], env=env, capture_output=True, text=True)
            if r.returncode != 0:
                fail('kill %d: audit verify exited %d: %s' % (k, r.returncode, r.stdout + r.stderr))
            print('kill %2d: %3d writes acknowledged, %2d outbox rows, integrity ok, audit ok' %
                  (k + 1, len(acked), len(after)), flush=True)
        writer.stop.set()
        writer.join()
        print('%d kills in %.0f s; %d writes acknowledged, %d unanswered, %d rejected' %
              (kills, time.time() - started, len(writer.acked), writer.unanswered,
               len(writer.rejected)), flush=True)
        if writer.rejected:
            fail('writes rejected with an error status (not a crash effect): %r' % writer.rejected[:3])
        if len(writer.acked) < 20:
            fail('too few acknowledged writes (%d) for the test to mean anything' % len(writer.acked))
        if not seen:
            fail('no webhook notification was ever queued')

        # Bring the receiver up: every queued notification arrives at least once.
        srv = http.server.ThreadingHTTPServer(('127.0.0.1', hook_port), Receiver)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        proc = subprocess.Popen([pw, 'serve', '-c', conf], env=env, stdout=log, stderr=log)
        want = set(seen.values())
        end = time.time() + 60 * pwtest.slow()
        while time.time() < end and not (want <= Receiver.keys and not outbox(db)):
            time.sleep(0.2)
        # probes of this run reach the Prometheus counters
        for i in (1, 2):
            call(base, 'POST', '/api/v1/endpoints/%d/probe' % i, token)
        def farm_handshake_stored():
            c = sqlite3.connect(db)
            try:
                return c.execute("SELECT count(*) FROM observations WHERE outcome IN "
                                 "('ok', 'name_mismatch')").fetchone()[0] > 0
            finally:
                c.close()
        # a loaded machine may need a few probe rounds (probe-now again each time)
        wait_for_metric = time.time() + 45 * pwtest.slow()
        while time.time() < wait_for_metric:
            st, text = call(base, 'GET', '/metrics', token)
            if st == 200 and any(l.startswith('pinwatch_probes_total{') and float(l.split()[-1]) > 0
                                 for l in text.splitlines()) and farm_handshake_stored():
                break
            for i in (1, 2):
                call(base, 'POST', '/api/v1/endpoints/%d/probe' % i, token)
            time.sleep(1.0)
        else:
            fail('pinwatch_probes_total stays 0 while the daemon probes')
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
        proc = None
        srv.shutdown()
        missing = want - Receiver.keys
        if missing:
            fail('%d of %d queued notifications never delivered: %r' %
                 (len(missing), len(want), sorted(missing)[:5]))
        if rc != 0:
            fail('serve exited %d after SIGTERM' % rc)
        check_acked(db, writer.acked)
        c = sqlite3.connect(db)
        outcomes = dict(c.execute('SELECT outcome, sum(probe_count) FROM observations GROUP BY outcome'))
        c.close()
        print('probes stored: %r' % outcomes, flush=True)
        if not outcomes.get('ok', 0) + outcomes.get('name_mismatch', 0):
            fail('no handshake with the farm was stored')
        print('receiver up: all %d queued notifications delivered (%d requests distinct keys)'
              % (len(want), len(Receiver.keys)), flush=True)
        print('ok')
        return 0
    except SystemExit:
        log.flush()
        with open(log.name) as f:
            tail = f.read()[-3000:]
        print('--- serve log (tail) ---\n' + tail)
        raise
    finally:
        if proc:
            proc.kill()
            proc.wait()
        if farm:
            farm.terminate()
            farm.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


sys.exit(main())
