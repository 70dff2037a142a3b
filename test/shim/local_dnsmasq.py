"""A private dnsmasq on 127.0.0.1 and an ephemeral port, for tests that need a real DNS server
(shared by more_programs.py and dns_answered.py)."""

import os
import socket
import subprocess

from netleash_harness import free_port, wait_for


def start_dnsmasq(nl, records, probe, log_path=None, extra=()):
    """Starts dnsmasq answering `records` ({name: address or [addresses]}) and nothing else;
    returns its port.

    `probe` must be one of the names: an unpatched dig asks for it until dnsmasq answers.
    With `log_path`, dnsmasq logs every query it receives there (--log-queries).

    dnsmasq binds the port for UDP and TCP. A port free for one can be taken for the other (an
    ephemeral port of some other connection), so a bind race is retried on a fresh port. It logs
    to stderr (or log_path), so an exit for any other reason says why."""
    logging = [f"--log-facility={log_path}", "--log-queries"] if log_path else ["--log-facility=-"]
    for _ in range(5):
        port = free_port(kind=socket.SOCK_DGRAM)
        proc = nl.spawn(["/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
                         *logging, f"--port={port}", "--listen-address=127.0.0.1",
                         "--bind-interfaces", "--no-resolv", "--no-hosts", "--user=root",
                         "--group=root", f"--pid-file={os.path.join(nl.dir, 'dnsmasq.pid')}",
                         *[f"--address=/{name}/{address}" for name, addresses in records.items()
                           for address in ([addresses] if isinstance(addresses, str) else addresses)],
                         *extra], env={"NETLEASH_SOCKET": ""})

        def answering():
            if proc.poll() is not None:
                return "exited"
            r = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+short", "+tries=1",
                                "+time=1", probe], capture_output=True, text=True, timeout=10)
            return r.stdout.strip() == records[probe]
        if wait_for(answering, 20, "dnsmasq to answer") is True:
            return port
        stderr = proc.stderr.read()
        if log_path and os.path.exists(log_path):
            with open(log_path) as f:
                stderr += f.read()
        if "Address already in use" not in stderr:
            raise AssertionError(f"dnsmasq exited with status {proc.returncode}: {stderr}")
    raise AssertionError("dnsmasq: no free port in 5 tries")
