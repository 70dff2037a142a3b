#!/usr/bin/env python3
"""Checks config/netleash.schema.json against the policy parser's behaviour.

Every shipped policy must validate against the schema, and a set of invalid
policies (which the Catch2 tests show the parser rejects) must be rejected by
the schema too, so editors using the schema flag what `netleashd --check`
flags. Exit 77 (meson: skipped) without python3-jsonschema.
"""
import json
import os
import pathlib
import sys

sys.path.insert(0, os.environ.get("NETLEASH_TEST_LIB", os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../lib")))
from netleash_skip import skip  # noqa: E402

try:
    import jsonschema
except ImportError:
    skip("python3-jsonschema not installed")

config = pathlib.Path(sys.argv[1])
schema = json.loads((config / "netleash.schema.json").read_text())
jsonschema.Draft202012Validator.check_schema(schema)
validator = jsonschema.Draft202012Validator(schema)

failures = []
policies = sorted(config.glob("apps.d/*.json")) + sorted(config.glob("examples/*.json"))
for path in policies:
    for error in validator.iter_errors(json.loads(path.read_text())):
        failures.append(f"{path}: schema rejects a shipped policy: {error.message}")

valid = [
    {"app": "a"},
    {"app": "x@y+z_1.2-3", "resolve": "any", "dns": "direct", "comment": "c", "$schema": "s"},
    {"app": "a", "mode": "learn"},
    {"app": "a", "mode": "enforce"},
    {"app": "a", "outbound": [{"host": "*.example.internal", "ports": [443, "8000-8099"]},
                              {"cidr": "::ffff:10.0.0.0/104", "protocol": "any", "via": "hostb"},
                              {"host": "Example.COM."}]},
    {"app": "a", "inbound": [{"listen": "[::1]:0", "expose": "0.0.0.0:0", "from": ["::/0"],
                              "protocol": "udp"}]},
    {"app": "a", "users": ["root", 0, "1000"], "groups": ["adm", 4],
     "binary": ["/usr/bin/curl", "/opt/a b/x"], "sha256": ["0" * 63 + "F"]},
]
invalid = [
    {},
    {"app": ""},
    {"app": "-x"},
    {"app": "a", "unknown": 1},
    {"app": "a", "resolve": "all"},
    {"app": "a", "dns": "daemon"},
    {"app": "a", "mode": "Learn"},
    {"app": "a", "outbound": [{}]},
    {"app": "a", "outbound": [{"host": "a", "cidr": "10.0.0.0/8"}]},
    {"app": "a", "outbound": [{"host": "a..b"}]},
    {"app": "a", "outbound": [{"host": "a.*.b"}]},
    {"app": "a", "outbound": [{"cidr": "10.0.0.0/33"}]},
    {"app": "a", "outbound": [{"cidr": "example.com"}]},
    {"app": "a", "outbound": [{"cidr": "::/0", "ports": []}]},
    {"app": "a", "outbound": [{"cidr": "::/0", "ports": [0]}]},
    {"app": "a", "outbound": [{"cidr": "::/0", "ports": [65536]}]},
    {"app": "a", "outbound": [{"cidr": "::/0", "ports": ["443"]}]},
    {"app": "a", "outbound": [{"cidr": "::/0", "ports": [80.5]}]},
    {"app": "a", "outbound": [{"cidr": "::/0", "protocol": "icmp"}]},
    {"app": "a", "outbound": [{"cidr": "::/0", "via": "bad peer"}]},
    {"app": "a", "outbound": [{"cidr": "::/0", "prot": "udp"}]},
    {"app": "a", "inbound": [{"listen": 80}]},
    {"app": "a", "inbound": [{"expose": "1.2.3.4:5"}]},
    {"app": "a", "inbound": [{"listen": "::1:80", "expose": "1.2.3.4:5"}]},
    {"app": "a", "inbound": [{"listen": 80, "expose": "1.2.3.4"}]},
    {"app": "a", "inbound": [{"listen": 80, "expose": "[1.2.3.4]:5"}]},
    {"app": "a", "inbound": [{"listen": 80, "expose": "1.2.3.4:5", "from": []}]},
    {"app": "a", "inbound": [{"listen": 80, "expose": "1.2.3.4:5", "protocol": "any"}]},
    {"app": "a", "users": []},
    {"app": "a", "users": [-1]},
    {"app": "a", "users": [4294967295]},
    {"app": "a", "groups": [True]},
    {"app": "a", "binary": ["bin/curl"]},
    {"app": "a", "binary": ["/usr//bin/curl"]},
    {"app": "a", "binary": ["/usr/bin/../curl"]},
    {"app": "a", "binary": ["/usr/bin/"]},
    {"app": "a", "sha256": ["abc"]},
    {"app": "a", "sha256": ["g" * 64]},
]
for document in valid:
    for error in validator.iter_errors(document):
        failures.append(f"schema rejects valid {json.dumps(document)}: {error.message}")
for document in invalid:
    if validator.is_valid(document):
        failures.append(f"schema accepts invalid {json.dumps(document)}")

for failure in failures:
    print(failure)
print(f"{len(policies)} shipped policies, {len(valid)} valid and {len(invalid)} invalid documents checked")
sys.exit(1 if failures else 0)
