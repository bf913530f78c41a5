#!/usr/bin/env python3
"""The layering rules of docs/HACKING.md, checked on the built library.

Reads the symbols of libpinwatch.a with nm and fails when
  * a folder uses a symbol defined in a folder it may not depend on;
  * the pure readiness core (daemon/readiness/ except its loading edge)
    references SQLite, libmicrohttpd, libcurl, sockets or any clock;
  * a file outside daemon/store/ calls SQLite (known debt excepted).

The exceptions below are today's debt (issue 17): they may only shrink. A new
dependency edge or a new file running SQL fails the test.

usage: check_layers.py NM LIBPINWATCH.a [DAEMON_DIR]
                                            check the library (and that the
                                            build's <folder>_uses agree)
       check_layers.py --self-test          show that violations are caught
"""
import os
import re
import subprocess
import tempfile
import sys

# What each folder may use, besides itself. 'generated' holds the embedded
# schema and web assets.
ALLOWED = {
    'base': set(),
    'model': {'base'},
    'pki': {'base', 'model'},
    'store': {'base', 'model', 'pki', 'generated'},
    'readiness': {'base', 'model'},
    'readiness-edge': {'base', 'model', 'pki', 'store', 'readiness'},
    'probe': {'base', 'model', 'pki', 'store'},
    'importers': {'base', 'model', 'pki', 'store', 'readiness'},
    'alerts': {'base', 'model', 'pki', 'store', 'readiness', 'readiness-edge'},
    'signals': {'base', 'model', 'pki', 'store', 'readiness', 'readiness-edge', 'alerts'},
    'http': {'base', 'model', 'pki', 'store', 'readiness', 'readiness-edge', 'probe',
             'importers', 'alerts', 'signals', 'generated'},
    'cli': {'base', 'model', 'pki', 'store', 'readiness', 'readiness-edge', 'probe',
            'importers', 'alerts', 'signals', 'http', 'demo', 'generated'},
    'demo': {'base', 'model', 'pki'},
    'generated': {'base', 'store', 'http'},
}
# The loading edge of the readiness module: it reads the store.
READINESS_EDGE = {'readiness_load.c', 'readiness_check.c', 'readiness_plan_db.c', 'readiness_gate.c'}

# Debt: edges and SQL that issue 17 removes. May only shrink.
KNOWN_EDGES = set()
KNOWN_SQL = set()

# What the pure core may never reference (prefix match or exact name).
CORE_FORBIDDEN_PREFIXES = ('sqlite3_', 'MHD_', 'curl_', 'db_', 'sd_')
CORE_FORBIDDEN = {
    'time', 'clock_gettime', 'gettimeofday', 'localtime', 'localtime_r', 'util_now',
    'util_mono_ms', 'socket', 'connect', 'bind', 'listen', 'accept', 'accept4', 'send',
    'recv', 'sendto', 'recvfrom', 'getaddrinfo', 'poll', 'epoll_wait', 'select',
}


def member_of(name):
    """'build/daemon/libpinwatch.a.p/readiness_readiness_eval.c.o' ->
    ('readiness', 'readiness/readiness_eval.c')."""
    base = name.rsplit('/', 1)[-1]
    if base.endswith('.o'):
        base = base[:-2]
    if base.startswith('meson-generated'):
        return 'generated', base
    folder, _, file = base.partition('_')
    if folder == 'readiness' and file in READINESS_EDGE:
        return 'readiness-edge', 'readiness/' + file
    return folder, folder + '/' + file


def parse_nm(text):
    """nm -A output -> (defined: symbol -> folder, undefined: [(folder, file, symbol)])."""
    defined, undefined = {}, []
    for line in text.splitlines():
        m = re.match(r'^(.*?):\s*(?:[0-9a-fA-F]+\s+)?([A-Za-z])\s+(\S+)$', line)
        if not m:
            continue
        loc, kind, sym = m.groups()
        member = loc.split(':')[-1] if ':' in loc else loc
        folder, file = member_of(member)
        if kind == 'U':
            undefined.append((folder, file, sym))
        elif kind in 'TDBRCV':
            defined[sym] = folder
    return defined, undefined


def check(text):
    defined, undefined = parse_nm(text)
    problems = set()
    for folder, file, sym in undefined:
        if sym.startswith('__'):
            continue  # compiler and sanitizer runtime
        if folder == 'readiness' and (sym.startswith(CORE_FORBIDDEN_PREFIXES) or
                                      sym in CORE_FORBIDDEN):
            problems.add('%s: the pure readiness core uses %s' % (file, sym))
        if sym.startswith('sqlite3_') and folder != 'store' and file not in KNOWN_SQL:
            problems.add('%s: runs SQL (%s) outside daemon/store/' % (file, sym))
        dep = defined.get(sym)
        if dep is None or dep == folder:
            continue
        if folder == 'readiness-edge' and dep == 'readiness':
            continue
        if dep not in ALLOWED.get(folder, set()) and (folder, dep) not in KNOWN_EDGES:
            problems.add('%s: uses %s from daemon/%s/, which %s may not depend on' %
                         (file, sym, dep.replace('-edge', ''), folder))
    return sorted(problems)


def self_test():
    """Synthetic nm output: a clock read in the core, SQL in http/ (a new file,
    and http.c, which ran SQL until issue 17), SQL in signals/ and an upward
    dependency must each be reported; the clean lines must not."""
    text = '\n'.join([
        'lib.a:readiness_readiness_eval.c.o:                 U time',
        'lib.a:http_api_new.c.o:                             U sqlite3_prepare_v2',
        'lib.a:http_http.c.o:                                U sqlite3_get_autocommit',
        'lib.a:signals_candidates.c.o:                       U sqlite3_step',
        'lib.a:store_candidates.c.o:                         U sqlite3_step',
        'lib.a:base_util.c.o:                                U api_route',
        'lib.a:http_api.c.o:0000000000000010 T api_route',
        'lib.a:readiness_readiness.c.o:                      U util_pin_b64',
        'lib.a:base_util.c.o:0000000000000020 T util_pin_b64',
        'lib.a:store_db.c.o:                                 U sqlite3_open_v2',
        'lib.a:readiness_readiness_load.c.o:                 U db_stmt',
        'lib.a:store_db.c.o:0000000000000030 T db_stmt',
    ])
    got = check(text)
    want = [
        'base/util.c: uses api_route from daemon/http/, which base may not depend on',
        'http/api_new.c: runs SQL (sqlite3_prepare_v2) outside daemon/store/',
        'http/http.c: runs SQL (sqlite3_get_autocommit) outside daemon/store/',
        'readiness/readiness_eval.c: the pure readiness core uses time',
        'signals/candidates.c: runs SQL (sqlite3_step) outside daemon/store/',
    ]
    if got != want:
        print('FAIL: self-test\n got: %s\nwant: %s' % (got, want))
        return 1
    # The build's lists: agreeing ones pass; a folder that links one more fails.
    with tempfile.TemporaryDirectory() as d:
        for folder, allowed in ALLOWED.items():
            if folder in ('generated', 'readiness-edge'):
                continue
            os.mkdir(os.path.join(d, folder))
            text = '%s_uses = [%s]\n' % (folder, ', '.join(
                "'%s'" % u.replace('-', '_') for u in sorted(allowed - {'generated'})))
            if folder == 'readiness':
                text += "readiness_edge_uses = [%s]\nreadiness_edge_sources = files(%s)\n" % (
                    ', '.join("'%s'" % u.replace('-', '_')
                              for u in sorted(ALLOWED['readiness-edge'])),
                    ', '.join("'%s'" % f for f in sorted(READINESS_EDGE)))
            with open(os.path.join(d, folder, 'meson.build'), 'w') as f:
                f.write(text)
        if build_rules(d):
            print('FAIL: self-test: agreeing build lists reported: %s' % build_rules(d))
            return 1
        with open(os.path.join(d, 'http', 'meson.build'), 'a') as f:
            f.write("http_uses = ['base', 'cli']\n")
        if len(build_rules(d)) != 1:
            print('FAIL: self-test: a build list that disagrees was not reported')
            return 1
    print('ok: the checker reports a clock read in the core, SQL outside the store (in '
          'http/ and signals/), an upward dependency, and build lists that disagree')
    return 0


def build_rules(daemon):
    """Differences between the rules here and the build's: each folder's
    <folder>_uses list in daemon/<folder>/meson.build (what its library links)
    and readiness_edge_sources. One set of rules, stated twice, must agree."""
    uses, edge = {}, set()
    for folder in sorted(os.listdir(daemon)):
        path = os.path.join(daemon, folder, 'meson.build')
        if not os.path.isfile(path):
            continue
        with open(path) as f:
            text = f.read()
        for name, body in re.findall(r'^(\w+)_uses = \[(.*?)\]', text, re.S | re.M):
            uses[name.replace('_', '-')] = set(
                u.replace('_', '-') for u in re.findall(r"'(\w+)'", body))
        m = re.search(r'^readiness_edge_sources = files\((.*?)\)', text, re.S | re.M)
        if m:
            edge = set(re.findall(r"'([\w.]+)'", m.group(1)))
    problems = []
    for folder in sorted(set(ALLOWED) | set(uses)):
        if folder == 'generated':
            continue
        want = ALLOWED.get(folder, set()) - {'generated'}
        if uses.get(folder) != want:
            problems.append('%s: meson lists %s, check_layers.py allows %s' % (
                folder, sorted(uses.get(folder, [])) if folder in uses else 'nothing',
                sorted(want)))
    if edge != READINESS_EDGE:
        problems.append('readiness_edge_sources %s != READINESS_EDGE %s' % (
            sorted(edge), sorted(READINESS_EDGE)))
    return problems


def main():
    if sys.argv[1:] == ['--self-test']:
        return self_test()
    nm, lib = sys.argv[1], sys.argv[2]
    out = subprocess.run([nm, '-A', lib], capture_output=True, text=True, check=True).stdout
    problems = check(out)
    if len(sys.argv) > 3:
        problems += build_rules(sys.argv[3])
    for p in problems:
        print('layering: ' + p)
    if problems:
        print('FAIL: %d layering violation(s); see docs/HACKING.md' % len(problems))
        return 1
    print('ok: every folder uses only the folders below it, the build links the same rules '
          '(known debt: %d edges, %d files with SQL outside the store)'
          % (len(KNOWN_EDGES), len(KNOWN_SQL)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
