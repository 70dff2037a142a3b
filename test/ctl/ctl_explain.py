#!/usr/bin/env python3
"""netleashctl explain against a real netleashd, after a patched python3 resolved a name.

Each kind of decision: allowed by a cidr rule, allowed by a host rule after the
daemon resolved the name for the app (by address and by name, with the
recorded addresses), denied with no rule, on the wrong port, to an address the
daemon never resolved for the app, for an app without a policy, and for a
near-miss app id (perl_app for perl-app). Exit status 0 allow, 1 deny, 2 usage,
3 daemon unreachable. `netleashctl status` lists the app id that asked with
no policy, with the nearest policy name.
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(__file__), "..", "lib")))
from netleash_harness import Netleash, free_port  # noqa: E402

CTL = os.path.abspath(os.environ["NETLEASHCTL"])
APP = "perl-app"
NAME = "api.svc.test"
NAME_ADDRESS = "127.0.0.7"

RESOLVE = r"""
import socket, sys
print(socket.getaddrinfo(sys.argv[1], 443, socket.AF_INET, socket.SOCK_STREAM)[0][4][0])
"""

CONNECT = r"""
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
except PermissionError:
    print("denied")
"""


def fail(message, *results):
    print(f"FAIL: {message}", file=sys.stderr)
    for r in results:
        print(f"  exit {r.returncode}\n  stdout: {r.stdout}\n  stderr: {r.stderr}", file=sys.stderr)
    sys.exit(1)


def ctl(nl, *args, socket_path=None):
    return subprocess.run([CTL, "--socket", socket_path or nl.socket_path, *args],
                          capture_output=True, text=True, timeout=30)


def explain(nl, app, dest, status, **expected):
    """Both forms: the JSON answer must hold `expected`; the text must say the verdict."""
    r = ctl(nl, "explain", "--json", app, dest)
    if r.returncode != status:
        fail(f"explain {app} {dest}: exit status {r.returncode}, expected {status}", r)
    answer = json.loads(r.stdout)
    for key, value in expected.items():
        got = answer.get(key)
        if key == "hint" and isinstance(value, str) and value in (got or ""):
            continue
        if got != value:
            fail(f"explain {app} {dest}: {key} = {got!r}, expected {value!r}\n{json.dumps(answer, indent=2)}")
    text = ctl(nl, "explain", app, dest)
    if text.returncode != status or not text.stdout.startswith(f"{app} {dest}: {answer['verdict']}"):
        fail(f"explain {app} {dest} (text)", text)
    return answer, text.stdout


def main():
    echo_port = free_port()
    policy = {"outbound": [{"cidr": "127.0.0.1", "ports": [echo_port]},
                           {"host": "*.svc.test", "ports": [443]},
                           {"host": "localhost", "ports": ["8000-8099"]}]}
    with Netleash(policies={APP: policy}, hosts={NAME: [NAME_ADDRESS]}) as nl:
        python = os.path.realpath("/usr/bin/python3")
        patched = nl.patch(python, APP)
        r = nl.run([patched, "-c", RESOLVE, NAME], timeout=30)
        if r.returncode != 0 or r.stdout.strip() != NAME_ADDRESS:
            fail("the patched program resolves the name through the daemon", r)

        explain(nl, APP, f"127.0.0.1:{echo_port}", 0, verdict="allow", rule=0,
                rule_text=f'{{"cidr": "127.0.0.1/32", "ports": [{echo_port}]}}')
        explain(nl, APP, f"{NAME_ADDRESS}:443", 0, verdict="allow", rule=1, resolved_from=[NAME])
        answer, text = explain(nl, APP, f"{NAME}:443", 0, verdict="allow", rule=1,
                               host={"name": NAME, "may_resolve": True, "addresses": [NAME_ADDRESS]})
        if f"addresses recorded now: {NAME_ADDRESS}" not in text:
            fail("text explain of a name lists the recorded addresses: " + text)

        explain(nl, APP, "127.0.0.9:22", 1, verdict="deny", rule=None, nearest=None,
                hint="no outbound rule covers 127.0.0.9 port 22/tcp")
        explain(nl, APP, f"127.0.0.1:{echo_port + 1}", 1, verdict="deny", nearest=0,
                hint=f"rule 0 allows 127.0.0.1/32 but on port {echo_port}, not {echo_port + 1}")
        explain(nl, APP, "localhost:80", 1, verdict="deny", nearest=2,
                hint="rule 2 allows localhost but on ports 8000-8099, not 80")
        explain(nl, APP, "udp/127.0.0.1:%d" % echo_port, 1, verdict="deny", protocol="udp",
                hint="but for tcp, not udp")
        # A literal address the daemon never resolved for this app.
        explain(nl, APP, "127.0.0.8:443", 1, verdict="deny", nearest=1,
                hint="a host rule for port 443/tcp exists (rule 1, *.svc.test), but 127.0.0.8 was never "
                     "resolved for this app by netleashd")
        explain(nl, APP, "evil.test:443", 1, verdict="deny",
                host={"name": "evil.test", "may_resolve": False, "addresses": []})
        # DNS the app sends itself is answered by the daemon: allowed without a rule.
        explain(nl, APP, "udp/192.0.2.53:53", 0, verdict="allow", rule=None,
                reason='DNS: netleashd answers the queries itself (the policy has no "dns": "direct")')
        explain(nl, "no-such-thing", "127.0.0.1:80", 1, verdict="deny", reason='no policy for app "no-such-thing"',
                did_you_mean=None)
        explain(nl, "perl_app", "127.0.0.1:80", 1, verdict="deny", did_you_mean=APP, hint="did you mean perl-app?")

        for bad in (["explain", APP], ["explain", APP, "nonsense"], ["explain", APP, "host:99999"]):
            r = ctl(nl, *bad)
            if r.returncode != 2:
                fail(f"usage error {bad}", r)
        r = ctl(nl, "explain", APP, "127.0.0.1:80", socket_path=nl.dir + "/absent.sock")
        if r.returncode != 3 or "cannot connect to" not in r.stderr:
            fail("daemon unreachable", r)

        # A program patched with a near-miss id is denied; status names it with the policy it meant.
        r = nl.run([nl.patch(python, "perl_app"), "-c", CONNECT, str(echo_port)], timeout=30)
        if r.stdout.strip() != "denied":
            fail("the near-miss app is denied", r)
        unknown = json.loads(ctl(nl, "status", "--json").stdout)["unknown_apps"]
        if unknown != [{"app": "perl_app", "denies": 1, "did_you_mean": APP}]:
            fail(f"status lists the app id without a policy: {unknown}")
        human = ctl(nl, "status")
        if "perl_app" not in human.stdout or "did you mean perl-app?" not in human.stdout:
            fail("human status names the unknown app and the nearest policy", human)
    print("ok")


if __name__ == "__main__":
    main()
