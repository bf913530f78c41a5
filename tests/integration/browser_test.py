#!/usr/bin/env python3
"""Browser test: every dashboard page of a seeded instance in headless Chromium,
driven through chromedriver (WebDriver) with the Python standard library only.

usage: browser_test.py FIXTURE_SERVER OUTDIR
Exit 77 (skip) when chromium or chromedriver is absent.
"""
import base64
import calendar
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

XSS = '<img src=x onerror=alert(1)>'
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-dev-shm-usage', '--window-size=1280,1000']


def find(*names):
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class WebDriver:
    def __init__(self, port):
        self.base = 'http://127.0.0.1:%d' % port
        self.sid = None

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read() or b'{}').get('value')
        except urllib.error.HTTPError as e:
            payload = json.loads(e.read() or b'{}').get('value', {})
            raise RuntimeError('%s %s: %s' % (method, path, payload.get('error', e.code))) from None

    def s(self, method, path, body=None):
        return self.call(method, '/session/%s%s' % (self.sid, path), body)

    def start(self, chromium, userdir):
        caps = {'capabilities': {'alwaysMatch': {
            'browserName': 'chrome', 'unhandledPromptBehavior': 'ignore',
            'goog:loggingPrefs': {'browser': 'ALL'},
            'goog:chromeOptions': {'binary': chromium, 'args': FLAGS + ['--user-data-dir=' + userdir]}}}}
        v = self.call('POST', '/session', caps)
        self.sid = v['sessionId']

    def alert_open(self):
        try:
            self.s('GET', '/alert/text')
            return True
        except RuntimeError as e:
            if 'no such alert' in str(e):
                return False
            raise

    def js(self, script, *args):
        return self.s('POST', '/execute/sync', {'script': script, 'args': list(args)})

    def go(self, url):
        self.s('POST', '/url', {'url': url})
        # pages fill #main asynchronously; wait until the loading line is gone
        for _ in range(100):
            if self.alert_open():
                return
            if self.js("return document.getElementById('loading') === null && "
                       "document.readyState === 'complete'"):
                time.sleep(0.3)
                return
            time.sleep(0.1)
        raise RuntimeError('page did not finish loading: ' + url)

    def console(self):
        """Browser console entries since the last call (chromedriver's log endpoint)."""
        try:
            return self.s('POST', '/se/log', {'type': 'browser'}) or []
        except RuntimeError:
            return None

    def screenshot(self, path):
        png = base64.b64decode(self.s('GET', '/screenshot'))
        with open(path, 'wb') as f:
            f.write(png)


def post_report(base, tmp):
    """A TrustKit Android pin-failure report for api.example.test."""
    d = os.path.join(tmp, 'report-cert')
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'tmpl'), 'w') as f:
        f.write('cn = "%s"\ndns_name = "api.example.test"\nexpiration_days = 30\n' % XSS)
    subprocess.run(['certtool', '--generate-privkey', '--key-type', 'ecdsa', '--outfile',
                    os.path.join(d, 'key')], check=True, capture_output=True)
    subprocess.run(['certtool', '--generate-self-signed', '--load-privkey', os.path.join(d, 'key'),
                    '--template', os.path.join(d, 'tmpl'), '--outfile', os.path.join(d, 'cert')],
                   check=True, capture_output=True)
    pem = open(os.path.join(d, 'cert')).read()
    body = {'app-bundle-id': 'com.example.shop', 'app-version': '4.1.0', 'app-platform': 'ANDROID',
            'trustkit-version': '1.1.5', 'hostname': 'api.example.test', 'port': 0,
            'noted-hostname': 'api.example.test', 'include-subdomains': False, 'enforce-pinning': True,
            'validation-result': 1, 'date-time': time.strftime('%Y-%m-%dT%H:%M:%S+0000', time.gmtime()),
            'served-certificate-chain': [pem], 'validated-certificate-chain': [pem],
            'known-pins': ['pin-sha256="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="']}
    req = urllib.request.Request(base + '/api/v1/reports', data=json.dumps(body).encode(), method='POST',
                                 headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=10) as r:
        if r.status != 202:
            raise RuntimeError('report not accepted: %d' % r.status)


def expected_timeline(history, interval_s):
    """What the endpoint timeline must show, from the API's history: each
    period's state, the chain changes per address (old and new leaf pin) and
    the number of real gaps (a silence longer than three probe intervals)."""
    def t(iso):
        return calendar.timegm(time.strptime(iso, '%Y-%m-%dT%H:%M:%SZ'))
    states, changes, gaps, joined = {}, [], {}, 0
    for o in history:
        rd = o.get('readiness')
        states[o['id']] = 'stranded' if rd and rd['stranded'] else 'failing' if o['outcome'] != 'ok' else 'ok'
    for addr in sorted({o['address'] for o in history}):
        rows = sorted((o for o in history if o['address'] == addr), key=lambda o: (t(o['first_seen']), o['id']))
        prev = None
        gaps[addr] = 0
        for a, b in zip(rows, rows[1:]):
            silence = t(b['first_seen']) - t(a['last_seen'])
            if silence > 3 * interval_s:
                gaps[addr] += 1
            elif silence > 0:
                joined += 1
        for o in rows:
            chain = [c['sha256'] for c in o.get('presented_chain') or []]
            if not chain:
                continue
            if prev and prev[0] != chain:
                changes.append((addr, prev[1], o['presented_chain'][0]['pin']))
            prev = (chain, o['presented_chain'][0]['pin'])
    return states, changes, gaps, joined


def timeline_checks(wd, check, want, suffix, outdir):
    """The endpoint page's timeline against expected_timeline()."""
    states, changes, gaps, joined = want
    bars = wd.js("return Array.from(document.querySelectorAll('#timeline rect.period')).map(r => {"
                 "const b = r.getBoundingClientRect();"
                 "return {id: +r.dataset.id, state: r.dataset.state, addr: r.dataset.address,"
                 "fill: getComputedStyle(r).fill, x: b.left, w: b.width}; })")
    problems = sorted(i for i, st in states.items() if st != 'ok')
    check(problems and sorted(b['id'] for b in bars if b['state'] != 'ok') == problems,
          'timeline%s: every stranded or failing period drawn %r' % (suffix, problems))
    check(bars and all(states.get(b['id']) == b['state'] for b in bars),
          'timeline%s: every period drawn in the state of its readiness and outcome %r' %
          (suffix, [(b['id'], b['state'], states.get(b['id'])) for b in bars]))
    stranded = [b for b in bars if b['state'] == 'stranded']
    check(stranded and all(b['fill'] == 'rgb(176, 0, 32)' for b in stranded),
          'timeline%s: stranded periods drawn in the stranded colour %r' % (suffix, [b['fill'] for b in stranded]))
    check(any(b['state'] == 'ok' and b['fill'] != 'rgb(176, 0, 32)' for b in bars),
          'timeline%s: a period that strands nobody is not red' % suffix)
    check(all(b['w'] >= 3 - 0.05 for b in bars),
          'timeline%s: no period narrower than 3 px %r' % (suffix, sorted(round(b['w'], 2) for b in bars)[:3]))
    drawn = {}
    for addr in gaps:
        mine = sorted((b for b in bars if b['addr'] == addr), key=lambda b: b['x'])
        drawn[addr] = sum(1 for a, b in zip(mine, mine[1:]) if b['x'] - (a['x'] + a['w']) > 1)
    check(joined >= 1 and sum(gaps.values()) >= 1 and drawn == gaps,
          'timeline%s: probe cadence joined (%d short silences), real gaps shown %r, want %r' %
          (suffix, joined, drawn, gaps))
    marks = wd.js("return Array.from(document.querySelectorAll('#timeline g.chain-change')).map(g => "
                  "[g.dataset.address, g.querySelector('title').textContent, g.getBoundingClientRect().width])")
    check(changes and len(marks) == len(changes) and
          all(any(m[0] == a and 'sha256/' + old in m[1] and 'sha256/' + new in m[1] and m[2] > 0 for m in marks)
              for a, old, new in changes),
          'timeline%s: a chain-change marker naming old and new leaf key per change %r' % (suffix, marks))
    legend = wd.js("const l = document.getElementById('timeline-legend');"
                   "return l ? Array.from(l.querySelectorAll('.swatch')).map(s => s.className) : []")
    check(all(any(c in x for x in legend) for c in ('tl-stranded', 'tl-failing', 'tl-ok', 'tl-change')),
          'timeline%s: legend %r' % (suffix, legend))
    right = wd.js("return Math.max(...['timeline', 'timeline-legend'].map(i => "
                  "document.getElementById(i).getBoundingClientRect().right)) - document.documentElement.clientWidth")
    check(right <= 0, 'timeline%s: within the page width (%s px over)' % (suffix, right))
    wd.js("document.getElementById('timeline').scrollIntoView()")
    time.sleep(0.2)
    wd.screenshot(os.path.join(outdir, 'browser-timeline%s.png' % suffix))


def dump_dom_checks(server, outdir, chromium):
    """Without chromedriver: --dump-dom and --screenshot of each page of a
    public-read instance (no token entry, no dialog detection)."""
    print('chromedriver not installed: DOM dump checks only')
    os.makedirs(outdir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='pinwatch-browser-')
    failures = []
    srv = subprocess.Popen([server, tmp, '3', 'public'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        info = {}
        while 'TOKEN' not in info:
            k, _, v = srv.stdout.readline().strip().partition(' ')
            info[k] = v
        base = 'http://127.0.0.1:%s' % info['PORT']
        pages = [('overview', '/', True), ('endpoint', '/endpoint?id=' + info['API_ENDPOINT'], True),
                 ('endpoint-xss', '/endpoint?id=' + info['XSS_ENDPOINT'], False),
                 ('app', '/app?id=' + info['APP'], False), ('expiry', '/expiry', False),
                 ('audit', '/audit', False)]
        for name, path, strands in pages:
            args = [chromium] + FLAGS + ['--user-data-dir=' + os.path.join(tmp, 'p-' + name),
                                         '--virtual-time-budget=10000']
            dom = subprocess.run(args + ['--dump-dom', base + path], capture_output=True, text=True,
                                 timeout=120).stdout
            subprocess.run(args + ['--screenshot=' + os.path.join(outdir, 'browser-%s.png' % name), base + path],
                           capture_output=True, timeout=120)
            ok = '<img' not in dom and 'class="error"' not in dom and 'Loading' not in dom
            print(('ok   ' if ok else 'FAIL ') + '%s: rendered, no <img> element, no error' % name)
            if not ok:
                failures.append(name)
            if strands:
                ok = 'id="stranding-warning"' in dom
                print(('ok   ' if ok else 'FAIL ') + '%s: stranding warning present' % name)
                if not ok:
                    failures.append(name + ' warning')
            if name == 'endpoint-xss':
                ok = '&lt;img src=x onerror=alert(1)' in dom
                print(('ok   ' if ok else 'FAIL ') + 'hostile subject shown as text')
                if not ok:
                    failures.append('xss text')
    finally:
        srv.stdin.close()
        srv.terminate()
        srv.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


def main():
    server, outdir = sys.argv[1], sys.argv[2]
    chromium = find('chromium', 'chromium-browser', 'google-chrome')
    driver = find('chromedriver')
    if not chromium:
        print('SKIP: chromium not installed')
        return 77
    if not driver:
        return dump_dom_checks(server, outdir, chromium)
    os.makedirs(outdir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='pinwatch-browser-')
    procs = []
    failures = []
    wd = None

    def check(cond, what):
        print(('ok   ' if cond else 'FAIL ') + what)
        if not cond:
            failures.append(what)

    try:
        srv = subprocess.Popen([server, os.path.join(tmp), '3', 'private'], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
        procs.append(srv)
        info = {}
        while 'TOKEN' not in info:
            line = srv.stdout.readline()
            if not line:
                raise RuntimeError('fixture server exited')
            k, _, v = line.strip().partition(' ')
            info[k] = v
        base = 'http://127.0.0.1:%s' % info['PORT']

        def api_status(path):
            req = urllib.request.Request(base + path, headers={'Authorization': 'Bearer ' + info['TOKEN']})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code

        dport = free_port()
        procs.append(subprocess.Popen([driver, '--port=%d' % dport], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        wd = WebDriver(dport)
        for _ in range(100):
            try:
                wd.call('GET', '/status')
                break
            except Exception:
                time.sleep(0.1)
        wd.start(chromium, os.path.join(tmp, 'profile'))

        # without a token the dashboard says so instead of showing data
        wd.go(base + '/')
        check('needs a token' in wd.js("return document.body.innerText"), 'overview without token asks for one')
        wd.js("sessionStorage.setItem('pinwatch.token', arguments[0])", info['TOKEN'])
        wd.console()  # drop the 401s of the token-less load

        # signals: a pin-failure report whose served leaf has a hostile subject
        # (generated now with certtool; POST /api/v1/reports needs no token)
        post_report(base, tmp)

        pages = [('overview', '/'), ('endpoint', '/endpoint?id=' + info['API_ENDPOINT']),
                 ('endpoint-xss', '/endpoint?id=' + info['XSS_ENDPOINT']),
                 ('app', '/app?id=' + info['APP']), ('expiry', '/expiry'), ('audit', '/audit'),
                 ('signals', '/signals'), ('alerts', '/alerts'), ('plans', '/plans'),
                 ('plan', '/plan?id=' + info['PLAN']), ('app-by-name', '/app?name=shop-android')]
        readiness = api_status('/api/v1/readiness') == 200

        def api_json(path):
            req = urllib.request.Request(base + path, headers={'Authorization': 'Bearer ' + info['TOKEN']})
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read())
        ep_path = '/api/v1/endpoints/' + info['API_ENDPOINT']
        want_tl = expected_timeline(api_json(ep_path + '/history?limit=500')['items'],
                                    api_json(ep_path)['interval_s'])
        for name, path in pages:
            for width, suffix in ((1366, ''), (390, '-phone')):
                wd.s('POST', '/window/rect', {'width': width, 'height': 1000})
                wd.go(base + path)
                check(not wd.alert_open(), '%s%s: no alert dialog' % (name, suffix))
                wd.screenshot(os.path.join(outdir, 'browser-%s%s.png' % (name, suffix)))
                errors = wd.js("return Array.from(document.querySelectorAll('.error')).map(e => e.textContent)")
                check(not errors, '%s%s: no error shown %s' % (name, suffix, errors or ''))
                logs = wd.console()
                if logs is not None:
                    bad = [e.get('message', '') for e in logs
                           if 'Content Security Policy' in e.get('message', '') or 'Uncaught' in e.get('message', '')]
                    check(not bad, '%s%s: no script error or CSP violation %s' % (name, suffix, bad[:2]))
                check(wd.js("return document.querySelectorAll('img').length") == 0,
                      '%s%s: no <img> element created from data' % (name, suffix))
                overflow = wd.js("return document.documentElement.scrollWidth - window.innerWidth")
                check(overflow <= 2, '%s%s: no horizontal page overflow (%s px)' % (name, suffix, overflow))
                if name == 'endpoint':
                    timeline_checks(wd, check, want_tl, suffix, outdir)
            if name in ('overview', 'endpoint'):
                if readiness:
                    shown = wd.js("const w = document.getElementById('stranding-warning');"
                                  "return !!w && w.offsetHeight > 0 && /strand/i.test(w.textContent)")
                    check(shown, '%s: stranding warning visible' % name)
                else:
                    print('SKIP %s: stranding warning needs /api/v1/readiness, not on this build' % name)

        wd.go(base + '/endpoint?id=' + info['XSS_ENDPOINT'])
        subjects = wd.js("return Array.from(document.querySelectorAll('td.subject')).map(e => e.textContent)")
        check(any(XSS.replace('<', '').replace('>', '') in s.replace('\\', '').replace('<', '').replace('>', '')
                  and '<img' in s for s in subjects),
              'hostile subject rendered as literal text: %r' % subjects[:1])
        # the what-if form with a chain that pins nothing of today's: both versions stranded
        openssl = find('openssl')
        if openssl:
            cert = os.path.join(tmp, 'cand.pem')
            subprocess.run([openssl, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                            '-nodes', '-subj', '/CN=api.example.test', '-keyout', os.path.join(tmp, 'cand.key'),
                            '-out', cert, '-days', '30'], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            pem = open(cert).read()
            wd.go(base + '/endpoint?id=' + info['API_ENDPOINT'])
            wd.js("document.querySelector('form.whatif textarea').value = arguments[0];"
                  "document.querySelector('form.whatif button').click()", pem)
            text = ''
            for _ in range(100):
                text = wd.js("return document.getElementById('whatif-result').innerText")
                if text:
                    break
                time.sleep(0.1)
            check('would strand users' in text and '100.0%' in text, 'what-if form shows the stranded share: %r' % text[:200])
            wd.screenshot(os.path.join(outdir, 'browser-whatif.png'))
        else:
            print('SKIP what-if form: openssl not installed')

        wd.go(base + '/expiry')
        subjects = wd.js("return Array.from(document.querySelectorAll('#certs td.subject')).map(e => e.textContent)")
        check(any('<img' in s for s in subjects), 'expiry: hostile subject shown as text')
        check(not wd.alert_open(), 'expiry: no alert dialog')
        # sorted and coloured by the [alerts] expiry_days the server reports
        req = urllib.request.Request(base + '/api/v1/status',
                                     headers={'Authorization': 'Bearer ' + info['TOKEN']})
        with urllib.request.urlopen(req, timeout=10) as r:
            th = json.loads(r.read())['expiry_days']
        check(th == [30, 14, 7, 2], 'status: expiry_days %r' % th)

        def level(d):  # base/expiry.h expiry_level()
            if d > th[0]:
                return None
            crit = 2 if len(th) >= 3 else len(th) - 1
            return 'critical' if d <= th[crit] else 'warning' if len(th) >= 2 and d <= th[1] else 'info'
        rank = {'critical': 0, 'warning': 1, 'info': 2, None: 3}
        cells = wd.js("return Array.from(document.querySelectorAll('#certs tbody tr'))"
                      ".map(r => [r.children[3].textContent, r.children[3].className])")
        levels = []
        for text, cls in cells:
            lv = level(int(text))
            levels.append(lv)
            check(('exp-' + lv in cls) if lv else 'exp-' not in cls,
                  'expiry: %s days coloured %r, want level %s' % (text, cls, lv))
        check(any(lv == 'critical' for lv in levels) and any(lv == 'info' for lv in levels),
              'expiry: the fixture has critical and info certificates %r' % cells)
        check([rank[lv] for lv in levels] == sorted(rank[lv] for lv in levels),
              'expiry: sorted by level %r' % levels)
        check('30, 14, 7, 2' in wd.js("return document.getElementById('expiry-thresholds').textContent"),
              'expiry: thresholds shown')
        wd.go(base + '/signals')
        cells = wd.js("return Array.from(document.querySelectorAll('#clusters td.subject')).map(e => e.textContent)")
        check(any('<img' in c for c in cells), 'signals: hostile report subject shown as text %r' % cells[:1])
        check(wd.js("return document.querySelectorAll('#clusters svg.spark rect').length") >= 1,
              'signals: reports-per-day bars drawn')
        check(not wd.alert_open(), 'signals: no alert dialog')
        wd.go(base + '/app?id=' + info['APP'])
        check(wd.js("return document.querySelectorAll('svg.chart polyline').length") >= 2,
              'app: adoption chart drawn')
        # the app page shows the engine's verdicts, the same figures as the API
        for _ in range(50):
            if wd.js("return document.querySelectorAll('#app-verdicts tbody tr').length"):
                break
            time.sleep(0.1)
        cells = wd.js("return Array.from(document.querySelectorAll('#app-verdicts tbody tr')).map(r => r.innerText)")
        req = urllib.request.Request(base + '/api/v1/readiness', headers={'Authorization': 'Bearer ' + info['TOKEN']})
        with urllib.request.urlopen(req, timeout=10) as r:
            rd = json.loads(r.read())
        want = ['%.1f%%' % (100 * a['key_rotation']['stranded_share']) for e in rd['items'] for a in e.get('apps', [])
                if a['app'] == 'shop-android']
        check(want and cells and all(any(w in c for c in cells) for w in want),
              'app: key-rotation shares are the engine\'s %r in %r' % (want, cells))
        # the plan page: seven steps with evidence, the hostile note as text
        wd.go(base + '/plan?id=' + info['PLAN'])
        for _ in range(100):
            if wd.js("return document.querySelectorAll('#steps > li').length") == 7:
                break
            time.sleep(0.1)
        check(wd.js("return document.querySelectorAll('#steps > li').length") == 7, 'plan: seven steps')
        check('<img' in wd.js("return document.body.innerText"), 'plan: hostile note shown as text')
        wd.go(base + '/plans')
        time.sleep(0.5)
        check(wd.js("return document.querySelectorAll('#plans tbody tr').length") >= 1, 'plans: the plan is listed')
        wd.go(base + '/')
        time.sleep(1.0)
        check(wd.js("return document.querySelectorAll('#overview-plans tbody tr').length") >= 1,
              'overview: open plans shown')
        # pages that cannot be shown say so in words, never with a raw script error
        for bad in ('/app?name=no-such-app', '/app', '/plan?id=abc', '/plan?id=999999'):
            wd.go(base + bad)
            time.sleep(0.5)
            text = wd.js("return document.body.innerText")
            check('TypeError' not in text and wd.js("return document.querySelectorAll('.error').length") == 1,
                  '%s: one error sentence, no TypeError (%r)' % (bad, text[-120:]))
        # live refresh: the overview picks up a new endpoint without a reload
        wd.go(base + '/?refresh=1')
        time.sleep(1.0)
        stamp = wd.js("return (document.getElementById('as-of') || {}).textContent || ''")
        check(stamp.startswith('data from '), 'overview says when its data is from: %r' % stamp)
        req = urllib.request.Request(base + '/api/v1/endpoints', method='POST',
                                     data=json.dumps({'host': 'live.example.test'}).encode(),
                                     headers={'Authorization': 'Bearer ' + info['WTOKEN'],
                                              'Content-Type': 'application/json'})
        with urllib.request.urlopen(req, timeout=10) as r:
            check(r.status == 201, 'a new endpoint was created for the live check')
        seen = False
        for _ in range(100):
            if 'live.example.test' in wd.js("return document.getElementById('main').innerText"):
                seen = True
                break
            time.sleep(0.1)
        check(seen, 'overview shows a new endpoint without a reload')
        check(wd.js("return document.querySelectorAll('nav.top').length") == 1, 'one header after refreshes')
        # favicons are served
        check(api_status('/favicon.svg') == 200 and api_status('/favicon.ico') == 200, 'favicons served')
    finally:
        # close the browser through its driver first: killing chromedriver alone
        # can leave Chromium running
        if wd is not None and wd.sid:
            try:
                wd.s('DELETE', '')
            except Exception:
                pass
        for p in procs:
            if p.stdin:
                p.stdin.close()
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print('%d check(s) failed' % len(failures))
        return 1
    print('screenshots in %s' % outdir)
    return 0


sys.exit(main())
