// Asynchronous name resolution on the daemon's loop with c-ares: real TTLs,
// no threads, sockets watched with uv_poll. Lookups are cached per (name,
// family), identical lookups in flight are merged, at most max_in_flight run
// at once and at most max_queued wait; beyond that the answer is kAgain at
// once, so a slow or dead DNS server costs memory in proportion to the bound,
// never the loop's time.
#pragma once

#include <ares.h>
#include <uv.h>

#include <deque>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "netleashd/config.h"
#include "netleashd/dns/resolver_cache.h"

namespace netleash::netleashd {

class Resolver {
 public:
  using Callback = std::function<void(const ResolveResult&)>;

  static Resolver* create(uv_loop_t* loop, const ResolverConfig& config, std::string* error);

  // `family` is AF_UNSPEC, AF_INET or AF_INET6. The callback runs exactly
  // once, possibly before resolve() returns (cache hit, queue full).
  void resolve(const std::string& name, int family, Callback callback);

  // Fails every outstanding lookup with kAgain and frees the resolver once
  // its handles are closed.
  void close();


 private:
  using Key = std::pair<std::string, int>;
  struct Lookup;

  Resolver(uv_loop_t* loop, const ResolverConfig& config);
  bool init_channel(std::string* error);
  void start(const Key& key);
  void finish(const Key& key, const ResolveResult& result);
  void start_queued();
  void rearm_timer();
  void watch_socket(ares_socket_t fd, bool readable, bool writable);

  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable);
  static void on_addrinfo(void* arg, int status, int timeouts, ares_addrinfo* result);
  static void on_poll(uv_poll_t* poll, int status, int events);
  static void on_timer(uv_timer_t* timer);

  uv_loop_t* loop_;
  ResolverConfig config_;
  ares_channel channel_ = nullptr;
  uv_timer_t timer_{};
  std::map<ares_socket_t, uv_poll_t*> polls_;
  std::map<Key, std::vector<Callback>> in_flight_;  // includes queued keys' waiters
  std::deque<Key> queue_;
  size_t running_ = 0;
  size_t waiters_ = 0;  // callbacks waiting, over all keys
  ResolverCache cache_;
  bool closing_ = false;
};

}  // namespace netleash::netleashd
