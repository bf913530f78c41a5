#!/usr/bin/env python3
"""Size rules of docs/HACKING.md, checked on the sources under daemon/.

Fails when a C file has more than 800 lines or a function more than 120
(from the line after its opening brace to its closing brace). The code is
clang-formatted, so a function body opens with "{" and closes with "}" alone
at the start of a line.

KNOWN lists today's debt (issue 17): it may only shrink. A new oversized file
or function fails, and so does an entry that is no longer needed (remove it).

usage: check_sizes.py DAEMON_DIR     check the tree
       check_sizes.py --self-test    show that violations are caught
"""
import os
import re
import sys

MAX_FILE_LINES = 800
MAX_FUNC_LINES = 120

# 'path' (an oversized file) or 'path:function' (an oversized function).
KNOWN = {
    'probe/scheduler.c',
}

NAME = re.compile(r'([A-Za-z_]\w*)\s*\(')


def functions(text):
    """[(name, body lines, first line)] of the top-level functions in @text."""
    lines = text.split('\n')
    out = []
    start = None
    name = '?'
    for i, line in enumerate(lines):
        if line == '{' and start is None:
            # the signature: the lines above, up to a blank line or another item
            # (continuation lines are indented; the first starts at column 0)
            sig = ''
            j = i - 1
            while j >= 0 and j > i - 10 and lines[j]:
                sig = lines[j] + ' ' + sig
                if not lines[j][0].isspace():
                    break
                j -= 1
            m = NAME.search(sig)
            name = m.group(1) if m else '?'
            start = i
        elif line == '}' and start is not None:
            out.append((name, i - start - 1, start + 1))
            start = None
    return out


def violations(files):
    """{key: message} for @files, a {relative path: text} map."""
    found = {}
    for path, text in sorted(files.items()):
        n = text.count('\n')
        if n > MAX_FILE_LINES:
            found[path] = '%s: %d lines (at most %d)' % (path, n, MAX_FILE_LINES)
        for name, body, line in functions(text):
            if body > MAX_FUNC_LINES:
                found['%s:%s' % (path, name)] = '%s:%d: %s() has %d lines (at most %d)' % (
                    path, line, name, body, MAX_FUNC_LINES)
    return found


def check(found, known):
    """Error lines: new violations, and known entries that no longer apply."""
    errors = ['%s: split it' % msg for key, msg in sorted(found.items()) if key not in known]
    errors += ['%s is within the limits now: remove it from KNOWN in %s' % (key, __file__)
               for key in sorted(known - set(found))]
    return errors


def self_test():
    small = 'int f(void)\n{\n' + '\tx();\n' * MAX_FUNC_LINES + '}\n'
    big = 'static int\ng(int a,\n  int b)\n{\n' + '\tx();\n' * (MAX_FUNC_LINES + 1) + '}\n'
    cases = [
        ({'a/ok.c': small}, set(), []),
        ({'a/f.c': big}, set(), ['a/f.c:g']),
        ({'a/f.c': big}, {'a/f.c:g'}, []),
        ({'a/f.c': small}, {'a/f.c:g'}, ['stale a/f.c:g']),
        ({'a/long.c': '\n' * (MAX_FILE_LINES + 1)}, set(), ['a/long.c']),
        ({'a/long.c': '\n' * MAX_FILE_LINES}, set(), []),
    ]
    for files, known, want in cases:
        errors = check(violations(files), known)
        got = []
        for e in errors:
            m = re.match(r'(\S+?):(\d+: )?(\w+)?', e)
            if 'remove it from KNOWN' in e:
                got.append('stale ' + e.split(' ')[0])
            elif e.startswith(tuple(files)) and '()' in e:
                got.append('%s:%s' % (e.split(':')[0], re.search(r'(\w+)\(\)', e).group(1)))
            else:
                got.append(m.group(1))
        if got != want:
            print('FAIL: self-test %r\n got: %s\nwant: %s' % (sorted(files), got, want))
            return 1
    print('self-test: oversized files and functions, and stale entries, are caught')
    return 0


def main():
    if sys.argv[1:] == ['--self-test']:
        return self_test()
    root = sys.argv[1]
    files = {}
    for d, _, names in os.walk(root):
        for n in names:
            if n.endswith('.c'):
                p = os.path.join(d, n)
                with open(p, encoding='utf-8', errors='replace') as f:
                    files[os.path.relpath(p, root)] = f.read()
    errors = check(violations(files), KNOWN)
    for e in errors:
        print('FAIL: ' + e)
    if errors:
        return 1
    print('%d files: none over %d lines, no function over %d (%d known exceptions)'
          % (len(files), MAX_FILE_LINES, MAX_FUNC_LINES, len(KNOWN)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
