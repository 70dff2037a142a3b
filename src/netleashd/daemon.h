// The daemon's shared state: one instance per process, owned by main(), used
// by every module from the single libuv loop (so no locking anywhere).
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "netleashd/decide/audit.h"
#include "netleashd/config.h"
#include "netleashd/intake/exe_digest.h"
#include "netleashd/intake/file_trust.h"
#include "netleashd/intake/identity.h"
#include "netleashd/decide/connection_limits.h"
#include "netleashd/policy/policy.h"
#include "netleashd/policy/resolution_cache.h"
#include "netleashd/intake/process_trees.h"
#include "netleashd/decide/stats.h"

namespace netleash::netleashd {

class Resolver;
struct Listener;
struct PendingQueue;
struct Signals;
struct Control;
struct TunnelLinks;

// Every accepted connection past its handshake links itself here, so that
// SIGTERM can end them all and the loop can finish.
struct Tracked {
  Tracked* prev = nullptr;
  Tracked* next = nullptr;
  virtual void stop() = 0;  // close now; the object frees itself later
  // An open connection's app and the bytes it has moved so far, for the
  // status (closed ones are counted from their close records). nullptr: it
  // moves no bytes (yet).
  virtual const std::string* live_bytes(uint64_t* /*sent*/, uint64_t* /*received*/) const {
    return nullptr;
  }

 protected:
  ~Tracked() = default;
};

struct Daemon {
  uv_loop_t* loop = nullptr;
  Config config;
  std::string socket_path;
  std::string policy_dir;
  // Swapped whole on reload; a decision reads it synchronously, so nothing
  // needs to keep an old set alive.
  std::shared_ptr<const policy::PolicySet> policies;
  policy::ResolutionCache resolutions;
  IdentityCache identities;
  FileTrust trust;  // root and config trusted_owners
  DigestCache digests;
  ProcessTrees trees{this};  // which tree each process is in, hence its app
  ConnectionLimits limits;
  Audit* audit = nullptr;
  Resolver* resolver = nullptr;
  Listener* stream_listener = nullptr;
  Listener* seqpacket_listener = nullptr;
  PendingQueue* pending = nullptr;
  Signals* signals = nullptr;
  Control* control = nullptr;  // PATH.ctl, the root-only status/reload socket
  Stats stats;
  uint64_t started_loop_ms = 0;  // for the uptime
  TunnelLinks* tunnel = nullptr;  // encrypted links; nullptr without a "key"
  uv_timer_t expiry{};  // drops expired resolutions of idle apps
  Tracked* active = nullptr;  // head of the list of live connections
  size_t active_count = 0;
  bool stopping = false;

  Daemon(uv_loop_t* l, const Config& c, AppIdReader reader);

  void track(Tracked* t);
  void untrack(Tracked* t);
};

// Milliseconds on the loop's clock, for durations.
inline uint64_t loop_now_ms(const Daemon& d) { return uv_now(d.loop); }

// Logs a daemon diagnostic (not an audit line) to stderr.
void log_message(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace netleash::netleashd
