// The accepting end of a tunnel: handshake (peer authenticated by its static
// key), the destination request, the tunnel_ingress decision, the connect
// from this host, the result, then the relay. docs/tunnel.md, section 13.
#pragma once

#include <uv.h>

namespace netleash::netleashd {

struct Daemon;

// Accepts one connection from the tunnel listener `server`.
void tunnel_responder_accept(Daemon* d, uv_stream_t* server);

}  // namespace netleash::netleashd
