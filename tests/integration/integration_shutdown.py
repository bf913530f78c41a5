#!/usr/bin/env python3
"""Probe-now while `pinwatch serve` stops (issue 17, item 7): several threads
POST /api/v1/endpoints/{id}/probe in a loop over keep-alive connections while
the daemon gets SIGTERM, a bounded number of rounds. Each round must end with
exit status 0, nothing from the sanitizers in the log, and only the answers a
stopping daemon may give (202 queued, 503 while the scheduler stops, or the
connection closed); a probe-now that reaches a freed scheduler is a
heap-use-after-free under the ASan build, and its eventfd write to a closed
descriptor that a database connection has reused writes 8-byte counters into
the database file: `PRAGMA quick_check` after each round must say ok.

usage: integration_shutdown.py PINWATCH [ROUNDS]
"""
import http.client
import os
import signal
import sqlite3
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import pwtest  # noqa: E402
from pwtest import fail, free_port, wait_for  # noqa: E402

THREADS = 6
ENDPOINTS = 4
SANITIZER_MARKS = ('AddressSanitizer', 'LeakSanitizer', 'runtime error:', 'ThreadSanitizer')


def hammer(port, token, stop, seen, lock):
    """POST probe-now of endpoints 1..ENDPOINTS until @stop or the server goes
    away; counts every status in @seen (0: no answer)."""
    conn = None
    i = 0
    while True:
        if conn is None:
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
        path = '/api/v1/endpoints/%d/probe' % (i % ENDPOINTS + 1)
        i += 1
        try:
            conn.request('POST', path, headers={'Authorization': 'Bearer ' + token})
            r = conn.getresponse()
            r.read()
            st = r.status
            if r.getheader('Connection', '').lower() == 'close':
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            st = 0
            conn.close()
            conn = None
        with lock:
            seen[st] = seen.get(st, 0) + 1
        if st == 0 or stop.is_set():
            break
    if conn is not None:
        conn.close()


def one_round(pw, tmp, env, db, token, n):
    port = free_port()
    conf = os.path.join(tmp, 'pinwatch.conf')
    with open(conf, 'w') as f:
        f.write('[storage]\npath = %s\n[http]\nlisten = 127.0.0.1:%d\n' % (db, port))
    logpath = os.path.join(tmp, 'serve-%d.log' % n)
    d = pwtest.Daemon(pw, conf, env, logpath)
    base = 'http://127.0.0.1:%d' % port
    # the scheduler publishes itself after the HTTP server is up: 202 once it runs
    wait_for('probe-now answered 202 (round %d)' % n,
             lambda: pwtest.call(base, 'POST', '/api/v1/endpoints/1/probe', token)[0] == 202
             or (not d.alive() and fail('serve exited:\n' + d.text()[-3000:])))
    stop = threading.Event()
    seen, lock = {}, threading.Lock()
    threads = [threading.Thread(target=hammer, args=(port, token, stop, seen, lock))
               for _ in range(THREADS)]
    for t in threads:
        t.start()
    # let every thread get going, then stop the daemon under the load
    wait_for('probe-now calls under way', lambda: sum(seen.values()) >= 4 * THREADS)
    d.proc.send_signal(signal.SIGTERM)
    try:
        rc = d.proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        d.proc.kill()
        d.proc.wait()
        fail('round %d: serve did not stop within 120 s of SIGTERM' % n)
    stop.set()
    for t in threads:
        t.join(60)
    text = d.text()
    d.log.close()
    marks = [m for m in SANITIZER_MARKS if m in text]
    if rc != 0 or marks:
        fail('round %d: serve exited %d%s:\n%s' % (n, rc, ' (%s)' % ', '.join(marks)
                                                   if marks else '', text[-6000:]))
    c = sqlite3.connect('file:%s?mode=ro' % db, uri=True, timeout=30)
    try:
        check = [r[0] for r in c.execute('PRAGMA quick_check')]
    finally:
        c.close()
    if check != ['ok']:
        fail('round %d: the database is damaged after the stop: %s' % (n, check[:5]))
    odd = {st: c for st, c in seen.items() if st not in (0, 202, 503)}
    if odd:
        fail('round %d: answers other than 202, 503 or a closed connection: %s' % (n, odd))
    if not seen.get(202):
        fail('round %d: no probe-now was queued before the stop: %s' % (n, seen))
    return seen


def main():
    pw = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    with pwtest.scratch('pw-shutdown-') as tmp:
        db = os.path.join(tmp, 'pw.db')
        env = dict(os.environ, PINWATCH_DB=db)
        token = subprocess.run([pw, 'token', 'create', 'admin', '--role', 'admin'], env=env,
                               check=True, capture_output=True, text=True).stdout.strip()
        # nothing listens on port 1 of loopback: each probe fails at once
        for i in range(ENDPOINTS):
            subprocess.run([pw, 'endpoint', 'add', '127.0.0.%d:1' % (i + 1), '--interval', '1h'],
                           env=env, check=True, stdout=subprocess.DEVNULL)
        total = {}
        for n in range(rounds):
            for st, c in one_round(pw, tmp, env, db, token, n).items():
                total[st] = total.get(st, 0) + c
        print('%d rounds of SIGTERM under probe-now from %d threads: answers %s'
              % (rounds, THREADS, dict(sorted(total.items()))), flush=True)
    print('PASS', flush=True)


if __name__ == '__main__':
    main()
