#!/usr/bin/env python3
"""`pinwatch serve` with the HTTP component: the API answers while the
scheduler probes, probe-now reaches the scheduler, SIGTERM stops cleanly.

usage: serve_http_test.py PINWATCH
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from pwtest import call, free_port, wait_for  # noqa: E402



def main():
    pw = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix='pinwatch-serve-http-')
    db = os.path.join(tmp, 'db.sqlite')
    env = dict(os.environ, PINWATCH_DB=db)
    proc = None
    try:
        # a closed loopback port: every probe ends in a refused connection
        subprocess.run([pw, 'endpoint', 'add', '127.0.0.1:1', '--interval', '10s'], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        token = subprocess.run([pw, 'token', 'create', 'ci', '--role', 'admin'], env=env, check=True,
                               capture_output=True, text=True).stdout.strip()
        port = free_port()
        conf = os.path.join(tmp, 'pinwatch.conf')
        with open(conf, 'w') as f:
            f.write('[storage]\npath = %s\n[http]\nlisten = 127.0.0.1:%d\n' % (db, port))
        base = 'http://127.0.0.1:%d' % port
        proc = subprocess.Popen([pw, 'serve', '-c', conf], env=dict(os.environ), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        wait_for('/healthz 200', lambda: call(base, 'GET', '/healthz')[0] == 200)
        st, body = call(base, 'GET', '/api/v1/status')
        assert st == 401, st  # reads need a token
        # probe-now reaches the scheduler: the endpoint is probed at once
        # (503 "the scheduler is starting" until serve has created it)
        wait_for('probe-now accepted', lambda: call(base, 'POST', '/api/v1/endpoints/1/probe', token)[0] == 202)
        st, body = call(base, 'POST', '/api/v1/endpoints/99/probe', token)
        assert st == 404, (st, body)
        obs = wait_for('a stored observation', lambda: json.loads(
            call(base, 'GET', '/api/v1/endpoints/1/observations', token)[1] or '{}').get('items'))
        assert obs[0]['address'] == '127.0.0.1', obs
        assert obs[0]['outcome'] != 'ok', obs
        st, body = call(base, 'GET', '/metrics', token)
        assert st == 200 and 'pinwatch_address_outcome{host="127.0.0.1",port="1",address="127.0.0.1"' in body, body[:2000]
        # the scheduler feeds the probe counters and the duration histogram
        assert 'pinwatch_probes_total{outcome="' in body, body[:2000]
        count = [l for l in body.splitlines() if l.startswith('pinwatch_probe_duration_seconds_count ')]
        assert count and int(count[0].split()[1]) >= 1, count
        st, body = call(base, 'GET', '/api/v1/readiness', token)
        assert st == 200 and json.loads(body)['total'] == 1, body[:500]
        t0 = time.time()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
        print('stopped after %.1f s' % (time.time() - t0))
        assert rc == 0, 'serve exited %d: %s' % (rc, proc.stderr.read())
        proc = None
        print('ok')
        return 0
    finally:
        if proc:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


sys.exit(main())
