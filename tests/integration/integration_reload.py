#!/usr/bin/env python3
"""SIGHUP under `pinwatch serve`: [probe]/[log] changes apply, [http] and
[storage] changes are named in one log line as waiting for a restart, and the
server keeps answering on the address it started with.

usage: integration_reload.py PINWATCH
"""
import os
import shutil
import signal
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from pwtest import Daemon, fail, free_port, wait_for  # noqa: E402


def healthz(base):
    try:
        with urllib.request.urlopen(base + '/healthz', timeout=10) as r:
            return r.status
    except Exception:  # noqa: BLE001 - any failure means "not answering"
        return 0


def main():
    pw = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix='pw-reload-')
    try:
        conf = os.path.join(tmp, 'pinwatch.conf')
        db = os.path.join(tmp, 'pw.db')
        port, other = free_port(), free_port()

        def write_conf(listen, public_read, concurrency):
            with open(conf, 'w') as f:
                f.write('[storage]\npath = %s\n[http]\nlisten = %s\npublic_read = %s\n'
                        '[probe]\nconcurrency = %d\n' % (db, listen, public_read, concurrency))

        write_conf('127.0.0.1:%d' % port, 'false', 8)
        env = dict(os.environ, PINWATCH_DB=db)
        d = Daemon(pw, conf, env, os.path.join(tmp, 'serve.log'), discover_port=True)
        base = d.base
        wait_for('healthz', lambda: healthz(base) in (200, 503))

        # Only [probe] changes: applied, and no restart line.
        write_conf('127.0.0.1:%d' % port, 'false', 16)
        d.proc.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        if 'restart' in d.text():
            fail('a [probe]-only reload asked for a restart:\n' + d.text()[-2000:])

        # [http] listen and public_read change: named, still serving the old port.
        write_conf('127.0.0.1:%d' % other, 'true', 16)
        d.proc.send_signal(signal.SIGHUP)
        line = wait_for('the restart-needed log line',
                        lambda: [ln for ln in d.text().splitlines()
                                 if 'SIGHUP' in ln and 'restart' in ln])
        if '[http] listen' not in line[0] or '[http] public_read' not in line[0]:
            fail('the log line does not name the changed keys: ' + line[0])
        if '[probe]' in line[0] or '[storage]' in line[0]:
            fail('the log line names keys that did not change: ' + line[0])
        if healthz(base) not in (200, 503):
            fail('the server stopped answering on its start-up address after SIGHUP')
        if not d.alive():
            fail('serve exited after SIGHUP')
        rc = d.stop()
        if rc != 0:
            fail('serve exited %s' % rc)
        print('ok: [http] changes on SIGHUP are logged as waiting for a restart')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
