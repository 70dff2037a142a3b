// libsystemd rather than a hand-written LISTEN_FDS parser and notify client:
// it is on every systemd host already, handles LISTEN_PID checking, abstract
// and path NOTIFY_SOCKETs and credentials, and tracks protocol changes.
#include "netleashd/systemd_glue.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace netleash::netleashd::systemd {
namespace {

bool set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

bool is_listening_unix(int fd, int type, const std::string& path) {
  return sd_is_socket_unix(fd, type, /*listening=*/1, path.c_str(), 0) > 0;
}

void notify(const std::string& message) {
  const int r = sd_notify(/*unset_environment=*/0, message.c_str());
  if (r < 0) std::fprintf(stderr, "netleashd: sd_notify: %s\n", std::strerror(-r));
}

}  // namespace

bool take_activated_sockets(const std::string& socket_path, ActivatedSockets* out,
                            std::string* error) {
  *out = ActivatedSockets{};
  // unset_environment=1: nothing we start later mistakes the fds for its own.
  // sd_listen_fds also marks every passed fd close-on-exec.
  char** names = nullptr;
  const int count = sd_listen_fds_with_names(1, &names);
  if (count < 0) {
    *error = std::string("LISTEN_FDS: ") + std::strerror(-count);
    return false;
  }
  const std::string seqpacket_path = socket_path + ".dgram";
  const std::string control_path = socket_path + ".ctl";
  ActivatedSockets found;
  std::string problem;
  int sockets = 0;
  for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + count && problem.empty(); ++fd) {
    const char* name = names != nullptr ? names[fd - SD_LISTEN_FDS_START] : nullptr;
    if (name != nullptr && std::strncmp(name, kStoredPrefix, sizeof kStoredPrefix - 1) == 0) {
      found.stored.emplace_back(fd, name);
      continue;
    }
    ++sockets;
    if (found.stream < 0 && is_listening_unix(fd, SOCK_STREAM, socket_path)) {
      found.stream = fd;
    } else if (found.seqpacket < 0 && is_listening_unix(fd, SOCK_SEQPACKET, seqpacket_path)) {
      found.seqpacket = fd;
    } else if (found.control < 0 && is_listening_unix(fd, SOCK_STREAM, control_path)) {
      found.control = fd;
    } else {
      problem = "socket-activation fd " + std::to_string(fd) +
                " is not a listening SOCK_STREAM socket at " + socket_path + " or " + control_path +
                " nor a SOCK_SEQPACKET one at " + seqpacket_path +
                " (check ListenStream= and ListenSequentialPacket= against --socket)";
    }
  }
  if (names != nullptr) {
    for (int i = 0; i < count; ++i) free(names[i]);
    free(names);
  }
  if (problem.empty() && sockets > 0 && (found.stream < 0 || found.seqpacket < 0)) {
    problem = "socket activation passed no listening " +
              (found.stream < 0 ? "SOCK_STREAM socket at " + socket_path
                                : "SOCK_SEQPACKET socket at " + seqpacket_path);
  }
  for (int fd : {found.stream, found.seqpacket, found.control}) {
    if (problem.empty() && fd >= 0 && !set_nonblocking(fd))
      problem = "socket-activation fd " + std::to_string(fd) + ": " + std::strerror(errno);
  }
  if (!problem.empty()) {
    for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + count; ++fd) close(fd);
    *error = problem;
    return false;
  }
  *out = found;
  return true;
}

bool fd_store_available() { return std::getenv("NOTIFY_SOCKET") != nullptr; }

void store_fd(int fd, const std::string& name) {
  if (!fd_store_available()) return;
  const std::string message = "FDSTORE=1\nFDNAME=" + name;
  const int r = sd_pid_notify_with_fds(0, 0, message.c_str(), &fd, 1);
  if (r < 0) std::fprintf(stderr, "netleashd: FDSTORE %s: %s\n", name.c_str(), std::strerror(-r));
}

void unstore_fd(const std::string& name) {
  if (fd_store_available()) notify("FDSTOREREMOVE=1\nFDNAME=" + name);
}

void notify_ready(const std::string& status) { notify("READY=1\nSTATUS=" + status); }

// MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) tell this reload
// from an older one; systemd 252 ignores it.
void notify_reloading() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const unsigned long long usec =
      static_cast<unsigned long long>(now.tv_sec) * 1000000ULL +
      static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
  notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void notify_stopping() { notify("STOPPING=1"); }

void notify_status(const std::string& status) { notify("STATUS=" + status); }

}  // namespace netleash::netleashd::systemd
