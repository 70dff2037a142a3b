#include "netleashd/dns/resolver.h"

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "netleashd/intake/wire_check.h"

namespace netleash::netleashd {
namespace {

uint64_t monotonic_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(
      duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count());
}

wire::ResolveStatus status_from_ares(int status) {
  switch (status) {
    case ARES_SUCCESS: return wire::ResolveStatus::kOk;
    case ARES_ENOTFOUND:
    case ARES_EBADNAME: return wire::ResolveStatus::kNoName;
    case ARES_ENODATA: return wire::ResolveStatus::kNoData;
    case ARES_ETIMEOUT:
    case ARES_ECONNREFUSED:
    case ARES_ESERVFAIL:
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION: return wire::ResolveStatus::kAgain;
    default: return wire::ResolveStatus::kFail;
  }
}

ResolveResult again() {
  ResolveResult result;
  result.status = wire::ResolveStatus::kAgain;
  return result;
}

}  // namespace

// What ares_getaddrinfo carries back to us: c-ares may call back after the
// resolver started closing, so the arg names the lookup, not a waiter.
struct Resolver::Lookup {
  Resolver* resolver;
  Key key;
};

Resolver::Resolver(uv_loop_t* loop, const ResolverConfig& config)
    : loop_(loop), config_(config) {}

Resolver* Resolver::create(uv_loop_t* loop, const ResolverConfig& config, std::string* error) {
  auto* resolver = new Resolver(loop, config);
  if (!resolver->init_channel(error)) {
    delete resolver;
    return nullptr;
  }
  uv_timer_init(loop, &resolver->timer_);
  resolver->timer_.data = resolver;
  return resolver;
}

bool Resolver::init_channel(std::string* error) {
  static const int library = ares_library_init(ARES_LIB_INIT_ALL);
  if (library != ARES_SUCCESS) {
    *error = std::string("c-ares: ") + ares_strerror(library);
    return false;
  }
  ares_options options{};
  options.sock_state_cb = on_sock_state;
  options.sock_state_cb_data = this;
  options.timeout = static_cast<int>(config_.timeout_ms);
  options.tries = static_cast<int>(config_.tries);
  options.lookups = const_cast<char*>("fb");  // the hosts file first, as nsswitch does
  const int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
  int status = ares_init_options(&channel_, &options, mask);
  if (status == ARES_SUCCESS && !config_.servers.empty()) {
    std::string csv;
    for (const auto& server : config_.servers) csv += (csv.empty() ? "" : ",") + server;
    status = ares_set_servers_ports_csv(channel_, csv.c_str());
  }
  if (status != ARES_SUCCESS) {
    *error = std::string("c-ares: ") + ares_strerror(status);
    return false;
  }
  // c-ares 1.18 has no option for the hosts file path, only this variable,
  // read per lookup that sets ARES_AI_ENVHOSTS.
  if (!config_.hosts_file.empty()) setenv("CARES_HOSTS", config_.hosts_file.c_str(), 1);
  return true;
}

void Resolver::resolve(const std::string& name, int family, Callback callback) {
  if (closing_) return callback(again());
  Key key{ResolverCache::key_name(name), family};
  if (const ResolveResult* cached = cache_.find(key.first, family, monotonic_ms()))
    return callback(*cached);
  // Each waiter holds an app's socket open: bound them all, merged or not.
  if (waiters_ >= config_.max_in_flight + config_.max_queued) return callback(again());
  if (auto it = in_flight_.find(key); it != in_flight_.end()) {
    it->second.push_back(std::move(callback));
    ++waiters_;
    return;
  }
  if (running_ >= config_.max_in_flight && queue_.size() >= config_.max_queued)
    return callback(again());
  in_flight_[key].push_back(std::move(callback));
  ++waiters_;
  if (running_ < config_.max_in_flight)
    start(key);
  else
    queue_.push_back(key);
}

void Resolver::start(const Key& key) {
  ++running_;
  ares_addrinfo_hints hints{};
  hints.ai_family = key.second;
  hints.ai_flags = ARES_AI_CANONNAME | (config_.hosts_file.empty() ? 0 : ARES_AI_ENVHOSTS);
  ares_getaddrinfo(channel_, key.first.c_str(), nullptr, &hints, on_addrinfo,
                   new Lookup{this, key});
  rearm_timer();
}

void Resolver::on_addrinfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* info) {
  auto* lookup = static_cast<Lookup*>(arg);
  Resolver* self = lookup->resolver;
  ResolveResult result;
  result.status = status_from_ares(status);
  if (status == ARES_SUCCESS && info != nullptr) {
    uint32_t ttl = 0;
    bool first = true;
    for (auto* node = info->nodes; node != nullptr; node = node->ai_next) {
      const wire::Address address = from_sockaddr(node->ai_addr);
      if (address.family == 0) continue;
      if (result.addresses.size() < wire::kMaxResolveAddresses)
        result.addresses.push_back(address);
      const auto node_ttl = static_cast<uint32_t>(std::max(node->ai_ttl, 0));
      ttl = first ? node_ttl : std::min(ttl, node_ttl);
      first = false;
    }
    for (auto* cname = info->cnames; cname != nullptr; cname = cname->next)
      ttl = std::min(ttl, static_cast<uint32_t>(std::max(cname->ttl, 0)));
    result.canonical_name = info->name != nullptr ? info->name : lookup->key.first;
    if (result.addresses.empty()) result.status = wire::ResolveStatus::kNoData;
    result.ttl_s = clamp_ttl(ttl, self->config_.min_ttl_s, self->config_.max_ttl_s,
                             self->config_.hosts_ttl_s);
  } else {
    // Negative answers are remembered briefly so a loop of lookups for a
    // missing name does not become a loop of DNS queries.
    result.ttl_s = self->config_.min_ttl_s;
  }
  if (info != nullptr) ares_freeaddrinfo(info);
  const Key key = lookup->key;
  delete lookup;
  --self->running_;
  self->finish(key, result);
  self->start_queued();
}

void Resolver::finish(const Key& key, const ResolveResult& result) {
  if (!closing_) cache_.store(key.first, key.second, result, monotonic_ms());
  auto node = in_flight_.extract(key);
  if (node.empty()) return;
  waiters_ -= node.mapped().size();
  for (auto& callback : node.mapped()) callback(result);
}

void Resolver::start_queued() {
  while (!closing_ && running_ < config_.max_in_flight && !queue_.empty()) {
    const Key key = queue_.front();
    queue_.pop_front();
    start(key);
  }
  rearm_timer();
}

void Resolver::rearm_timer() {
  if (closing_ || running_ == 0) {
    uv_timer_stop(&timer_);
    return;
  }
  timeval tv{};
  ares_timeout(channel_, nullptr, &tv);
  const auto ms = static_cast<uint64_t>(tv.tv_sec) * 1000 + static_cast<uint64_t>(tv.tv_usec) / 1000;
  uv_timer_start(&timer_, on_timer, std::max<uint64_t>(ms, 1), 0);
}

void Resolver::on_timer(uv_timer_t* timer) {
  auto* self = static_cast<Resolver*>(timer->data);
  ares_process_fd(self->channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  self->rearm_timer();
}

void Resolver::on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
  static_cast<Resolver*>(data)->watch_socket(fd, readable != 0, writable != 0);
}

void Resolver::watch_socket(ares_socket_t fd, bool readable, bool writable) {
  auto it = polls_.find(fd);
  if (!readable && !writable) {
    if (it == polls_.end()) return;
    uv_close(reinterpret_cast<uv_handle_t*>(it->second),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
    polls_.erase(it);
    return;
  }
  if (it == polls_.end()) {
    auto* poll = new uv_poll_t;
    if (uv_poll_init_socket(loop_, poll, fd) != 0) {
      delete poll;
      return;
    }
    poll->data = this;
    it = polls_.emplace(fd, poll).first;
  }
  const int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
  uv_poll_start(it->second, events, on_poll);
}

void Resolver::on_poll(uv_poll_t* poll, int status, int events) {
  auto* self = static_cast<Resolver*>(poll->data);
  ares_socket_t fd = ARES_SOCKET_BAD;
  uv_fileno(reinterpret_cast<uv_handle_t*>(poll), &fd);
  // On a poll error let c-ares try both directions: it will see the error.
  const bool read = status < 0 || (events & UV_READABLE);
  const bool write = status < 0 || (events & UV_WRITABLE);
  ares_process_fd(self->channel_, read ? fd : ARES_SOCKET_BAD, write ? fd : ARES_SOCKET_BAD);
  self->rearm_timer();
}

void Resolver::close() {
  closing_ = true;
  queue_.clear();
  // Fails every running lookup (ARES_EDESTRUCTION) and closes c-ares's
  // sockets, which calls on_sock_state to release their poll handles.
  ares_destroy(channel_);
  channel_ = nullptr;
  for (auto& [key, callbacks] : in_flight_)
    for (auto& callback : callbacks) callback(again());
  in_flight_.clear();
  waiters_ = 0;
  for (auto& [fd, poll] : polls_)
    uv_close(reinterpret_cast<uv_handle_t*>(poll),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
  polls_.clear();
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_),
           [](uv_handle_t* handle) { delete static_cast<Resolver*>(handle->data); });
}

}  // namespace netleash::netleashd
