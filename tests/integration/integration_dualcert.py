#!/usr/bin/env python3
"""Dual-certificate discovery against a real nginx (Debian's nginx-light).

The test generates a root CA and two leaves for dual.test at run time (one
ECDSA P-256, one RSA-2048, both under the root), writes an nginx.conf that
lists `ssl_certificate` twice on a free loopback port and starts nginx as
its own child (`-p` prefix and `-c` conf in a temporary directory, `daemon
off`, pid and logs there; a `user` directive only when running as root).
Names resolve through $PINWATCH_HOSTS_FILE; nothing leaves loopback.

Checks: `pinwatch probe --json` shows the ECDSA-only and RSA-only offers
getting different chains; `pinwatch sweep --discover` stores both chains
(variant_observations), a second discovering sweep only counts them up
(run-length encoded), a plain sweep afterwards does not discover (the
interval has not passed); `pinwatch check --json` lists the variants per
address, evaluates the Android app against the ECDSA chain and the "other"
app against the default one, flags variants_differ with a warning, and
reports a chains_differ finding for each version that accepts only one of
the chains.

Usage: integration_dualcert.py PINWATCH
"""
import base64
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

PW = sys.argv[1]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from pwtest import Checks  # noqa: E402

CHECKS = Checks("pinwatch-it-dual-")
TMP, DB, ENV, FAILS = CHECKS.tmp, CHECKS.db, CHECKS.env, CHECKS.fails
HOSTS = os.path.join(TMP, "hosts")
ENV["PINWATCH_HOSTS_FILE"] = HOSTS
sh, expect, path = CHECKS.sh, CHECKS.expect, CHECKS.path








def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def key(name, kind):
    args = ["certtool", "--generate-privkey", "--outfile", path(name + ".key")]
    args += ["--key-type", "ecdsa", "--curve", "secp256r1"] if kind == "ecdsa" else \
        ["--key-type", "rsa", "--bits", "2048"]
    sh(args)


def cert(name, tmpl, ca=None):
    with open(path(name + ".tmpl"), "w") as f:
        f.write(tmpl)
    CHECKS.sign(name, name, ca)


pin_of_key = CHECKS.pin_of_key


def wait_port(port, proc, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


def main():
    key("root", "rsa")
    cert("root", 'cn = "pinwatch dual test root"\nca\ncert_signing_key\nexpiration_days = 30\n')
    leaf = 'cn = "dual.test"\ndns_name = "dual.test"\nsigning_key\nencryption_key\n' \
           'tls_www_server\nexpiration_days = 20\n'
    key("ec", "ecdsa")
    cert("ec", leaf, ca="root")
    key("rsa", "rsa")
    cert("rsa", leaf, ca="root")
    key("spare", "ecdsa")
    pin_ec, pin_rsa, pin_spare = pin_of_key("ec"), pin_of_key("rsa"), pin_of_key("spare")

    port = free_port()
    os.makedirs(path("logs"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    with open(path("nginx.conf"), "w") as f:
        f.write("""%sdaemon off;
worker_processes 1;
pid %s;
error_log %s warn;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s;
    uwsgi_temp_path %s; scgi_temp_path %s;
    server {
        listen 127.0.0.1:%d ssl;
        server_name dual.test;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate %s;
        ssl_certificate_key %s;
        ssl_certificate %s;
        ssl_certificate_key %s;
        location / { return 204; }
    }
}
""" % (user, path("nginx.pid"), path("logs/error.log"), path("t1"), path("t2"), path("t3"),
            path("t4"), path("t5"), port, path("ec.pem"), path("ec.key"), path("rsa.pem"),
            path("rsa.key")))
    with open(HOSTS, "w") as f:
        f.write("127.0.0.1 dual.test\n")
    nginx = subprocess.Popen(["nginx", "-p", TMP + "/", "-c", path("nginx.conf"),
                              "-e", path("logs/error.log")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not wait_port(port, nginx):
            raise SystemExit("nginx did not start: %s" % (nginx.stderr.read().decode()
                                                         if nginx.poll() is not None else ""))
        run(port, pin_ec, pin_rsa, pin_spare)
        rotated(port, nginx, leaf)
    finally:
        nginx.terminate()
        try:
            nginx.wait(timeout=10)
        except subprocess.TimeoutExpired:
            nginx.kill()
            nginx.wait()


def leaf_pin(chain):
    return chain[0]["pin"] if chain else None


def run(port, pin_ec, pin_rsa, pin_spare):
    ca = path("root.pem")
    # 1. pinwatch probe shows both chains.
    r = sh([PW, "probe", "--json", "--ca-file", ca,
            "dual.test:%d" % port], check=False)
    expect(r.returncode == 0, "probe exits 0", r.stdout + r.stderr)
    p = json.loads(r.stdout)
    a = p["addresses"][0]
    vs = {v["variant"]: v for v in a.get("variants", [])}
    expect(set(vs) == {"ecdsa", "rsa"}, "probe --json lists the ecdsa and rsa variants", a)
    expect(a["variant"] == "default", "the normal result says variant default")
    expect(leaf_pin(vs.get("ecdsa", {}).get("presented_chain")) == pin_ec,
           "offering only ECDSA gets the ECDSA leaf")
    expect(leaf_pin(vs.get("rsa", {}).get("presented_chain")) == pin_rsa,
           "offering only RSA gets the RSA leaf")
    expect(all(v["outcome"] == "ok" for v in vs.values()), "both variants validate (ok)")
    t = sh([PW, "probe", "--ca-file", ca, "dual.test:%d" % port], check=False).stdout
    expect("offering only ECDSA signature algorithms: ok" in t and
           "offering only RSA signature algorithms: ok" in t, "probe text shows both offers", t)
    default_pin = leaf_pin(a["presented_chain"])
    expect(default_pin in (pin_ec, pin_rsa), "the default offer gets one of the two leaves")

    # 2. inventory: an Android app (ECDSA first) and an "other" app.
    inv = {"endpoints": [{"host": "dual.test", "port": port, "environment": "production"}],
           "apps": [
               {"name": "droid", "platform": "android", "adoption_threshold": 0.9,
                "versions": [
                    {"version": "2.0", "adoption": [{"at": "2026-01-01", "share": 0.7}],
                     "pin_policies": [{"pattern": "dual.test", "pins": [
                         {"sha256": pin_ec, "role": "current"}]}]},
                    {"version": "1.0", "adoption": [{"at": "2026-01-01", "share": 0.3}],
                     "pin_policies": [{"pattern": "dual.test", "pins": [
                         {"sha256": pin_rsa, "role": "current"}]}]}]},
               {"name": "desk", "platform": "other", "adoption_threshold": 0.9,
                "versions": [
                    {"version": "1.0", "adoption": [{"at": "2026-01-01", "share": 1.0}],
                     "pin_policies": [{"pattern": "dual.test", "pins": [
                         {"sha256": default_pin, "role": "current"},
                         {"sha256": pin_spare, "role": "backup"}]}]}]}]}
    with open(path("inv.json"), "w") as f:
        json.dump(inv, f)
    sh([PW, "import", path("inv.json")])

    # 3. sweeps: discovery stores both chains, run-length encoded.
    s1 = json.loads(sh([PW, "sweep", "--json", "--discover", "--ca-file", ca]).stdout)
    # The normal probe got one of the two certificates; discovery probes only
    # the other kind (the normal result stands for its own kind).
    expect(s1["probes"] == 1 and s1["discovery_probes"] == 1,
           "a discovering sweep: 1 probe, 1 discovery probe", s1)
    s2 = json.loads(sh([PW, "sweep", "--json", "--discover", "--ca-file", ca]).stdout)
    expect(s2["discovery_probes"] == 1, "a second discovering sweep discovers again", s2)
    s3 = json.loads(sh([PW, "sweep", "--json", "--ca-file", ca]).stdout)
    expect(s3["discovery_probes"] == 0, "a plain sweep inside discover_interval: none", s3)
    s4 = json.loads(sh([PW, "sweep", "--json", "--no-discover", "--ca-file", ca]).stdout)
    expect(s4["discovery_probes"] == 0, "--no-discover: none", s4)
    c = sqlite3.connect(DB)
    rows = c.execute("SELECT variant, probe_count, outcome FROM variant_observations "
                     "ORDER BY variant").fetchall()
    expect(rows == [("ecdsa", 2, "ok"), ("rsa", 2, "ok")],
           "variant_observations: one row per variant, counted up (run-length)", rows)
    disc = c.execute("SELECT discovered_at FROM endpoints").fetchone()[0]
    expect(disc is not None, "endpoints.discovered_at is set")
    obs = c.execute("SELECT count(*), sum(probe_count) FROM observations").fetchone()
    expect(obs == (1, 4), "observations keep only the normal probe (1 row, 4 probes)", obs)
    c.close()

    # 4. check: variants per address, per-platform evaluation, warning, findings.
    r = sh([PW, "check", "--json"], check=False)
    rep = json.loads(r.stdout)
    ep = rep["endpoints"][0]
    addr = ep["addresses"][0]
    av = {v["variant"]: v for v in addr.get("variants", [])}
    expect(set(av) == {"ecdsa", "rsa"}, "check --json lists both variants of the address",
           addr)
    expect(leaf_pin(av["ecdsa"]["chain"]) == pin_ec and leaf_pin(av["rsa"]["chain"]) == pin_rsa,
           "each variant carries its own chain")
    expect(ep["flags"].get("variants_differ") is True, "flags.variants_differ")
    expect(ep["severity"] in ("warning", "critical"), "severity at least warning",
           ep["severity"])
    expect(any("presents different chains by what the client offers" in x
               for x in ep["reasons"]), "a reason names the differing chains", ep["reasons"])
    apps = {x["app"]: x for x in ep["apps"]}
    droid, desk = apps["droid"], apps["desk"]
    expect(droid["chain_variant"] == "ecdsa", "droid (android) is evaluated on the ECDSA chain")
    expect(desk["chain_variant"] == "default", "desk (other) is evaluated on the default chain")
    sv = [(v["version"], v["share"]) for v in droid["now"]["stranded_versions"]]
    expect(sv == [("1.0", 0.3)], "droid: only 1.0 (pins the RSA leaf) is stranded now", sv)
    expect(desk["now"]["stranded_share"] == 0, "desk: nobody stranded on the default chain")
    expect(r.returncode == 1, "check exits 1 (droid 1.0 is stranded)", r.returncode)
    f = [(x["app"], x["version"]) for x in rep["findings"] if x["kind"] == "chains_differ"]
    expect(sorted(f) == [("desk", "1.0"), ("droid", "1.0"), ("droid", "2.0")],
           "a chains_differ finding per version that accepts only one chain", f)
    expect(all(x["severity"] == "warning" for x in rep["findings"]
               if x["kind"] == "chains_differ"), "chains_differ findings are warnings")


def rotated(port, nginx, leaf):
    """New keys for both leaves, nginx reloaded: the plain sweep that sees the
    new chain makes discovery due at once; the next plain sweep discovers."""
    key("ec", "ecdsa")
    cert("ec", leaf, ca="root")
    key("rsa", "rsa")
    cert("rsa", leaf, ca="root")
    new_ec, new_rsa = pin_of_key("ec"), pin_of_key("rsa")
    nginx.send_signal(signal.SIGHUP)
    ca = path("root.pem")
    # nginx's old worker may still accept for a moment after the reload:
    # wait until five probes in a row see a new leaf.
    end, streak = time.time() + 30, 0
    while time.time() < end and streak < 5:
        r = sh([PW, "probe", "--json", "--no-discover", "--ca-file", ca, "dual.test:%d" % port],
               check=False)
        a = json.loads(r.stdout)["addresses"][0] if r.stdout else {}
        streak = streak + 1 if leaf_pin(a.get("presented_chain")) in (new_ec, new_rsa) else 0
        time.sleep(0.1)
    expect(streak >= 5, "nginx serves the new certificates after SIGHUP")
    s5 = json.loads(sh([PW, "sweep", "--json", "--ca-file", ca]).stdout)
    c = sqlite3.connect(DB)
    disc = c.execute("SELECT discovered_at FROM endpoints").fetchone()[0]
    c.close()
    expect(s5["new_rows"] == 1 and s5["discovery_probes"] == 0 and disc is None,
           "a plain sweep that sees a new chain makes discovery due (discovered_at NULL)",
           (s5, disc))
    s6 = json.loads(sh([PW, "sweep", "--json", "--ca-file", ca]).stdout)
    expect(s6["discovery_probes"] == 1, "the next plain sweep discovers at once", s6)
    # [probe] discover_interval = 0 turns discovery off (--discover still forces it).
    with open(path("off.conf"), "w") as f:
        f.write("[probe]\ndiscover_interval = 0\n")
    c = sqlite3.connect(DB)
    c.execute("UPDATE endpoints SET discovered_at = NULL")
    c.commit()
    c.close()
    s7 = json.loads(sh([PW, "sweep", "-c", path("off.conf"), "--json", "--ca-file", ca]).stdout)
    expect(s7["discovery_probes"] == 0, "discover_interval = 0: no discovery", s7)
    s8 = json.loads(sh([PW, "sweep", "-c", path("off.conf"), "--json", "--discover",
                        "--ca-file", ca]).stdout)
    expect(s8["discovery_probes"] == 1, "--discover forces it even when off", s8)
    r = sh([PW, "sweep", "--discover", "--no-discover", "--ca-file", ca], check=False)
    expect(r.returncode == 2, "--discover with --no-discover is a usage error", r.returncode)
    rep = json.loads(sh([PW, "check", "--json"], check=False).stdout)
    av = {v["variant"]: v for v in rep["endpoints"][0]["addresses"][0].get("variants", [])}
    expect(leaf_pin(av.get("ecdsa", {}).get("chain")) == new_ec and
           leaf_pin(av.get("rsa", {}).get("chain")) == new_rsa,
           "after rediscovery both variants carry the new leaves")


try:
    main()
finally:
    shutil.rmtree(TMP, ignore_errors=True)
if FAILS:
    print("%d failed" % len(FAILS))
    sys.exit(1)
print("all passed")
