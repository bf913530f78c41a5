#!/usr/bin/env python3
"""`pinwatch serve` feeds the sweep metrics (pinwatch_sweeps_total,
pinwatch_last_sweep_duration_seconds) as `pinwatch sweep` does.

Under serve a sweep is a pass: every enabled endpoint completes a probe
started after the previous pass closed (docs/api.md). Two endpoints on a
loopback TLS farm, due at once, 10 s interval:

  * the first pass closes after both are probed: the counter becomes >= 1
    only once both endpoints' results are stored, with a duration > 0;
  * the next pass waits for the probes that fall due one interval later, so
    the counter reaches 2 and that pass lasts seconds, not milliseconds.

usage: integration_serve_metrics.py PINWATCH TLSSERVER
"""
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import pwtest  # noqa: E402
from pwtest import call, fail, wait_for  # noqa: E402


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + ' '):
            return float(line.split()[1])
    return None


def stored_endpoints(db):
    return pwtest.db_value(db, 'SELECT count(DISTINCT endpoint_id) FROM observations')


def main():
    pw, tlsserver = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix='pinwatch-serve-metrics-')
    db = os.path.join(tmp, 'db.sqlite')
    ca = os.path.join(tmp, 'ca.pem')
    logpath = os.path.join(tmp, 'serve.log')
    env = dict(os.environ, PINWATCH_DB=db)
    farm = proc = None
    try:
        # each handshake waits 50 ms: a pass cannot take 0 s however fast the machine
        farm = subprocess.Popen([tlsserver, '--count', '2', '--delay', '50', '--ca-out', ca],
                                stdout=subprocess.PIPE, text=True)
        farm_port = int(farm.stdout.readline().split()[1])
        hosts = os.path.join(tmp, 'hosts')
        with open(hosts, 'w') as f:
            f.write('127.0.0.1 ep0.test ep1.test\n')
        env['PINWATCH_HOSTS_FILE'] = hosts
        for ep in ('ep0.test', 'ep1.test'):
            subprocess.run([pw, 'endpoint', 'add', '%s:%d' % (ep, farm_port), '--interval', '10s'],
                           env=env, check=True, stdout=subprocess.DEVNULL)
        # never probed: due now (else they spread over the first minute)
        c = sqlite3.connect(db)
        c.execute('UPDATE endpoints SET next_probe_at = 0')
        c.commit()
        c.close()
        token = subprocess.run([pw, 'token', 'create', 'ci', '--role', 'read'], env=env,
                               check=True, capture_output=True, text=True).stdout.strip()
        conf = os.path.join(tmp, 'pinwatch.conf')
        with open(conf, 'w') as f:
            f.write('[storage]\npath = %s\n[http]\nlisten = 127.0.0.1:0\n'
                    '[probe]\ntimeout_ms = 5000\nca_file = %s\n' % (db, ca))
        log = open(logpath, 'w')
        proc = subprocess.Popen([pw, 'serve', '-c', conf], env=env, stdout=log, stderr=log)
        log.close()

        def bound_port():
            with open(logpath) as f:
                m = re.search(r'http: listening on \S+ \(port (\d+)\)', f.read())
            return int(m.group(1)) if m else None
        base = 'http://127.0.0.1:%d' % wait_for('the HTTP port', bound_port, 60)

        def sweeps():
            st, text = call(base, 'GET', '/metrics', token)
            if st != 200:
                return None
            n = metric(text, 'pinwatch_sweeps_total')
            if n is None:
                fail('no pinwatch_sweeps_total in /metrics')
            # checked at the moment the counter moved: the pass's results are stored
            return (n, metric(text, 'pinwatch_last_sweep_duration_seconds'),
                    stored_endpoints(db)) if n >= 1 else None

        n, secs, stored = wait_for('pinwatch_sweeps_total >= 1', sweeps, 60)
        print('first pass: sweeps_total %g, duration %g s, %d endpoints stored' % (n, secs, stored))
        if secs is None or secs <= 0:
            fail('pinwatch_last_sweep_duration_seconds is %r after a pass' % secs)
        if stored != 2:
            fail('a sweep was counted with %d of 2 endpoints stored' % stored)

        # the next pass needs probes started after the first closed: one interval later
        n2, secs2, _ = wait_for('pinwatch_sweeps_total >= 2',
                                lambda: (lambda r: r if r and r[0] >= 2 else None)(sweeps()), 60)
        print('second pass: sweeps_total %g, duration %g s' % (n2, secs2))
        if secs2 is None or secs2 < 2.0:
            fail('the second pass took %r s: it must wait for the probes due an interval later'
                 % secs2)

        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
        proc = None
        if rc != 0:
            fail('serve exited %d after SIGTERM' % rc)
        print('ok')
        return 0
    except SystemExit:
        if os.path.exists(logpath):
            with open(logpath) as f:
                print('--- serve log (tail) ---\n' + f.read()[-3000:])
        raise
    finally:
        for p in (proc, farm):
            if p:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


sys.exit(main())
