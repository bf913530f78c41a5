"""Helpers shared by the Python integration tests that run `pinwatch serve`:
failing, HTTP calls with a bearer token, waiting, a daemon under test, and
reading the observation count from the database."""
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def fail(msg):
    print('FAIL: ' + msg, flush=True)
    raise SystemExit(1)


def call(base, method, path, token=None, body=None, timeout=15):
    """(status, body text); status 0 when nothing answered (the request may
    or may not have been carried out). No Authorization header without
    a token."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {'Authorization': 'Bearer ' + token} if token else {}
    if data is not None:
        headers['Content-Type'] = 'application/json'
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError, OSError) as e:
        return 0, str(e)


@contextlib.contextmanager
def scratch(prefix):
    """A fresh temporary directory for a test's databases and logs: removed
    when the block ends, kept (and its path printed) when it fails."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        yield tmp
    except BaseException:
        print('logs kept in ' + tmp, flush=True)
        raise
    shutil.rmtree(tmp, ignore_errors=True)


def slow():
    """The build's slowness factor (PINWATCH_TEST_SLOW, set to 4 by
    tests/meson.build under sanitizers; 1 when unset or invalid). Tests assert
    outcomes; a bound on time that is itself under test is scaled by it."""
    try:
        k = int(os.environ.get('PINWATCH_TEST_SLOW', '1'))
    except ValueError:
        return 1
    return k if 1 <= k <= 100 else 1


def wait_for(what, fn, timeout=60):
    """Poll fn until it returns something true (returned); fail after
    timeout seconds, scaled by slow()."""
    end = time.time() + timeout * slow()
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    fail('timed out waiting for ' + what)


class Daemon:
    """`pinwatch serve -c CONF` with its output in LOGPATH. With
    discover_port, waits for the "http: listening" line ([http] listen =
    127.0.0.1:0) and sets self.base."""

    def __init__(self, pw, conf, env, logpath, discover_port=False):
        self.logpath = logpath
        self.log = open(logpath, 'w')
        self.proc = subprocess.Popen([pw, 'serve', '-c', conf], env=env, stdout=self.log,
                                     stderr=self.log)
        if discover_port:
            m = wait_for('the HTTP port in the log', self.port_line, timeout=60)
            self.base = 'http://127.0.0.1:%s' % m.group(1)

    def port_line(self):
        if not self.alive():
            fail('serve exited %s:\n%s' % (self.proc.returncode, self.text()[-3000:]))
        return re.search(r'http: listening on \S+ \(port (\d+)\)', self.text())

    def alive(self):
        return self.proc.poll() is None

    def text(self):
        self.log.flush()
        with open(self.logpath) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def db_value(db, sql):
    """The first column of the first row of @sql on @db (read-only connection)."""
    c = sqlite3.connect('file:%s?mode=ro' % db, uri=True, timeout=30)
    try:
        return c.execute(sql).fetchone()[0]
    finally:
        c.close()


def probes_stored(db):
    """Probes recorded in @db's observations."""
    return db_value(db, 'SELECT coalesce(sum(probe_count), 0) FROM observations')


def mount_tmpfs(prefix, size):
    """(tmp, mnt): a fresh temporary directory with a tmpfs of @size
    ("3m") mounted on tmp/mnt, or None when no tmpfs can be mounted here
    (not root): the caller then skips (exit 77)."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    mnt = os.path.join(tmp, 'mnt')
    os.mkdir(mnt)
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s,mode=0700' % size, 'tmpfs', mnt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print('SKIP: cannot mount a tmpfs (%s)' % r.stderr.strip())
        shutil.rmtree(tmp, ignore_errors=True)
        return None
    return tmp, mnt


class Checks:
    """A scratch folder with its own database for a test that runs the
    pinwatch binary: sh() runs a command in its environment, expect() counts
    failures, path() names a file in the folder."""

    def __init__(self, prefix, **env):
        import os
        import tempfile
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.db = os.path.join(self.tmp, 'pw.db')
        self.env = dict(os.environ, PINWATCH_DB=self.db, **env)
        self.fails = []

    def sh(self, args, check=True, stdin=None):
        r = subprocess.run(args, capture_output=True, text=True, env=self.env, input=stdin)
        if check and r.returncode != 0:
            raise SystemExit('command failed: %s\n%s%s' % (' '.join(args), r.stdout, r.stderr))
        return r

    def expect(self, cond, what, detail=''):
        if cond:
            print('ok: ' + what)
        else:
            print('FAIL: ' + what + ('\n  ' + str(detail) if detail else ''))
            self.fails.append(what)

    def path(self, name):
        import os
        return os.path.join(self.tmp, name)

    def sign(self, name, tmpl, ca=None, keyname=None):
        """certtool: NAME.pem from the key KEYNAME.key (default NAME.key) and
        the template TMPL.tmpl, self-signed or issued by CA.pem / CA.key."""
        args = ['certtool', '--load-privkey', self.path((keyname or name) + '.key'),
                '--template', self.path(tmpl + '.tmpl'), '--outfile', self.path(name + '.pem')]
        if ca:
            args[1:1] = ['--generate-certificate', '--load-ca-certificate',
                         self.path(ca + '.pem'), '--load-ca-privkey', self.path(ca + '.key')]
        else:
            args[1:1] = ['--generate-self-signed']
        self.sh(args)

    def pin_of_key(self, name):
        """The SPKI pin (base64) of NAME.key."""
        import base64
        hexpin = self.sh(['certtool', '--key-id', '--hash=sha256', '--load-privkey',
                          self.path(name + '.key')]).stdout.strip()
        return base64.b64encode(bytes.fromhex(hexpin)).decode()
