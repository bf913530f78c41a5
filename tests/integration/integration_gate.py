#!/usr/bin/env python3
"""The renewal gate end to end: `pinwatch whatif` and `pinwatch candidate add`
check a candidate chain as every TLS client does before pins, and compare
pins against the path a client builds from the leaf.

Certificates are generated at test time with certtool (which writes subject
and authority key identifiers, as public CAs do). The inventory is imported
with `pinwatch import`; CA certificates pinwatch "observed" are inserted into
the certificates table as the probe store writes them. The trust anchors
are the config's [probe] ca_file.

Checks: expired, not-yet-valid, wrong-name and untrusted candidates strand
every user (stranded share 1, a reason naming the failure, exit 1) whatever
--max-stranded says; a typo host is exit 2 "not an inventoried endpoint"
(unless --any-host); a CA re-keyed under the same name completes an
old-hierarchy candidate with the old root and a new one with the new root;
a certificate on no path from the leaf does not make a candidate safe; the
observed CA pool respects --at; --chain - reads standard input;
--max-stranded takes 1%; without --port the output names the endpoint's
port; pins alone are reported as unchecked; candidate add applies the same
checks; the README's CI snippet tells the gate's verdict from its errors.

Usage: integration_gate.py PINWATCH README.md
"""
import base64
import datetime
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

PW = sys.argv[1]
README = sys.argv[2] if len(sys.argv) > 2 else None
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from pwtest import Checks  # noqa: E402

CHECKS = Checks("pinwatch-it-gate-")
TMP, DB, ENV, FAILS = CHECKS.tmp, CHECKS.db, CHECKS.env, CHECKS.fails
sh, expect, path = CHECKS.sh, CHECKS.expect, CHECKS.path
NOW = int(time.time())








def day(offset):
    return datetime.datetime.fromtimestamp(NOW + offset * 86400, datetime.timezone.utc)


def certtool_date(offset):
    return day(offset).strftime("%Y-%m-%d %H:%M:%S")


def iso(offset):
    return day(offset).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- certificates -------------------------------------------------------
def key(name):
    sh(["certtool", "--generate-privkey", "--key-type", "ecdsa", "--outfile", path(name + ".key")])


def cert(name, cn, ca=None, keyname=None, is_ca=False, dns=None, nb=-30, na=300):
    tmpl = 'cn = "%s"\nactivation_date = "%s"\nexpiration_date = "%s"\n' % (
        cn, certtool_date(nb), certtool_date(na))
    if is_ca:
        tmpl += "ca\ncert_signing_key\n"
    else:
        tmpl += "tls_www_server\nsigning_key\n"
        for d in dns or []:
            tmpl += 'dns_name = "%s"\n' % d
    with open(path(name + ".tmpl"), "w") as f:
        f.write(tmpl)
    CHECKS.sign(name, name, ca, keyname)


pin_of_key = CHECKS.pin_of_key


def cat(out, *names):
    with open(path(out), "w") as f:
        for n in names:
            with open(path(n + ".pem")) as g:
                f.write(g.read())
    return path(out)


for k in ["oldroot", "newroot", "oldinter", "newinter", "leaf", "leafnew", "stray", "otherroot"]:
    key(k)
# "Gate Root" re-keyed: the same name, a new key, a later expiry.
cert("oldroot", "Gate Root", is_ca=True, nb=-400, na=2000)
cert("newroot", "Gate Root", is_ca=True, nb=-10, na=3000)
cert("oldinter", "Gate Issuing CA", ca="oldroot", is_ca=True, nb=-300, na=1500)
cert("newinter", "Gate Issuing CA", ca="newroot", keyname="newinter", is_ca=True, nb=-10,
     na=2500)
cert("stray", "Stray CA", is_ca=True)             # an app pins it; on no path of these leaves
cert("otherroot", "Untrusted Root", is_ca=True)
API = ["api.gate.test"]
cert("ok_old", "api.gate.test", ca="oldinter", keyname="leaf", dns=API)
cert("ok_new", "api.gate.test", ca="newinter", keyname="leafnew", dns=API)
cert("expired", "api.gate.test", ca="oldinter", keyname="leaf", dns=API, nb=-100, na=-1)
cert("future", "api.gate.test", ca="oldinter", keyname="leaf", dns=API, nb=5, na=300)
cert("wrongname", "www.gate.test", ca="oldinter", keyname="leaf", dns=["www.gate.test"])
cert("untrusted", "api.gate.test", ca="otherroot", keyname="leaf", dns=API)

P_OLDROOT, P_NEWROOT, P_STRAY, P_LEAF = (pin_of_key(k) for k in
                                          ["oldroot", "newroot", "stray", "leaf"])

CFG = path("pinwatch.conf")
cat("anchors.pem", "oldroot", "newroot")
with open(CFG, "w") as f:
    f.write("[probe]\nca_file = %s\n" % path("anchors.pem"))

# ---- inventory ----------------------------------------------------------
# shop: 1.0 (40%) pins the old root; 2.0 (59.5%) pins the new root and the
# stray CA; 3.0 (0.5%) pins the old hierarchy's leaf key only.
def version(v, share, pins):
    return {"version": v, "released": "2026-05-01",
            "adoption": [{"at": day(-20).strftime("%Y-%m-%d"), "share": share}],
            "pin_policies": [{"pattern": "api.gate.test", "enforce": True,
                              "pins": [{"sha256": p, "role": "current"} for p in pins]}]}


inventory = {
    "endpoints": [{"host": "api.gate.test", "port": 8443, "environment": "production"}],
    "apps": [{"name": "shop", "platform": "android", "adoption_threshold": 0.9,
              "versions": [version("1.0", 0.4, [P_OLDROOT]),
                           version("2.0", 0.595, [P_NEWROOT, P_STRAY]),
                           version("3.0", 0.005, [P_LEAF])]}],
}
with open(path("inventory.json"), "w") as f:
    json.dump(inventory, f)
sh([PW, "import", path("inventory.json")])


# ---- CA certificates pinwatch observed ----------------------------------
def observe_ca(name, keyname, first_seen):
    der = subprocess.run(["certtool", "-i", "--infile", path(name + ".pem"), "--outder"],
                         capture_output=True, check=True).stdout
    con = sqlite3.connect(DB)
    con.execute(
        "INSERT INTO certificates (sha256, der, subject, issuer, serial, not_before, not_after,"
        " key_type, key_bits, spki_sha256, is_ca, first_seen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (hashlib.sha256(der).digest(), der, "CN=" + name, "CN=?", "01", NOW - 400 * 86400,
         NOW + 3000 * 86400, "ECDSA", 256, base64.b64decode(pin_of_key(keyname)), 1,
         first_seen))
    con.commit()
    con.close()


observe_ca("newroot", "newroot", NOW - 10 * 86400)
observe_ca("oldroot", "oldroot", NOW - 400 * 86400)
observe_ca("newinter", "newinter", NOW - 10 * 86400)
observe_ca("oldinter", "oldinter", NOW - 10 * 86400)


def whatif(*args, stdin=None):
    r = sh([PW, "whatif", "-c", CFG, *args], check=False, stdin=stdin)
    try:
        j = json.loads(r.stdout) if "--json" in args else None
    except ValueError:
        j = None
    return r.returncode, j, r


def share(j):
    a = (j or {}).get("apps") or [{}]
    return a[0].get("stranded_share", -1)


def close(a, b):
    return abs(a - b) < 1e-9


def ck(j):
    return (j or {}).get("checks") or {}


def failed(j):
    return ck(j).get("failed") or []


H = ["--host", "api.gate.test"]

# ---- a candidate every client accepts -----------------------------------
rc, j, r = whatif(*H, "--chain", cat("c_ok.pem", "ok_old", "oldinter"), "--json")
expect(rc == 1 and j and ck(j).get("ok") and close(share(j), 0.595),
       "old hierarchy: checks pass; 2.0 (new root, stray CA) stranded", r.stdout + r.stderr)
expect(j and j.get("port") == 8443, "without --port the output names the endpoint's port 8443")
expect(j and [c.get("pin") for c in j["candidate"]][-1] == P_OLDROOT,
       "old-hierarchy candidate completed with the OLD root (same name as the new one)")
rc, j, r = whatif(*H, "--chain", cat("c_new.pem", "ok_new", "newinter"), "--json")
expect(rc == 1 and j and ck(j).get("ok") and close(share(j), 0.405)
       and [c.get("pin") for c in j["candidate"]][-1] == P_NEWROOT,
       "new-hierarchy candidate completed with the NEW root: 1.0 (old root), 3.0 stranded",
       r.stdout + r.stderr)

# Defect 4: the stray CA in the PEM is on no path from the leaf.
rc, j, r = whatif(*H, "--chain", cat("c_stray.pem", "ok_old", "oldinter", "stray"), "--json")
expect(rc == 1 and close(share(j), 0.595) and len(ck(j).get("not_on_path") or []) == 1,
       "a certificate on no path from the leaf does not count (2.0 still stranded)",
       r.stdout + r.stderr)
rc, _, r = whatif(*H, "--chain", path("c_stray.pem"))
expect("Not on any path" in r.stdout, "the table names the ignored certificate", r.stdout)

# ---- what every client checks first -------------------------------------
for name, want in [("expired", "expired"), ("future", "not_yet_valid"),
                   ("wrongname", "hostname"), ("untrusted", "untrusted")]:
    chain = [name, "otherroot"] if name == "untrusted" else [name, "oldinter"]
    rc, j, r = whatif(*H, "--chain", cat("c_%s.pem" % name, *chain), "--max-stranded", "1",
                      "--json")
    reasons = " ".join((j or {}).get("apps", [{}])[0].get("reasons", []))
    expect(rc == 1 and want in failed(j) and close(share(j), 1.0)
           and "fails a check every TLS client makes" in reasons,
           "%s candidate: stranded share 1, reason, exit 1 even with --max-stranded 1" % name,
           "rc %d %s %s" % (rc, failed(j), r.stderr))
    rc, _, r = whatif(*H, "--chain", path("c_%s.pem" % name))
    expect(rc == 1 and "Checks: FAILED" in r.stdout, "%s candidate: the table says why" % name)
# the same expired chain at a date it was valid passes the checks
rc, j, _ = whatif(*H, "--chain", path("c_expired.pem"), "--at", iso(-50), "--json")
expect(j and ck(j).get("ok"), "expired candidate at a date within its validity: checks pass")
rc, j, _ = whatif(*H, "--chain", path("c_future.pem"), "--at", iso(6), "--json")
expect(j and ck(j).get("ok"), "not-yet-valid candidate at a date within its validity: ok")

# ---- the observed CA pool respects --at ---------------------------------
# A leaf alone: the intermediate comes from what pinwatch observed (10 days ago).
rc, j, r = whatif(*H, "--chain", cat("c_leafonly.pem", "ok_new"), "--at", iso(-1), "--json")
expect(j and ck(j).get("ok") and len(j.get("candidate", [])) == 3,
       "leaf alone, --at yesterday: completed with the intermediate observed 10 days ago",
       r.stdout + r.stderr)
rc, j, r = whatif(*H, "--chain", path("c_leafonly.pem"), "--at", iso(-11), "--json")
expect(rc == 1 and "untrusted" in failed(j),
       "leaf alone, --at before the intermediate was first observed: no path", r.stdout)

# ---- typo hosts, ports, inputs ------------------------------------------
rc, _, r = whatif("--host", "api.gate.tset", "--chain", path("c_ok.pem"))
expect(rc == 2 and "not an inventoried endpoint" in r.stderr and r.stdout == "",
       "typo host: exit 2, not an inventoried endpoint", r.stderr)
rc, _, r = whatif(*H, "--port", "443", "--pin", P_LEAF)
expect(rc == 2 and "not an inventoried endpoint" in r.stderr,
       "a port the endpoint does not have: exit 2", r.stderr)
rc, j, r = whatif("--host", "api.gate.tset", "--any-host", "--pin", P_LEAF, "--json")
expect(rc == 0 and j and j["apps"] == [] and j.get("port") == 443 and j.get("inventoried") is False,
       "--any-host: evaluated by its name alone", r.stderr)

with open(path("c_ok.pem")) as f:
    rc, j, r = whatif(*H, "--chain", "-", "--json", stdin=f.read())
expect(rc == 1 and j and ck(j).get("ok") and close(share(j), 0.595), "--chain - reads stdin",
       r.stderr)
rc, _, r = whatif(*H, "--chain", "-", stdin="")
expect(rc == 2, "--chain - with empty input: exit 2", r.stderr)

# pins alone: unchecked, said so; 3.0 pins only the leaf key
rc, j, r = whatif(*H, "--pin", P_NEWROOT, "--json")
expect(rc == 1 and not ck(j).get("checked") and close(share(j), 0.405),
       "pins alone: not checked, 1.0 and 3.0 stranded", r.stderr)
rc, _, r = whatif(*H, "--pin", P_NEWROOT)
expect("not checked" in r.stdout, "the table says pins alone are not checked", r.stdout)
for arg, want in [("40.5%", 0), ("0.405", 0), ("40%", 1), ("0.4", 1), ("100%", 0)]:
    rc, _, r = whatif(*H, "--pin", P_NEWROOT, "--max-stranded", arg)
    expect(rc == want, "--max-stranded %s: exit %d" % (arg, want), r.stderr)
for arg in ["abc", "150%", "%", "-1%", "1.5", "1%%", ""]:
    rc, _, r = whatif(*H, "--pin", P_NEWROOT, "--max-stranded", arg)
    expect(rc == 2 and "--max-stranded" in r.stderr, "--max-stranded '%s': exit 2" % arg,
           r.stderr)
# --chain and --pin combine: the pins add to the path
rc, j, r = whatif(*H, "--chain", path("c_new.pem"), "--pin", P_OLDROOT, "--pin", P_LEAF,
                  "--json")
expect(rc == 0 and close(share(j), 0) and ck(j).get("ok"),
       "--chain and --pin combine: the old root and leaf pins save 1.0 and 3.0", r.stderr)

# ---- candidate add: the same checks -------------------------------------
def cand(*args):
    r = sh([PW, "candidate", "add", "-c", CFG, *args, "--json"], check=False)
    try:
        return r.returncode, json.loads(r.stdout), r
    except ValueError:
        return r.returncode, None, r


rc, c, r = cand(path("c_wrongname.pem"), "--host", "api.gate.test")
v = (c or {}).get("verdict") or {}
expect(rc == 1 and v.get("checks_failed") and close(v.get("max_stranded", -1), 1.0)
       and "does not cover api.gate.test" in " ".join(v.get("reasons", [])),
       "candidate add, wrong name for --host: stranded share 1, exit 1", r.stderr)
rc, c, r = cand(path("c_expired.pem"))
expect(rc == 1 and ((c or {}).get("verdict") or {}).get("checks_failed"),
       "candidate add, expired: exit 1", r.stderr)
rc, c, r = cand(path("c_untrusted.pem"))
expect(rc == 1 and ((c or {}).get("verdict") or {}).get("checks_failed"),
       "candidate add, untrusted: exit 1", r.stderr)
rc, _, r = cand(path("c_ok.pem"), "--host", "api.gate.tset")
expect(rc == 2 and "not an inventoried endpoint" in r.stderr,
       "candidate add --host with a typo: exit 2", r.stderr)

# ---- the README's CI gate ------------------------------------------------
if README:
    text = open(README).read()
    m = re.search(r"```sh\n(# ci-gate\n.*?)```", text, re.S)
    expect(m is not None, "README has the CI gate snippet")
    if m:
        def gate(chain, pinwatch, max_stranded="0"):
            env = dict(ENV, PINWATCH=pinwatch, HOST="api.gate.test", CHAIN=chain,
                       PINWATCH_CONFIG=CFG, MAX_STRANDED=max_stranded)
            return subprocess.run(["sh", "-ec", m.group(1)], capture_output=True, text=True,
                                  env=env)
        bad = gate(path("c_expired.pem"), PW)
        good = gate(path("c_new.pem"), PW, "50%")
        typo = subprocess.run(["sh", "-ec", m.group(1)], capture_output=True, text=True,
                              env=dict(ENV, PINWATCH=PW, HOST="api.gate.tset",
                                       CHAIN=path("c_new.pem"), PINWATCH_CONFIG=CFG))
        broken = gate(path("c_new.pem"), "/nonexistent/pinwatch")
        expect(bad.returncode != 0 and "blocked" in bad.stdout + bad.stderr,
               "CI snippet: exit 1 blocks the pipeline", bad.stdout + bad.stderr)
        expect(typo.returncode != 0 and "gate error" in typo.stdout + typo.stderr,
               "CI snippet: exit 2 is reported as an error of the gate", typo.stderr)
        expect(broken.returncode != 0 and "gate error" in broken.stdout + broken.stderr,
               "CI snippet: a gate that cannot run fails the pipeline", broken.stderr)
        expect(good.returncode == 0 and "passed" in good.stdout,
               "CI snippet: exit 0 passes", good.stdout + good.stderr)

if not os.environ.get("PINWATCH_TEST_KEEP"):
    shutil.rmtree(TMP, ignore_errors=True)
else:
    print("kept " + TMP)
if FAILS:
    print("%d failure(s)" % len(FAILS))
    sys.exit(1)
print("all passed")
