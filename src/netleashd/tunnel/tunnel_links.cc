#include "netleashd/tunnel/tunnel_links.h"

#include <cstdio>

#include "netleashd/daemon.h"
#include "netleashd/tunnel/keyfile.h"
#include "netleashd/tunnel/tunnel_responder.h"

namespace netleash::netleashd {
namespace {

// How far out of order first messages of one peer may arrive: dialled tunnels
// race each other (one TCP connection each), so a handshake stamped earlier
// can arrive later. The window is the handshake timeout: an initiator has
// given up on a first message older than that anyway. See docs/tunnel.md.
constexpr size_t kRememberedHandshakes = 4096;

void on_listener_closed(uv_handle_t* handle) { delete static_cast<TunnelLinks*>(handle->data); }

void on_tunnel_connection(uv_stream_t* server, int status) {
  auto* d = static_cast<Daemon*>(server->data);
  if (status < 0 || d->stopping) return;
  tunnel_responder_accept(d, server);
}

bool open_listener(Daemon& d, TunnelLinks* links, std::string* error) {
  sockaddr_storage address{};
  links->config->listen->to_sockaddr(&address);
  uv_tcp_init(d.loop, &links->listener);
  links->listener.data = &d;
  links->listening = true;
  const std::string where = links->config->listen->to_string();
  int status = uv_tcp_bind(&links->listener, reinterpret_cast<const sockaddr*>(&address), 0);
  if (status == 0) status = uv_listen(reinterpret_cast<uv_stream_t*>(&links->listener), 511,
                                      on_tunnel_connection);
  if (status != 0) {
    *error = "tunnel_listen " + where + ": " + uv_strerror(status);
    return false;
  }
  log_message("tunnel listener on %s", where.c_str());
  return true;
}

}  // namespace

bool tunnel_links_start(Daemon& d, std::string* error) {
  const TunnelConfig& config = d.config.tunnel;
  if (!config.enabled()) return true;
  tunnel::ReorderWindow window;
  window.nanoseconds = uint64_t{config.handshake_timeout_ms} * 1000000;
  window.remembered = kRememberedHandshakes;
  auto* links = new TunnelLinks(window);
  links->config = &d.config.tunnel;
  d.tunnel = links;
  try {
    links->key = tunnel::load_key_file(config.key_file);
  } catch (const tunnel::KeyFileError& e) {
    *error = e.what();
    return false;
  }
  for (const TunnelPeer& peer : config.peers) {
    if (peer.public_key == links->key.public_key) {
      *error = "peer \"" + peer.name + "\" has this host's own public key";
      return false;
    }
    links->guard.add_peer(peer.public_key);
  }
  return !config.listen || open_listener(d, links, error);
}

void tunnel_links_stop(Daemon& d) {
  TunnelLinks* links = d.tunnel;
  if (links == nullptr) return;
  d.tunnel = nullptr;
  if (!links->listening) {
    delete links;
    return;
  }
  links->listener.data = links;
  uv_close(reinterpret_cast<uv_handle_t*>(&links->listener), on_listener_closed);
}

int tunnel_genkey(const std::string& path) {
  try {
    std::printf("%s\n", tunnel::generate_key_file(path).c_str());
    return 0;
  } catch (const tunnel::KeyFileError& e) {
    std::fprintf(stderr, "netleashd: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "netleashd: %s: %s\n", path.c_str(), e.what());
  }
  return 1;
}

policy::Decision decide_tunnel_ingress(const TunnelConfig& config, const std::string& peer,
                                       const policy::Endpoint& destination) {
  policy::Decision decision;
  for (size_t i = 0; i < config.ingress.size(); ++i) {
    const TunnelIngress& entry = config.ingress[i];
    if (entry.peer != peer || !entry.cidr.contains(destination.address)) continue;
    bool port_ok = entry.ports.empty();
    for (const policy::PortRange& range : entry.ports) port_ok = port_ok || range.contains(destination.port);
    if (!port_ok) continue;
    decision.allow = true;
    decision.rule = i;
    decision.reason = "tunnel_ingress " + std::to_string(i) + " allows peer \"" + peer + "\"";
    return decision;
  }
  decision.reason = "no tunnel_ingress entry allows peer \"" + peer + "\" to reach this destination";
  return decision;
}

}  // namespace netleash::netleashd
