#!/usr/bin/env python3
"""End-to-end test of `pinwatch check` and `pinwatch whatif`.

Certificates are generated at test time with certtool (root, intermediate,
leaves, a spare backup key). The inventory is imported with `pinwatch
import`; observations are inserted with SQL into the observation tables of
schema/001_init.sql exactly as the probe store writes them (certificates once,
chains once, run-length observation rows).

Checks: before the rotation nobody is stranded and check exits 0; after an
observation of a leaf rotated to the backup key the stranded share is exactly
the adoption of the versions without that backup pin, check exits 1 and says
why; whatif gates by --max-stranded with exit 0/1, completes a candidate PEM
with an observed root (a root pin counts), honours --at and pin expiry, works
for a host never observed, and rejects bad input with exit 2.

Usage: integration_readiness.py PINWATCH
"""
import base64
import datetime
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

PW = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from pwtest import Checks  # noqa: E402

CHECKS = Checks("pinwatch-it-rd-")
TMP, DB, ENV, FAILS = CHECKS.tmp, CHECKS.db, CHECKS.env, CHECKS.fails
sh, expect, path = CHECKS.sh, CHECKS.expect, CHECKS.path








# ---- certificates -------------------------------------------------------
def key(name):
    sh(["certtool", "--generate-privkey", "--key-type", "ecdsa", "--outfile", path(name + ".key")])


def template(name, text):
    with open(path(name + ".tmpl"), "w") as f:
        f.write(text)


def cert(name, tmpl, ca=None, keyname=None):
    CHECKS.sign(name, tmpl, ca, keyname)


pin_of_key = CHECKS.pin_of_key


def parse_date(s):
    return int(datetime.datetime.strptime(s.strip(), "%a %b %d %H:%M:%S UTC %Y")
               .replace(tzinfo=datetime.timezone.utc).timestamp())


def cert_row(name, keyname, subject, issuer, is_ca):
    info = sh(["certtool", "-i", "--infile", path(name + ".pem")]).stdout
    nb = na = None
    for line in info.splitlines():
        line = line.strip()
        if line.startswith("Not Before:"):
            nb = parse_date(line[len("Not Before:"):])
        if line.startswith("Not After:"):
            na = parse_date(line[len("Not After:"):])
    der = subprocess.run(["certtool", "-i", "--infile", path(name + ".pem"), "--outder"],
                         capture_output=True, check=True).stdout
    return dict(sha256=hashlib.sha256(der).digest(), der=der, subject=subject, issuer=issuer,
                not_before=nb, not_after=na, spki=base64.b64decode(pin_of_key(keyname)),
                is_ca=1 if is_ca else 0)


for k in ["root", "inter", "leaf1", "backup", "other"]:
    key(k)
template("root", 'cn = "pinwatch e2e root"\nca\ncert_signing_key\nexpiration_days = 3650\n')
template("inter", 'cn = "pinwatch e2e intermediate"\nca\ncert_signing_key\nexpiration_days = 1825\n')
template("leaf", 'cn = "api.e2e.test"\ndns_name = "api.e2e.test"\ntls_www_server\n'
         'signing_key\nencryption_key\nexpiration_days = 90\n')
cert("root", "root")
cert("inter", "inter", ca="root")
cert("leaf1", "leaf", ca="inter")
cert("leaf2", "leaf", ca="inter", keyname="backup")   # the rotation to the backup key
cert("leaf3", "leaf", ca="inter", keyname="other")    # a key nobody pinned

P_ROOT, P_INTER, P_LEAF1, P_BACKUP, P_OTHER = (
    pin_of_key(k) for k in ["root", "inter", "leaf1", "backup", "other"])

# ---- inventory ----------------------------------------------------------
def version(v, share, pins, expires=None):
    pol = {"pattern": "api.e2e.test", "include_subdomains": False, "enforce": True,
           "pins": [{"sha256": p, "role": r} for p, r in pins]}
    if expires:
        pol["expires"] = expires
    return {"version": v, "released": "2026-05-01",
            "adoption": [{"at": "2026-11-01", "share": share}], "pin_policies": [pol]}


inventory = {
    "endpoints": [{"host": "api.e2e.test", "port": 443, "environment": "production"}],
    "apps": [
        {"name": "shop-android", "platform": "android", "adoption_threshold": 0.9,
         "versions": [
             version("4.1.0", 0.155, [(P_LEAF1, "current")], expires="2027-06-01"),
             version("4.2.0", 0.075, [(P_LEAF1, "current")]),
             version("4.3.0", 0.77, [(P_LEAF1, "current"), (P_BACKUP, "backup")]),
         ]},
        {"name": "shop-ios", "platform": "ios", "adoption_threshold": 0.95,
         "versions": [
             {"version": "2.0", "adoption": [{"at": "2026-11-01", "share": 0.6}],
              "pin_policies": [{"pattern": "**.e2e.test", "include_subdomains": False,
                                "enforce": True,
                                "pins": [{"sha256": P_ROOT, "role": "current"}]}]},
             {"version": "2.1", "adoption": [{"at": "2026-11-01", "share": 0.4}],
              "pin_policies": [{"pattern": "**.e2e.test", "include_subdomains": False,
                                "enforce": True,
                                "pins": [{"sha256": P_INTER, "role": "current"},
                                         {"sha256": P_OTHER, "role": "backup"}]}]},
         ]},
    ],
}
with open(path("inventory.json"), "w") as f:
    json.dump(inventory, f)
sh([PW, "import", path("inventory.json")])

# ---- observations (as the probe store writes them) ----------------------
ROWS = {
    "root": cert_row("root", "root", "CN=pinwatch e2e root", "CN=pinwatch e2e root", True),
    "inter": cert_row("inter", "inter", "CN=pinwatch e2e intermediate", "CN=pinwatch e2e root",
                      True),
    "leaf1": cert_row("leaf1", "leaf1", "CN=api.e2e.test", "CN=pinwatch e2e intermediate", False),
    "leaf2": cert_row("leaf2", "backup", "CN=api.e2e.test", "CN=pinwatch e2e intermediate", False),
}
NOW = int(time.time())
con = sqlite3.connect(DB)
con.execute("PRAGMA foreign_keys=ON")
CERT_IDS = {}
for name, r in ROWS.items():
    cur = con.execute(
        "INSERT INTO certificates (sha256, der, subject, issuer, serial, not_before, not_after,"
        " key_type, key_bits, spki_sha256, is_ca, first_seen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (r["sha256"], r["der"], r["subject"], r["issuer"], "01", r["not_before"], r["not_after"],
         "ECDSA", 256, r["spki"], r["is_ca"], NOW - 3 * 86400))
    CERT_IDS[name] = cur.lastrowid


def chain(names):
    h = hashlib.sha256(b"".join(ROWS[n]["sha256"] for n in names)).digest()
    cur = con.execute("INSERT INTO chains (sha256, length) VALUES (?, ?)", (h, len(names)))
    for pos, n in enumerate(names):
        con.execute("INSERT INTO chain_certs (chain_id, pos, cert_id) VALUES (?,?,?)",
                    (cur.lastrowid, pos, CERT_IDS[n]))
    return cur.lastrowid


EP = con.execute("SELECT id FROM endpoints WHERE host = 'api.e2e.test'").fetchone()[0]


def observe(presented, validated, first, last):
    con.execute("INSERT INTO observations (endpoint_id, address, outcome, presented_chain_id,"
                " validated_chain_id, trusted, name_ok, first_seen, last_seen, probe_count)"
                " VALUES (?, '127.0.0.1', 'ok', ?, ?, 1, 1, ?, ?, 3)",
                (EP, presented, validated, first, last))
    con.commit()


observe(chain(["leaf1", "inter"]), chain(["leaf1", "inter", "root"]),
        NOW - 2 * 86400, NOW - 3600)


def check_json(*extra):
    r = sh([PW, "check", "--json", *extra], check=False)
    try:
        return r.returncode, json.loads(r.stdout), r
    except ValueError:
        return r.returncode, None, r


def app_of(rep, host, app):
    for ep in rep["endpoints"]:
        if ep["host"] == host:
            for a in ep["apps"]:
                if a["app"] == app:
                    return ep, a
    return None, None


def close(a, b):
    return abs(a - b) < 1e-6


# ---- check before the rotation ------------------------------------------
rc, rep, raw = check_json()
expect(rc == 0 and rep is not None, "check before rotation exits 0", raw.stderr)
ep, a = app_of(rep, "api.e2e.test", "shop-android")
expect(a is not None and close(a["now"]["stranded_share"], 0), "nobody stranded now")
expect(a is not None and close(a["key_rotation"]["stranded_share"], 0.23)
       and a["key_rotation"]["ready"] is False,
       "key rotation would strand 4.1.0 + 4.2.0 (23%)", json.dumps(a and a["key_rotation"]))
expect(a is not None and close(a["ca_change"]["stranded_share"], 0.23),
       "CA change strands the versions without a backup pin")
expect(ep is not None and ep["expiry"]["days_left"] in (89, 90), "expiry: leaf has 90 days")
expect(ep is not None and [c["pin"] for c in ep["addresses"][0]["chain"]] == [P_LEAF1, P_INTER, P_ROOT],
       "addresses[].chain is the validated chain with pins")
_, ios = app_of(rep, "api.e2e.test", "shop-ios")
expect(ios is not None and close(ios["now"]["stranded_share"], 0),
       "a root pin matches although the server does not send the root")
expect(ios is not None and ios["key_rotation"]["ready"] is True, "shop-ios key rotation ready")
expect(a is not None and any("Key rotation would strand 23.0% of shop-android users" in s
                             for s in a["reasons"]), "reasons name the share and the app")

# ---- rotate the leaf to the backup key ----------------------------------
observe(chain(["leaf2", "inter"]), chain(["leaf2", "inter", "root"]), NOW - 600, NOW - 60)
rc, rep, raw = check_json()
expect(rc == 1, "check after rotation exits 1 (critical)", raw.stderr)
ep, a = app_of(rep, "api.e2e.test", "shop-android")
expect(a is not None and close(a["now"]["stranded_share"], 0.23),
       "after rotating to the backup key 23% are stranded",
       json.dumps(a and a["now"]))
expect(a is not None and sorted(v["version"] for v in a["now"]["stranded_versions"])
       == ["4.1.0", "4.2.0"], "stranded versions are 4.1.0 and 4.2.0")
expect(ep is not None and ep["severity"] == "critical", "endpoint severity critical")
expect(ep is not None and any("changed chain" in s for s in ep["reasons"]), "drift reported")
_, ios = app_of(rep, "api.e2e.test", "shop-ios")
expect(ios is not None and close(ios["now"]["stranded_share"], 0), "shop-ios unaffected")
r = sh([PW, "check"], check=False)
expect(r.returncode == 1 and "shop-android" in r.stdout and "stranded" in r.stdout,
       "check table output", r.stdout[:300])
rc, rep, raw = check_json("--at", datetime.datetime.fromtimestamp(NOW - 86400, datetime.timezone.utc)
                          .strftime("%Y-%m-%dT%H:%M:%SZ"))
_, a = app_of(rep, "api.e2e.test", "shop-android") if rep else (None, None)
expect(rc == 0 and a is not None and close(a["now"]["stranded_share"], 0),
       "check --at yesterday sees the chain of yesterday")

# ---- whatif -------------------------------------------------------------
def cat(out, *names):
    with open(path(out), "w") as f:
        for n in names:
            with open(path(n + ".pem")) as g:
                f.write(g.read())
    return path(out)


CFG = path("pinwatch.conf")
with open(CFG, "w") as f:
    f.write("[probe]\nca_file = %s\n" % path("root.pem"))


def whatif(*args):
    r = sh([PW, "whatif", "-c", CFG, *args], check=False)
    try:
        j = json.loads(r.stdout) if "--json" in args else None
    except ValueError:
        j = None
    return r.returncode, j, r


def wapp(j, name):
    for a in (j or {}).get("apps", []):
        if a["app"] == name:
            return a
    return None


c1 = cat("c1.pem", "leaf1", "inter")
c3 = cat("c3.pem", "leaf3", "inter")
rc, j, r = whatif("--host", "api.e2e.test", "--chain", c1, "--json")
expect(rc == 0 and j and close(j["max_stranded_share"], 0), "whatif old chain: exit 0", r.stderr)
rc, j, r = whatif("--host", "api.e2e.test", "--chain", c3, "--json")
expect(rc == 1, "whatif unpinned new key: exit 1", r.stderr)
expect(j and j["checks"]["checked"] and j["checks"]["ok"] and j["port"] == 443,
       "whatif chain checks pass; the port is the endpoint's")
expect(close((wapp(j, "shop-android") or {}).get("stranded_share", -1), 1.0),
       "whatif unpinned key strands all of shop-android")
expect(close((wapp(j, "shop-ios") or {}).get("stranded_share", -1), 0.0),
       "whatif PEM without root: completed with the observed root, shop-ios safe")
rc, _, _ = whatif("--host", "api.e2e.test", "--chain", c3, "--max-stranded", "1")
expect(rc == 0, "whatif --max-stranded 1: exit 0")
rc, j, _ = whatif("--host", "api.e2e.test", "--pin", "sha256/" + P_BACKUP, "--json")
expect(rc == 1 and close((wapp(j, "shop-android") or {}).get("stranded_share", -1), 0.23),
       "whatif backup pin: 23% stranded, exit 1")
expect(close((wapp(j, "shop-ios") or {}).get("stranded_share", -1), 1.0),
       "bare pins are the whole candidate: shop-ios (CA pins) stranded by the backup key alone")
CHAIN_PINS = ["--pin", P_BACKUP, "--pin", P_INTER, "--pin", "sha256/" + P_ROOT]
rc, j, _ = whatif("--host", "api.e2e.test", *CHAIN_PINS, "--json")
expect(rc == 1 and close(j["max_stranded_share"], 0.23)
       and close((wapp(j, "shop-ios") or {}).get("stranded_share", -1), 0),
       "whatif backup key + CA pins: 23% of shop-android, shop-ios safe")
rc, _, _ = whatif("--host", "api.e2e.test", *CHAIN_PINS, "--max-stranded", "0.25")
expect(rc == 0, "whatif backup key under --max-stranded 0.25: exit 0")
rc, _, _ = whatif("--host", "api.e2e.test", *CHAIN_PINS, "--max-stranded", "0.2")
expect(rc == 1, "whatif backup key over --max-stranded 0.2: exit 1")
rc, _, _ = whatif("--host", "api.e2e.test", *CHAIN_PINS, "--max-stranded", "0.23")
expect(rc == 0, "whatif --max-stranded exactly the stranded share: exit 0 (not exceeded)")
rc, j, _ = whatif("--host", "api.e2e.test", *CHAIN_PINS, "--at", "2027-06-01", "--json")
expect(rc == 1 and close((wapp(j, "shop-android") or {}).get("stranded_share", -1), 0.075),
       "whatif --at the day 4.1.0's pin set expires: only 4.2.0 stranded")
rc, j, _ = whatif("--host", "new.e2e.test", "--pin", P_OTHER, "--json", "--any-host")
expect(rc == 1 and close((wapp(j, "shop-ios") or {}).get("stranded_share", -1), 0.6),
       "whatif for a host never observed (covered by **.e2e.test)")
rc, j, _ = whatif("--host", "unrelated.example", "--pin", P_OTHER, "--json", "--any-host")
expect(rc == 0 and j is not None and j["apps"] == [], "whatif for a host no app pins: exit 0")

with open(path("garbage.pem"), "w") as f:
    f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
for args, what in [
    (["--host", "api.e2e.test", "--chain", path("garbage.pem")], "garbage PEM"),
    (["--host", "api.e2e.test", "--chain", path("missing.pem")], "missing PEM file"),
    (["--host", "api.e2e.test", "--pin", "sha256/short"], "bad pin"),
    (["--chain", c1], "no --host"),
    (["--host", "api.e2e.test"], "no candidate"),
    (["--host", "api.e2e.test", "--pin", P_BACKUP, "--max-stranded", "2"], "--max-stranded 2"),
    (["--host", "api.e2e.test", "--pin", P_BACKUP, "--at", "tomorrow"], "bad --at"),
    (["--host", "bad host!", "--pin", P_BACKUP], "bad host"),
    (["--host", "new.e2e.test", "--pin", P_OTHER], "a host that is not an inventoried endpoint"),
]:
    rc, _, r = whatif(*args)
    expect(rc == 2 and r.stdout == "", "whatif %s: exit 2, nothing on stdout" % what,
           "rc %d %s" % (rc, r.stderr.strip()))
rc, j, r = whatif("--host", "api.e2e.test", "--chain", c3, "--pin", P_INTER, "--json")
expect(rc == 1 and j and len(j["candidate"]) == 4
       and close((wapp(j, "shop-android") or {}).get("stranded_share", -1), 1.0),
       "whatif --chain and --pin combine (the pins add to the path)", r.stderr)
r = subprocess.run([PW, "whatif", "--db", path("nope.db"), "--host", "api.e2e.test",
                    "--pin", P_BACKUP], capture_output=True, text=True)
expect(r.returncode == 3, "whatif with a missing database: exit 3")
r = subprocess.run([PW, "check", "--db", path("nope.db")], capture_output=True, text=True)
expect(r.returncode == 3, "check with a missing database: exit 3")
expect(sh([PW, "check", "--bogus"], check=False).returncode == 2, "check bad option: exit 2")
expect(sh([PW, "whatif", "--help"], check=False).returncode == 0, "whatif --help: exit 0")

if not os.environ.get("PINWATCH_TEST_KEEP"):
    shutil.rmtree(TMP, ignore_errors=True)
else:
    print("kept " + TMP)
if FAILS:
    print("%d failure(s)" % len(FAILS))
    sys.exit(1)
print("all passed")
