#include "netleashd/stream/inbound_registry.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <cstring>
#include <map>

#include "netleashd/stream/inbound_queue.h"
#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {
namespace {

// By virtual port (network order); equal keys keep the order of listening.
std::multimap<uint16_t, AcceptQueue*> g_listeners;

size_t address_bytes(const wire::Address& a) { return a.family == AF_INET ? 4 : 16; }

// Is `a` an address of this host? Asked only when a wildcard listener holds
// the destination's port, so the interface list is read only then.
bool is_local(const wire::Address& a) {
  if (is_loopback(a)) return true;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  bool found = false;
  for (const ifaddrs* i = list; i != nullptr && !found; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    const wire::Address mine = from_sockaddr(i->ifa_addr);
    found = mine.family == a.family && std::memcmp(mine.addr, a.addr, address_bytes(a)) == 0;
  }
  freeifaddrs(list);
  return found;
}

// Does a socket bound to `mine` (normalized), taking `destination`'s family
// or not, receive what is sent to `destination`?
bool holds(const wire::Address& mine, bool takes_family, const wire::Address& destination) {
  if (mine.family == destination.family &&
      std::memcmp(mine.addr, destination.addr, address_bytes(destination)) == 0)
    return true;
  return is_unspecified(mine) && takes_family && is_local(destination);
}

bool holds(const AcceptQueue* q, const wire::Address& destination) {
  if (q->closing || q->listener == nullptr) return false;
  return holds(q->local, accept_queue_takes(q, destination), destination);
}

struct UdpServer {
  const void* owner;
  std::string app;
  wire::Address local;  // normalized
  wire::Address real;
};

// By virtual port, as g_listeners.
std::multimap<uint16_t, UdpServer> g_udp_servers;

// An IPv6 socket takes IPv4 too, as a UDP server's socket does unless it set
// IPV6_V6ONLY (which the bound association does not report).
bool udp_takes(const wire::Address& mine, const wire::Address& destination) {
  return mine.family == AF_INET6 || destination.family == AF_INET;
}

}  // namespace

void virtual_listeners_add(AcceptQueue* q) {
  if (q->local.port != 0) g_listeners.emplace(q->local.port, q);
}

void virtual_listeners_remove(AcceptQueue* q) {
  auto [first, last] = g_listeners.equal_range(q->local.port);
  for (auto it = first; it != last; ++it) {
    if (it->second == q) {
      g_listeners.erase(it);
      return;
    }
  }
}

wire::Address arrival_address(const wire::Address& destination) {
  if (!is_unspecified(destination)) return destination;
  wire::Address loopback = destination;
  if (loopback.family == AF_INET) {
    loopback.addr[0] = 127;
    loopback.addr[3] = 1;
  } else {
    loopback.addr[15] = 1;
  }
  return loopback;
}

AcceptQueue* virtual_listener_for(const std::string& client_app, const wire::Address& to) {
  const wire::Address destination = arrival_address(to);
  auto [first, last] = g_listeners.equal_range(destination.port);
  AcceptQueue* other_app = nullptr;
  for (auto it = first; it != last; ++it) {
    AcceptQueue* q = it->second;
    if (!holds(q, destination)) continue;
    if (q->who.app == client_app) return q;
    if (other_app == nullptr) other_app = q;
  }
  return other_app;
}

void virtual_udp_servers_add(const void* owner, const std::string& app, const wire::Address& local,
                             const wire::Address& real) {
  const wire::Address mine = normalize_address(local);
  if (mine.port != 0) g_udp_servers.emplace(mine.port, UdpServer{owner, app, mine, real});
}

void virtual_udp_servers_remove(const void* owner) {
  for (auto it = g_udp_servers.begin(); it != g_udp_servers.end(); ++it) {
    if (it->second.owner == owner) {
      g_udp_servers.erase(it);
      return;
    }
  }
}

wire::Address virtual_udp_server_for(const std::string& client_app, const wire::Address& to) {
  const wire::Address destination = arrival_address(to);
  auto [first, last] = g_udp_servers.equal_range(destination.port);
  const UdpServer* other_app = nullptr;
  for (auto it = first; it != last; ++it) {
    const UdpServer& server = it->second;
    if (!holds(server.local, udp_takes(server.local, destination), destination)) continue;
    if (server.app == client_app) return server.real;
    if (other_app == nullptr) other_app = &server;
  }
  return other_app != nullptr ? other_app->real : wire::Address{};
}

}  // namespace netleash::netleashd
