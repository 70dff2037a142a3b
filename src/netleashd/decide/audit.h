// The audit log: one JSON object per line, one line per decision and one per
// closed connection. Daemon diagnostics never go here (they go to stderr).
//
// Writing must never stall the event loop: when the log is a pipe whose
// reader is slow, lines wait in a bounded buffer that a timer retries; past
// the bound, lines are dropped and counted (and the count is logged).
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "netleashd/intake/identity.h"
#include "netleashd/policy/policy.h"

namespace netleash::netleashd {

class Stats;

struct AuditEvent {
  const char* op = "";        // connect, sendto, resolve, listen, accept, socket (ICMP), close
  std::string app;            // empty: the process carries no identity record
  pid_t pid = 0;
  std::optional<uid_t> uid;   // SO_PEERCRED's; none when no local process asked (tunnels)
  std::string exe;            // the executable the kernel says the process runs
  bool inherited = false;     // the process got `app` from the first process of its tree
  std::string dst;            // "ip:port" / "[ip6]:port"; empty when not applicable
  std::string src;            // inbound: the peer; empty when not applicable
  std::string listen;         // inbound: the virtual address the app listens on
  const char* protocol = nullptr;  // inbound: "tcp" or "udp"; a refused ICMP socket: "icmp"; nullptr: not written
  std::string host;           // name the address was resolved from, or the name asked for
  std::string via;            // tunnelled: the peer daemon that connects (dialling host)
  std::string peer;           // tunnelled: the peer daemon that asked (accepting host)
  std::string joined;         // joined in the daemon: the leashed app at the other end
  bool allow = false;
  bool learned = false;       // allowed by learn mode; `reason` says why the rules deny it
  std::optional<size_t> rule; // index of the matching rule in the app's policy
  std::string reason;
};

struct CloseEvent {
  const char* op = "close";
  std::string app;
  pid_t pid = 0;
  std::optional<uid_t> uid;
  std::string exe;
  bool inherited = false;
  std::string dst;
  std::string src;     // inbound: the peer
  std::string listen;  // inbound: the virtual address the app listens on
  const char* protocol = "tcp";
  std::string via;     // tunnelled: as in AuditEvent
  std::string peer;
  std::string joined;  // as in AuditEvent
  std::string error;   // tunnelled: why the connection ended abnormally; empty when clean
  uint64_t bytes_sent = 0;      // app -> destination
  uint64_t bytes_received = 0;  // destination -> app
  uint64_t duration_ms = 0;
};

// Fills the app, pid, uid, exe and inherited of a line about `who`'s request.
template <typename Event>
void describe_peer(const PeerIdentity& who, Event* event) {
  event->app = who.app;
  event->pid = who.pid;
  event->uid = who.uid;
  event->exe = who.runner.exe;
  event->inherited = who.inherited();
}

// Formatting is separate from writing so the unit tests can check lines.
// `learn_mode`: the app's policy is in learn mode ("mode": "learn" on the line).
std::string format_audit_line(const AuditEvent& event, uint64_t unix_ms, bool learn_mode = false);
std::string format_close_line(const CloseEvent& event, uint64_t unix_ms, bool learn_mode = false);
std::string format_timestamp(uint64_t unix_ms);  // RFC 3339, UTC, milliseconds

class Audit {
 public:
  static constexpr size_t kMaxPending = 4u << 20;

  // path "-" means standard output. Returns nullptr (and sets *error) when
  // the file cannot be opened.
  static Audit* open(uv_loop_t* loop, const std::string& path, std::string* error);

  void record(const AuditEvent& event);
  void record(const CloseEvent& event);

  // Opens the file at the path again (SIGHUP, netleashctl reload): after
  // logrotate renamed it, lines go to a new file at the path. Standard output
  // and pipes are kept. On failure the old file stays and *error says why.
  bool reopen(std::string* error);

  // Every record is also counted there (the control socket's status).
  void observe(Stats* stats) { stats_ = stats; }
  // The policies in force, read at each record for the app's mode.
  void follow(const std::shared_ptr<const policy::PolicySet>* policies) { policies_ = policies; }
  const std::string& path() const { return path_; }  // "-": standard output

  // Writes everything still pending, blocking if it must (used at exit), and
  // releases the retry timer; the object is deleted by its close callback.
  void close();

 private:
  Audit(uv_loop_t* loop, std::string path, int fd, bool owns_fd);
  void append(std::string line);
  void flush_ready();
  static void on_retry(uv_timer_t* timer);

  std::string path_;
  int fd_;
  bool owns_fd_;
  bool regular_file_;  // always writable: no readiness check, no PIPE_BUF chunks
  std::string pending_;
  uint64_t dropped_ = 0;
  Stats* stats_ = nullptr;
  const std::shared_ptr<const policy::PolicySet>* policies_ = nullptr;
  bool learn_mode(const std::string& app) const;
  uv_timer_t retry_{};
};

}  // namespace netleash::netleashd
