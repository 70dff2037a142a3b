#include "netleashd/intake/listener.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "netleashd/daemon.h"
#include "netleashd/intake/pending.h"

namespace netleash::netleashd {
namespace {

// Accepting stops for this long when the process is out of descriptors,
// instead of spinning on a listener that stays readable.
constexpr uint64_t kBackoffMs = 100;
// Accepted per readiness callback, so one listener cannot monopolise the loop.
constexpr int kAcceptBatch = 64;

int socket_type(Channel channel) {
  return channel == Channel::kStream ? SOCK_STREAM : SOCK_SEQPACKET;
}

bool fill_address(const std::string& path, sockaddr_un* address, std::string* error) {
  std::memset(address, 0, sizeof *address);
  address->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address->sun_path) {
    *error = path + ": socket path is empty or too long";
    return false;
  }
  std::memcpy(address->sun_path, path.c_str(), path.size() + 1);
  return true;
}

bool make_parent_directories(const std::string& path, std::string* error) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string directory = path.substr(0, slash);
    if (mkdir(directory.c_str(), 0755) != 0 && errno != EEXIST) {
      *error = directory + ": " + std::strerror(errno);
      return false;
    }
  }
  return true;
}

// Removes a socket file nobody listens on; refuses to touch a live socket or
// anything that is not a socket.
bool clear_stale_socket(const std::string& path, const sockaddr_un& address, int type,
                        std::string* error) {
  struct stat st{};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return true;
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  if (!S_ISSOCK(st.st_mode)) {
    *error = path + ": exists and is not a socket";
    return false;
  }
  const int probe = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (probe < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  const bool live = connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  const int probe_errno = errno;
  close(probe);
  if (live) {
    *error = path + ": another daemon is already listening there";
    return false;
  }
  if (probe_errno != ECONNREFUSED) {
    *error = path + ": " + std::strerror(probe_errno);
    return false;
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    *error = path + ": cannot remove stale socket: " + std::strerror(errno);
    return false;
  }
  return true;
}

// Set on the listener before clients can connect, SO_PASSCRED makes the kernel
// attach the sender's credentials to everything written to the accepted
// sockets (which inherit it), even before the daemon accepts: pending reads
// them with the Request.
bool pass_credentials(int fd) {
  const int on = 1;
  return setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0;
}

int bind_listener(const std::string& path, int type, ino_t* inode, std::string* error) {
  sockaddr_un address{};
  if (!fill_address(path, &address, error) || !make_parent_directories(path, error) ||
      !clear_stale_socket(path, address, type, error))
    return -1;
  const int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct stat st{};
  if (fd < 0 || !pass_credentials(fd) ||
      bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      chmod(path.c_str(), 0666) != 0 || listen(fd, SOMAXCONN) != 0 ||
      lstat(path.c_str(), &st) != 0) {
    *error = path + ": " + std::strerror(errno);
    if (fd >= 0) close(fd);
    return -1;
  }
  *inode = st.st_ino;
  return fd;
}

void on_backoff(uv_timer_t* timer);

void on_acceptable(uv_poll_t* poll, int status, int /*events*/) {
  auto* listener = static_cast<Listener*>(poll->data);
  if (status < 0) return;
  for (int i = 0; i < kAcceptBatch; ++i) {
    const int fd = accept4(listener->fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      pending_start(listener->daemon, fd, listener->channel, listener->credentials_always);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      log_message("accept on %s: %s; pausing for %llums", listener->path.c_str(),
                  std::strerror(errno), static_cast<unsigned long long>(kBackoffMs));
      uv_poll_stop(&listener->poll);
      uv_timer_start(&listener->backoff, on_backoff, kBackoffMs, 0);
    }
    return;  // EAGAIN and everything else: wait for the next readiness
  }
}

void on_backoff(uv_timer_t* timer) {
  auto* listener = static_cast<Listener*>(timer->data);
  uv_poll_start(&listener->poll, UV_READABLE, on_acceptable);
}

void on_handle_closed(uv_handle_t* handle) {
  auto* listener = static_cast<Listener*>(handle->data);
  if (--listener->open_handles == 0) delete listener;
}

Listener* start_listening(Daemon* daemon, int fd, ino_t inode, const std::string& path,
                          Channel channel, bool credentials_always) {
  auto* listener = new Listener{daemon, channel, path, fd, inode, {}, {}, 0, credentials_always};
  uv_poll_init_socket(daemon->loop, &listener->poll, fd);
  uv_timer_init(daemon->loop, &listener->backoff);
  listener->poll.data = listener->backoff.data = listener;
  listener->open_handles = 2;
  uv_poll_start(&listener->poll, UV_READABLE, on_acceptable);
  return listener;
}

}  // namespace

Listener* listener_open(Daemon* daemon, const std::string& path, Channel channel,
                        std::string* error) {
  ino_t inode = 0;
  const int fd = bind_listener(path, socket_type(channel), &inode, error);
  if (fd < 0) return nullptr;
  return start_listening(daemon, fd, inode, path, channel, true);
}

// inode 0 is no real file's, so listener_close leaves systemd's file alone.
Listener* listener_adopt(Daemon* daemon, int fd, const std::string& path, Channel channel) {
  int on = 0;
  socklen_t length = sizeof on;
  const bool already = getsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, &length) == 0 && on != 0;
  if (!already) {
    log_message("%s: passed without SO_PASSCRED (add PassCredentials=yes to the socket unit); "
                "requests queued before now are taken as sent by the connecting process",
                path.c_str());
    if (!pass_credentials(fd))
      log_message("%s: SO_PASSCRED: %s", path.c_str(), std::strerror(errno));
  }
  return start_listening(daemon, fd, 0, path, channel, already);
}

void listener_close(Listener* listener) {
  struct stat st{};
  if (lstat(listener->path.c_str(), &st) == 0 && st.st_ino == listener->inode)
    unlink(listener->path.c_str());
  uv_close(reinterpret_cast<uv_handle_t*>(&listener->poll), on_handle_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&listener->backoff), on_handle_closed);
  close(listener->fd);
}

}  // namespace netleash::netleashd
