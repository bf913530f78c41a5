#!/usr/bin/env python3
"""Disk full and read-only database under `pinwatch serve` (issue 8).

The database lives on a small tmpfs mounted for the test (needs root; the
test is skipped, exit 77, when the mount is refused). With the daemon
probing a loopback TLS farm and answering HTTP:

  1. the file system is filled: API writes fail with a JSON 5xx (never a
     2xx that is not stored), the log names the cause, reads
     (/api/v1/status, /api/v1/readiness, /api/v1/endpoints) keep answering
     200, the daemon keeps running through failed sweep commits;
     space comes back: writes succeed again and sweeps are stored again;
  2. the file system is remounted read-only with the daemon stopped: a CLI
     write refuses with a clear error (exit 3, "read-only"); read-write
     again, serve takes writes. (serve on a read-only database, at start and
     while running, is integration_readonly.py.)

usage: integration_diskfull.py PINWATCH TLSSERVER
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import pwtest  # noqa: E402
from pwtest import Daemon, call, fail, free_port, probes_stored, wait_for  # noqa: E402


def reads_ok(base, token, phase):
    for path in ('/api/v1/status', '/api/v1/readiness', '/api/v1/endpoints', '/healthz'):
        st, body = call(base, 'GET', path, token)
        if path == '/healthz':
            continue  # may say 503 (no sweep committed lately); it must answer
        if st != 200:
            fail('%s: GET %s answered %d: %s' % (phase, path, st, body[:300]))
        json.loads(body)


def write_until_refused(base, token, prefix, limit=3000):
    """POST endpoints until the daemon refuses one; returns (status, body, acked)."""
    acked = []
    for i in range(limit):
        host = '%s%d.test' % (prefix, i)
        st, body = call(base, 'POST', '/api/v1/endpoints', token,
                        {'host': host, 'port': 1, 'interval': '10s',
                         'owner': 'x' * 120, 'tags': ['t%d' % j for j in range(20)]})
        if 200 <= st < 300:
            acked.append(host)
            continue
        return st, body, acked
    fail('%s: %d writes accepted, none refused' % (prefix, limit))


def check_refusal(phase, st, body):
    if st < 500:
        fail('%s: refused write answered %d (want a 5xx): %s' % (phase, st, body[:300]))
    try:
        err = json.loads(body)
    except ValueError:
        fail('%s: error body is not JSON: %r' % (phase, body[:300]))
    if 'error' not in err or 'detail' not in err:
        fail('%s: error body lacks error/detail: %r' % (phase, err))
    print('%s: write refused with %d %s (%s)' % (phase, st, err['error'], err['detail']), flush=True)


def check_acked_present(db, hosts):
    c = sqlite3.connect(db, timeout=30)
    try:
        if c.execute('PRAGMA integrity_check').fetchall() != [('ok',)]:
            fail('integrity_check failed')
        for h in hosts:
            if not c.execute('SELECT 1 FROM endpoints WHERE host = ?', (h,)).fetchone():
                fail('acknowledged endpoint %s is missing' % h)
    finally:
        c.close()


def main():
    pw, tlsserver = sys.argv[1], sys.argv[2]
    mounted = pwtest.mount_tmpfs('pinwatch-diskfull-', '3m')
    if not mounted:
        return 77
    tmp, mnt = mounted
    db = os.path.join(mnt, 'db.sqlite')
    filler = os.path.join(mnt, 'filler')
    ca = os.path.join(tmp, 'ca.pem')
    env = dict(os.environ, PINWATCH_DB=db)
    farm = daemon = None
    try:
        farm = subprocess.Popen([tlsserver, '--count', '8', '--ca-out', ca],
                                stdout=subprocess.PIPE, text=True)
        farm_port = int(farm.stdout.readline().split()[1])
        hosts = os.path.join(tmp, 'hosts')
        with open(hosts, 'w') as f:
            f.writelines('127.0.0.1 ep%d.test\n' % i for i in range(8))
        env['PINWATCH_HOSTS_FILE'] = hosts
        token = subprocess.run([pw, 'token', 'create', 'df', '--role', 'write'], env=env,
                               check=True, capture_output=True, text=True).stdout.strip()
        for i in range(8):
            subprocess.run([pw, 'endpoint', 'add', 'ep%d.test:%d' % (i, farm_port), '--interval',
                            '10s'], env=env, check=True, stdout=subprocess.DEVNULL)
        port = free_port()
        base = 'http://127.0.0.1:%d' % port
        conf = os.path.join(tmp, 'pinwatch.conf')
        with open(conf, 'w') as f:
            f.write('[storage]\npath = %s\n[http]\nlisten = 127.0.0.1:%d\n'
                    '[probe]\ninterval = 10s\ntimeout_ms = 2000\nca_file = %s\n' % (db, port, ca))
        daemon = Daemon(pw, conf, env, os.path.join(tmp, 'serve.log'))
        wait_for('HTTP', lambda: call(base, 'GET', '/api/v1/status', token)[0] == 200)
        # the first sweep is spread over a minute; probe-now needs a write token
        for i in range(8):
            call(base, 'POST', '/api/v1/endpoints/%d/probe' % (i + 1), token)
        wait_for('probes stored', lambda: probes_stored(db) >= 8)
        st, body = call(base, 'POST', '/api/v1/endpoints', token,
                        {'host': 'before.test', 'port': 1, 'interval': '10s'})
        if st != 201:
            fail('write before the disk filled: %d %s' % (st, body[:300]))
        acked = ['before.test']

        # ---- 1. disk full ----
        with open(filler, 'wb') as f:
            try:
                while True:
                    f.write(b'\0' * 65536)
                    f.flush()
            except OSError:
                pass
        st, body, more = write_until_refused(base, token, 'full')
        acked += more
        check_refusal('disk full', st, body)
        reads_ok(base, token, 'disk full')
        # probes go on while nothing can be stored: sweeps fail, the daemon stays
        for i in range(8):
            call(base, 'POST', '/api/v1/endpoints/%d/probe' % (i + 1), token)
        time.sleep(4)
        if not daemon.alive():
            fail('daemon exited with the disk full:\n' + daemon.text()[-3000:])
        reads_ok(base, token, 'disk full, after failed sweeps')
        log = daemon.text()
        if 'full' not in log.lower():
            fail('the log does not say the disk is full:\n' + log[-3000:])
        os.unlink(filler)
        n0 = probes_stored(db)
        wait_for('a write after space returned', lambda: call(
            base, 'POST', '/api/v1/endpoints', token,
            {'host': 'after-full.test', 'port': 1, 'interval': '10s'})[0] == 201, timeout=30)
        acked.append('after-full.test')
        for i in range(8):
            call(base, 'POST', '/api/v1/endpoints/%d/probe' % (i + 1), token)
        wait_for('sweeps stored after space returned', lambda: probes_stored(db) > n0, timeout=30)
        print('disk full: reads kept answering, writes and sweeps recovered', flush=True)

        # ---- 2. read-only file system ----
        # A file system cannot be remounted read-only under a process that has
        # files open for writing (EBUSY), so the daemon is stopped and the
        # file system remounted read-only: a CLI write refuses with a clear
        # error (exit 3) and changes nothing; back to read-write, serve starts
        # and takes writes again. (serve itself on a read-only database:
        # integration_readonly.py.)
        rc = daemon.stop()
        if rc != 0:
            fail('serve exited %d after SIGTERM:\n%s' % (rc, daemon.text()[-3000:]))
        daemon = None
        r = subprocess.run(['mount', '-o', 'remount,ro', mnt], capture_output=True, text=True)
        if r.returncode != 0:
            fail('remount ro: ' + r.stderr)
        try:
            r = subprocess.run([pw, 'endpoint', 'add', 'ro.test:1'], env=env, capture_output=True,
                               text=True)
            if r.returncode != 3 or 'read-only' not in r.stderr:
                fail('endpoint add on a read-only file system: exit %d, %r' %
                     (r.returncode, r.stderr[-500:]))
        finally:
            subprocess.run(['mount', '-o', 'remount,rw', mnt], check=True)
        daemon = Daemon(pw, conf, env, os.path.join(tmp, 'serve2.log'))
        wait_for('a write after read-write returned', lambda: call(
            base, 'POST', '/api/v1/endpoints', token,
            {'host': 'after-ro.test', 'port': 1, 'interval': '10s'})[0] == 201, timeout=30)
        acked.append('after-ro.test')
        reads_ok(base, token, 'read-write again')
        print('read-only: clear CLI refusal, then back to normal', flush=True)

        rc = daemon.stop()
        if rc != 0:
            fail('serve exited %d after SIGTERM:\n%s' % (rc, daemon.text()[-3000:]))
        daemon = None
        check_acked_present(db, acked)
        r = subprocess.run([pw, 'audit', 'verify'], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            fail('audit verify exited %d: %s' % (r.returncode, r.stdout + r.stderr))
        print('ok (%d acknowledged writes present, audit chain verifies)' % len(acked))
        return 0
    except SystemExit:
        if daemon:
            print('--- serve log (tail) ---\n' + daemon.text()[-4000:])
        raise
    finally:
        if daemon:
            daemon.stop()
        if farm:
            farm.terminate()
            farm.wait()
        subprocess.run(['umount', '-l', mnt])
        shutil.rmtree(tmp, ignore_errors=True)


sys.exit(main())
