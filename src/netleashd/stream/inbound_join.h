// A leashed client's connection to a virtual address that a leashed listener
// holds (inbound_registry), joined inside the daemon: nothing really listens
// at that address, so connecting out would be refused. The client's outbound
// rules have allowed it already (tcp_session); here the listener's `from`
// decides on the client's source as the listener sees it, the listener's app
// takes a connection slot, and one end of a socketpair goes to its accept
// queue, as a real peer's connection would. The client's session relays to
// the other end. Both sides are audited, each line naming the other app
// (`"joined"`), and each side gets its close line.
#pragma once

#include <cstdint>

#include "netleashd/intake/identity.h"
#include "common/wire.h"

namespace netleash::netleashd {

struct Daemon;
struct AcceptQueue;
struct JoinedEnd;  // the listener's side of a joined connection

// `listening` holds the client's destination (virtual_listener_for);
// `app_end` (taken) is one end of a socketpair for the listener's app.
// Returns 0, *end set, once the listener's app has `app_end` in its accept
// queue (past its backlog if need be); or ECONNREFUSED when `from` or a limit
// turned the client away (audited) or the listener is gone.
int inbound_join(Daemon* d, AcceptQueue* listening, const PeerIdentity& client, const wire::Request& request,
                 int app_end, JoinedEnd** end);

// The relay ended: the listener's close line, its slot back. Frees `end`.
// Bytes as the client counts them (sent: client to listener).
void inbound_join_end(JoinedEnd* end, uint64_t client_sent, uint64_t client_received);

// The client's address as the listener sees it (accept, `from`): the
// client's own virtual local address when it names one of the destination's
// family, else the source a real host picks for `arrival` (127.0.0.1 for
// 127.0.0.0/8, the address itself for another local one); the client's port.
wire::Address joined_client_source(const wire::Address& client_local, const wire::Address& arrival);

}  // namespace netleash::netleashd
