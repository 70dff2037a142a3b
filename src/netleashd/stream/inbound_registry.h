// The virtual addresses that leashed listeners hold. Nothing really listens
// on them (the daemon listens on each rule's `expose` address), so a leashed
// program that connects to one would find nobody there; the daemon looks its
// destination up here first and, on a match, joins it to that listener
// (inbound_join), as a real host would connect it to its own listener.
#pragma once

#include <string>

#include "common/wire.h"

namespace netleash::netleashd {

struct AcceptQueue;

// `q` listens now: its virtual address (`q->local`) becomes reachable.
void virtual_listeners_add(AcceptQueue* q);

// `q` is closing (or never listened): forget it.
void virtual_listeners_remove(AcceptQueue* q);

// The listening socket that holds `destination` (normalized) for a connect
// of `client_app`, or nullptr. A socket holds its own address and port, and
// a wildcard one (0.0.0.0, ::) every local address of the families it takes
// on its port, as in the kernel. Virtual addresses are not unique (each app,
// and each process, picks its own; port-0 binds invent ports): a socket of
// the client's own app comes first, then the one that listened first.
AcceptQueue* virtual_listener_for(const std::string& client_app, const wire::Address& destination);

// UDP servers (inbound_udp) by the address the app bound, with the real
// address the daemon bound for it (`expose`). `owner` identifies the entry.
void virtual_udp_servers_add(const void* owner, const std::string& app, const wire::Address& local,
                             const wire::Address& real);
void virtual_udp_servers_remove(const void* owner);

// The real address of the leashed UDP server that holds `destination`
// (chosen as for TCP), or family 0. A leashed client's datagrams to the
// virtual address go there, and the server's replies come back as from the
// virtual address (udp_association).
wire::Address virtual_udp_server_for(const std::string& client_app, const wire::Address& destination);

// The address a connect to `destination` (normalized) arrives at: itself,
// or for the unspecified address (0.0.0.0, ::) the loopback one, as Linux
// connects it; so a client may connect to what a wildcard listener's
// getsockname said.
wire::Address arrival_address(const wire::Address& destination);

}  // namespace netleash::netleashd
