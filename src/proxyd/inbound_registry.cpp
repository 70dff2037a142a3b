#include "inbound_registry.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <cstring>
#include <map>

#include "inbound_queue.h"
#include "wire_check.h"

namespace netleash::proxyd {
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

bool holds(const AcceptQueue* q, const wire::Address& destination) {
  const wire::Address& mine = q->local;
  if (q->closing || q->listener == nullptr) return false;
  if (mine.family == destination.family &&
      std::memcmp(mine.addr, destination.addr, address_bytes(destination)) == 0)
    return true;
  return is_unspecified(mine) && accept_queue_takes(q, destination) && is_local(destination);
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

}  // namespace netleash::proxyd
