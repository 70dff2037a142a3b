// netleashd under systemd: socket activation (netleashd.socket) and readiness
// notification (Type=notify), through libsystemd's sd_listen_fds/sd_notify.
//
// Outside systemd every function here is a no-op: without LISTEN_FDS the
// daemon binds its own sockets, without NOTIFY_SOCKET nobody is told anything.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace netleash::netleashd::systemd {

// The daemon's two listening sockets as the service manager passed them.
struct ActivatedSockets {
  int stream = -1;     // SOCK_STREAM, listening on PATH
  int seqpacket = -1;  // SOCK_SEQPACKET, listening on PATH.dgram
  int control = -1;    // SOCK_STREAM, listening on PATH.ctl (optional)
  // Descriptors the daemon kept in the service manager's file descriptor
  // store (process_trees.h), by their FDNAME, which starts with kStoredPrefix.
  std::vector<std::pair<int, std::string>> stored;

  bool activated() const { return stream >= 0; }
};

// Takes the sockets systemd passed (LISTEN_PID, LISTEN_FDS from fd 3) and
// returns them, close-on-exec and non-blocking (the listener accepts until
// EAGAIN). LISTEN_* are removed from the environment.
//
// Each passed fd is recognised by what the kernel says it is (type, listening,
// bound path), not by its FileDescriptorName=, so a socket unit whose paths
// disagree with --socket is an error rather than a daemon silently listening
// somewhere the shim does not look. PATH.ctl (netleashd-control.socket) may
// come too. Errors: a passed fd that is none of these, or only one of the two
// main sockets passed. Not socket-activated: true, all -1.
bool take_activated_sockets(const std::string& socket_path, ActivatedSockets* out,
                            std::string* error);

// The file descriptor store (FileDescriptorStoreMax= in the unit): what the
// daemon puts there comes back at its next start, named. Without a service
// manager (no NOTIFY_SOCKET) there is no store and these do nothing.
inline constexpr char kStoredPrefix[] = "nltree-";
bool fd_store_available();
void store_fd(int fd, const std::string& name);
void unstore_fd(const std::string& name);

// sd_notify messages. A failure to deliver one is reported on stderr only:
// the service manager then notices by itself (start or reload timeout).
void notify_ready(const std::string& status);  // READY=1 + STATUS=
void notify_reloading();                       // RELOADING=1 + MONOTONIC_USEC=
void notify_stopping();                        // STOPPING=1
void notify_status(const std::string& status); // STATUS= alone

}  // namespace netleash::netleashd::systemd
