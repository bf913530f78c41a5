#!/usr/bin/env python3
"""Read-only database under `pinwatch serve` (issue 8).

The database lives on a tmpfs mounted for the test (needs root; skipped,
exit 77, when the mount is refused). The daemon probes a loopback TLS farm
and listens on 127.0.0.1:0 (the port is read from its log).

  1. read-only at start: the file system is remounted read-only while the
     daemon is stopped (after a clean stop there is no -wal/-shm), then serve
     starts on it: it stays up, logs one error naming the file, answers read
     routes (stored endpoints and observations) and the dashboard with 200,
     write routes with a JSON 503 that says read-only, /healthz "degraded";
     the file system is remounted read-write under it: without a restart a
     write succeeds and new observations are stored.
  2. read-only while running: Linux refuses to remount a file system
     read-only while a process has a file on it open for writing (EBUSY), so
     the daemon runs under erofs_shim.so (LD_PRELOAD) which answers EROFS, as
     the kernel does on a read-only mount, for every write to that file
     system while a flag file exists. Same checks; the error is logged once
     however many writes fail; writable again, it recovers by itself.

Then: `PRAGMA integrity_check` is ok, every acknowledged write is present,
the audit chain verifies.

usage: integration_readonly.py PINWATCH TLSSERVER ERFOS_SHIM
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
from pwtest import call, fail, probes_stored, wait_for  # noqa: E402

RO_LINE = 'is read-only ('



def probe_all(d, token, n):
    return [call(d.base, 'POST', '/api/v1/endpoints/%d/probe' % (i + 1), token)[0]
            for i in range(n)]


def check_reads(d, token, phase, hosts):
    """Read routes answer 200 with the stored data; the dashboard is served."""
    st, body = call(d.base, 'GET', '/api/v1/endpoints?limit=1000', token)
    if st != 200:
        fail('%s: GET /api/v1/endpoints answered %d: %s' % (phase, st, body[:300]))
    listed = {e['host'] for e in json.loads(body)['items']}
    missing = [h for h in hosts if h not in listed]
    if missing:
        fail('%s: stored endpoints missing from the list: %s' % (phase, missing))
    st, body = call(d.base, 'GET', '/api/v1/endpoints/1/observations', token)
    if st != 200 or not json.loads(body)['items']:
        fail('%s: GET observations answered %d: %s' % (phase, st, body[:300]))
    for path in ('/api/v1/status', '/api/v1/readiness', '/api/v1/apps', '/api/v1/audit',
                 '/metrics'):
        st, body = call(d.base, 'GET', path, token)
        if st != 200:
            fail('%s: GET %s answered %d: %s' % (phase, path, st, body[:300]))
    st, body = call(d.base, 'GET', '/', token)
    if st != 200 or '<html' not in body.lower():
        fail('%s: the dashboard answered %d: %s' % (phase, st, body[:200]))


def check_refused(d, token, phase, db):
    st, body = call(d.base, 'POST', '/api/v1/endpoints', token,
                    {'host': 'refused.test', 'port': 1, 'interval': '10s'})
    try:
        err = json.loads(body)
    except ValueError:
        fail('%s: error body is not JSON: %r' % (phase, body[:300]))
    if st != 503 or err.get('error') != 'unavailable' or 'read-only' not in err.get(
            'detail', '') or db not in err.get('detail', ''):
        fail('%s: write answered %d %r (want 503 unavailable naming %s and read-only)' %
             (phase, st, err, db))
    print('%s: write refused: 503 %s' % (phase, err['detail']), flush=True)
    st, body = call(d.base, 'GET', '/healthz', token)
    h = json.loads(body)
    if st != 503 or h.get('status') != 'degraded' or h.get('database_writable') is not False \
            or 'read-only' not in h.get('database_error', ''):
        fail('%s: /healthz answered %d %r (want 503 degraded)' % (phase, st, h))


def check_recovered(d, token, phase, db, acked, nep):
    host = 'after%d.test' % len(acked)
    wait_for('%s: a write after the database became writable' % phase, lambda: call(
        d.base, 'POST', '/api/v1/endpoints', token,
        {'host': host, 'port': 1, 'interval': '10s'})[0] == 201, timeout=60)
    acked.append(host)
    n0 = probes_stored(db)

    def stored():
        probe_all(d, token, nep)
        return wait_for_quick(lambda: probes_stored(db) > n0)
    wait_for('%s: new observations stored' % phase, stored, timeout=60)
    st, body = call(d.base, 'GET', '/healthz', token)
    h = json.loads(body)
    if h.get('database_writable') is not True or h.get('status') == 'degraded':
        fail('%s: /healthz after recovery: %d %r' % (phase, st, h))
    if 'writable again' not in d.text():
        fail('%s: the log does not say the database is writable again:\n%s' %
             (phase, d.text()[-3000:]))
    print('%s: recovered without a restart (%d probes stored now)' % (phase, probes_stored(db)),
          flush=True)


def wait_for_quick(fn, timeout=3):
    end = time.time() + timeout * pwtest.slow()
    while time.time() < end:
        if fn():
            return True
        time.sleep(0.2)
    return False


def check_log_once(d, phase, db):
    log = d.text()
    lines = [l for l in log.splitlines() if RO_LINE in l]
    if len(lines) != 1 or db not in lines[0]:
        fail('%s: want exactly one read-only error naming %s, got %d:\n%s' %
             (phase, db, len(lines), log[-3000:]))
    noisy = [l for l in log.splitlines()
             if ('error:' in l or 'warning:' in l) and RO_LINE not in l]
    if noisy:
        fail('%s: log flood while read-only:\n%s' % (phase, '\n'.join(noisy[:20])))
    print('%s: logged once: %s' % (phase, lines[0]), flush=True)


def main():
    pw, tlsserver, shim = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
    mounted = pwtest.mount_tmpfs('pinwatch-readonly-', '16m')
    if not mounted:
        return 77
    tmp, mnt = mounted
    db = os.path.join(mnt, 'db.sqlite')
    ca = os.path.join(tmp, 'ca.pem')
    env = dict(os.environ, PINWATCH_DB=db)
    nep = 4
    farm = daemon = None
    remounted_ro = False
    try:
        farm = subprocess.Popen([tlsserver, '--count', str(nep), '--ca-out', ca],
                                stdout=subprocess.PIPE, text=True)
        farm_port = int(farm.stdout.readline().split()[1])
        hosts = os.path.join(tmp, 'hosts')
        with open(hosts, 'w') as f:
            f.writelines('127.0.0.1 ep%d.test\n' % i for i in range(nep))
        env['PINWATCH_HOSTS_FILE'] = hosts
        token = subprocess.run([pw, 'token', 'create', 'ro', '--role', 'write'], env=env,
                               check=True, capture_output=True, text=True).stdout.strip()
        stored_hosts = []
        for i in range(nep):
            subprocess.run([pw, 'endpoint', 'add', 'ep%d.test:%d' % (i, farm_port),
                            '--interval', '10s'], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            stored_hosts.append('ep%d.test' % i)
        conf = os.path.join(tmp, 'pinwatch.conf')
        with open(conf, 'w') as f:
            f.write('[storage]\npath = %s\n[http]\nlisten = 127.0.0.1:0\n'
                    '[probe]\ninterval = 10s\ntimeout_ms = 2000\nca_file = %s\n' % (db, ca))

        # ---- 0. normal operation: data to read later ----
        daemon = pwtest.Daemon(pw, conf, env, os.path.join(tmp, 'serve0.log'), discover_port=True)
        probe_all(daemon, token, nep)
        wait_for('probes stored', lambda: probes_stored(db) >= nep)
        st, body = call(daemon.base, 'POST', '/api/v1/endpoints', token,
                        {'host': 'before.test', 'port': 1, 'interval': '10s'})
        if st != 201:
            fail('write before read-only: %d %s' % (st, body[:300]))
        acked = ['before.test']
        stored_hosts.append('before.test')
        if daemon.stop() != 0:
            fail('serve exited non-zero after SIGTERM:\n' + daemon.text()[-3000:])
        daemon = None
        # No -wal/-shm after a clean stop: on the read-only mount SQLite can
        # open it only with immutable=1 (the path under test in case 1).
        left = sorted(n for n in os.listdir(mnt) if n.startswith('db.sqlite-'))
        if left:
            fail('files left after a clean stop: %s' % left)

        # ---- 1. read-only at start ----
        r = subprocess.run(['mount', '-o', 'remount,ro', mnt], capture_output=True, text=True)
        if r.returncode != 0:
            fail('remount ro: ' + r.stderr)
        remounted_ro = True
        daemon = pwtest.Daemon(pw, conf, env, os.path.join(tmp, 'serve1.log'), discover_port=True)
        phase = 'read-only at start'
        check_reads(daemon, token, phase, stored_hosts)
        check_refused(daemon, token, phase, db)
        codes = probe_all(daemon, token, nep)
        if any(c != 503 for c in codes):
            fail('%s: probe-now answered %r (want 503: results cannot be stored)' % (phase, codes))
        time.sleep(12)  # more than one retry period: still one log line, still up
        if not daemon.alive():
            fail('%s: daemon exited:\n%s' % (phase, daemon.text()[-3000:]))
        check_reads(daemon, token, phase, stored_hosts)
        check_refused(daemon, token, phase, db)
        check_log_once(daemon, phase, db)
        r = subprocess.run(['mount', '-o', 'remount,rw', mnt], capture_output=True, text=True)
        if r.returncode != 0:
            fail('remount rw under the daemon: ' + r.stderr)
        remounted_ro = False
        check_recovered(daemon, token, phase, db, acked, nep)
        stored_hosts.append(acked[-1])
        check_reads(daemon, token, phase + ', recovered', stored_hosts)
        if daemon.stop() != 0:
            fail('serve exited non-zero after SIGTERM:\n' + daemon.text()[-3000:])
        daemon = None

        # ---- 2. read-only while running ----
        flag = os.path.join(tmp, 'erofs.flag')
        env2 = dict(env, LD_PRELOAD=shim, PINWATCH_TEST_EROFS_DIR=mnt,
                    PINWATCH_TEST_EROFS_FLAG=flag)
        # an ASan build must accept a preloaded library ahead of its runtime
        env2['ASAN_OPTIONS'] = ':'.join(
            x for x in (os.environ.get('ASAN_OPTIONS', ''), 'verify_asan_link_order=0') if x)
        daemon = pwtest.Daemon(pw, conf, env2, os.path.join(tmp, 'serve2.log'), discover_port=True)
        phase = 'read-only while running'
        n0 = probes_stored(db)
        probe_all(daemon, token, nep)
        wait_for('probes stored before the flag', lambda: probes_stored(db) > n0)
        st, body = call(daemon.base, 'POST', '/api/v1/endpoints', token,
                        {'host': 'before2.test', 'port': 1, 'interval': '10s'})
        if st != 201:
            fail('%s: write before the flag: %d %s' % (phase, st, body[:300]))
        acked.append('before2.test')
        stored_hosts.append('before2.test')
        open(flag, 'w').close()
        check_refused(daemon, token, phase, db)
        for i in range(5):
            st, body = call(daemon.base, 'PUT', '/api/v1/endpoints/1', token, {'owner': 'x%d' % i})
            if st != 503:
                fail('%s: PUT answered %d: %s' % (phase, st, body[:300]))
        n_ro = probes_stored(db)
        time.sleep(12)  # due probes run and cannot be stored; a retry fails quietly
        if not daemon.alive():
            fail('%s: daemon exited:\n%s' % (phase, daemon.text()[-3000:]))
        if probes_stored(db) != n_ro:
            fail('%s: observations changed while writes fail' % phase)
        check_reads(daemon, token, phase, stored_hosts)
        check_refused(daemon, token, phase, db)
        check_log_once(daemon, phase, db)
        os.unlink(flag)
        check_recovered(daemon, token, phase, db, acked, nep)
        stored_hosts.append(acked[-1])
        check_reads(daemon, token, phase + ', recovered', stored_hosts)
        print('%s: %s' % (phase, [l for l in daemon.text().splitlines()
                                  if 'writable again' in l][0]), flush=True)
        if daemon.stop() != 0:
            fail('serve exited non-zero after SIGTERM:\n' + daemon.text()[-3000:])
        daemon = None

        c = sqlite3.connect(db, timeout=30)
        try:
            if c.execute('PRAGMA integrity_check').fetchall() != [('ok',)]:
                fail('integrity_check failed')
            for h in acked:
                if not c.execute('SELECT 1 FROM endpoints WHERE host = ?', (h,)).fetchone():
                    fail('acknowledged endpoint %s is missing' % h)
            if c.execute("SELECT 1 FROM endpoints WHERE host = 'refused.test'").fetchone():
                fail('a refused write was stored')
        finally:
            c.close()
        r = subprocess.run([pw, 'audit', 'verify'], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            fail('audit verify exited %d: %s' % (r.returncode, r.stdout + r.stderr))
        print('ok (%d acknowledged writes present, integrity ok, audit chain verifies)' %
              len(acked))
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
        if remounted_ro:
            subprocess.run(['mount', '-o', 'remount,rw', mnt])
        subprocess.run(['umount', '-l', mnt])
        shutil.rmtree(tmp, ignore_errors=True)


sys.exit(main())
