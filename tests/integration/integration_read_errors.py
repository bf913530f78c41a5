#!/usr/bin/env python3
"""The API's read routes answer a database that fails in the middle of an
answer with an error, never with a shorter 200.

The seeded HTTP fixture server (tests/lib/http_fixture_server.c) serves a
database in a temporary directory. The test replaces one table at a time by
a view of the same name that raises an SQLite runtime error ("integer
overflow") on its second row, so that a read fails after it has produced
part of its answer, as a database failing mid-read does:
  * chain_certs: the observations of an endpoint (its chains have two or
    three certificates) and the certificates served now;
  * adoption, pin_policies, pins: an app with its versions.
Each route must answer 500 {"error": "database"} while the table is broken
and the same 200 as before once it is back.

Usage: integration_read_errors.py HTTP_FIXTURE_SERVER
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from pwtest import call, fail  # noqa: E402

# A column that fails from the second row on: abs(INT64_MIN) overflows.
BOOM = 'CASE WHEN rowid > (SELECT min(rowid) FROM {real}) THEN abs(-9223372036854775807 - 1) ' \
       'ELSE {col} END AS {col}'

# table -> the column to break
TABLES = {'chain_certs': 'cert_id', 'adoption': 'active_users', 'pin_policies': 'pattern',
          'pins': 'role'}


def steady(answer):
    """@answer without days_left: the fixture's certificates end a whole
    number of days from the seeding second, so the count drops by one as a
    second passes."""
    if isinstance(answer, dict):
        return {k: steady(v) for k, v in answer.items() if k != 'days_left'}
    if isinstance(answer, list):
        return [steady(v) for v in answer]
    return answer


def break_table(db, table):
    col, real = TABLES[table], table + '_real'
    c = sqlite3.connect(db, isolation_level=None)
    cols = [r[1] for r in c.execute('PRAGMA table_info(%s)' % table)]
    sel = ', '.join(BOOM.format(real=real, col=x) if x == col else x for x in cols)
    c.execute('PRAGMA legacy_alter_table = ON')  # keep references to the old name
    c.execute('ALTER TABLE %s RENAME TO %s' % (table, real))
    c.execute('CREATE VIEW %s AS SELECT %s FROM %s' % (table, sel, real))
    c.close()


def mend_table(db, table):
    c = sqlite3.connect(db, isolation_level=None)
    c.execute('PRAGMA legacy_alter_table = ON')
    c.execute('DROP VIEW %s' % table)
    c.execute('ALTER TABLE %s_real RENAME TO %s' % (table, table))
    c.close()


def main():
    server = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix='pinwatch-it-readerr-')
    srv = subprocess.Popen([server, tmp, '3', 'public'], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    try:
        info = {}
        while 'TOKEN' not in info:
            line = srv.stdout.readline()
            if not line:
                fail('the fixture server did not start')
            k, _, v = line.strip().partition(' ')
            info[k] = v
        base = 'http://127.0.0.1:%s' % info['PORT']
        db = os.path.join(tmp, 'db.sqlite')
        tok = info['TOKEN']
        ep, app = info['API_ENDPOINT'], info['APP']
        routes = {
            'chain_certs': ['/api/v1/endpoints/%s/observations' % ep,
                            '/api/v1/endpoints/%s/history' % ep, '/api/v1/certificates'],
            'adoption': ['/api/v1/apps/%s' % app],
            'pin_policies': ['/api/v1/apps/%s' % app],
            'pins': ['/api/v1/apps/%s' % app],
        }
        for table, paths in routes.items():
            before = {}
            for p in paths:
                st, body = call(base, 'GET', p, tok)
                if st != 200:
                    fail('%s: %d before breaking %s: %s' % (p, st, table, body[:300]))
                before[p] = steady(json.loads(body))
            # the seed must give the broken table a second row to fail on
            n = sqlite3.connect(db).execute('SELECT count(*) FROM %s' % table).fetchone()[0]
            if n < 2:
                fail('%s: the seed has %d rows, want 2 or more' % (table, n))
            break_table(db, table)
            for p in paths:
                st, body = call(base, 'GET', p, tok)
                err = json.loads(body).get('error') if body.startswith('{') else None
                if st != 500 or err != 'database':
                    fail('%s with %s failing mid-read: %d %s (want 500 database, never a '
                         'shorter 200)' % (p, table, st, body[:300]))
                print('ok: %s with %s failing mid-read: 500 database' % (p, table), flush=True)
            mend_table(db, table)
            for p in paths:
                st, body = call(base, 'GET', p, tok)
                if st != 200 or steady(json.loads(body)) != before[p]:
                    fail('%s: %d after mending %s, or a different answer:\n%s\nbefore:\n%s' %
                         (p, st, table, body[:2000], json.dumps(before[p])[:2000]))
            print('ok: %s mended, the same answers as before' % table, flush=True)
    finally:
        srv.stdin.close()
        srv.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    print('ok: integration.read_errors')


if __name__ == '__main__':
    main()
