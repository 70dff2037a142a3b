#include "identity.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace netleash::proxyd {
namespace {

// Linux 6.5; glibc 2.36's headers do not name it yet.
#ifndef SO_PEERPIDFD
constexpr int SO_PEERPIDFD = 77;
#endif

// A pidfd for the peer as it was at connect() time (SO_PEERPIDFD), or, on
// older kernels, for whatever process has that pid now (pidfd_open): still a
// guard against reuse between reading /proc/PID/exe and trusting it.
int peer_pidfd(int fd, pid_t pid) {
  int pidfd = -1;
  socklen_t length = sizeof pidfd;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &length) == 0 && pidfd >= 0)
    return pidfd;
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

// If the peer died after SO_PEERCRED, its pid may already name another
// process whose executable we just looked at; the pidfd (readable once its
// process has exited) tells.
bool exited_meanwhile(int pidfd, PeerIdentity* identity) {
  pollfd p{pidfd, POLLIN, 0};
  if (poll(&p, 1, 0) == 0) return false;
  identity->failure = "process exited while it was being identified";
  return true;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

IdentityCache::Key IdentityCache::key_of(const struct stat& st) {
  return Key{st.st_dev,         st.st_ino,          st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
             st.st_ctim.tv_sec, st.st_ctim.tv_nsec, st.st_size};
}

bool IdentityCache::find(const struct stat& st, std::string* app, std::string* failure) const {
  const auto it = entries_.find(key_of(st));
  if (it == entries_.end()) return false;
  *app = it->second.app;
  *failure = it->second.failure;
  return true;
}

void IdentityCache::lookup(int fd, const struct stat& st, std::string* app,
                           std::string* failure) {
  const Key key = key_of(st);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    // Replaced binaries leave stale keys behind; dropping everything now and
    // then keeps the cache bounded at the cost of a few re-reads.
    if (entries_.size() >= kMaxEntries) entries_.clear();
    Entry entry;
    std::string error;
    if (!reader_(fd, &entry.app, &error)) {
      entry.app.clear();
      entry.failure = error.empty() ? "executable carries no identity record"
                                    : "unreadable identity record: " + error;
    }
    it = entries_.emplace(key, std::move(entry)).first;
  }
  *app = it->second.app;
  *failure = it->second.failure;
}

PeerIdentity identify_peer(int fd, IdentityCache* cache) {
  PeerIdentity identity;
  ucred cred{};
  socklen_t length = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) {
    identity.failure = std::string("SO_PEERCRED: ") + std::strerror(errno);
    return identity;
  }
  identity.pid = cred.pid;
  identity.uid = cred.uid;
  if (cred.pid <= 0) {
    identity.failure = "peer is outside the daemon's pid namespace";
    return identity;
  }
  const Fd pidfd(peer_pidfd(fd, cred.pid));
  if (pidfd.get() < 0) {
    identity.failure = errno == ESRCH ? "process exited before it could be identified"
                                      : std::string("pidfd: ") + std::strerror(errno);
    return identity;
  }
  const std::string exe_path = "/proc/" + std::to_string(cred.pid) + "/exe";
  // A known executable costs one stat; only a new one is opened and read.
  struct stat st{};
  if (stat(exe_path.c_str(), &st) != 0) {
    identity.failure = exe_path + ": " + std::strerror(errno);
    return identity;
  }
  if (exited_meanwhile(pidfd.get(), &identity)) return identity;
  if (cache->find(st, &identity.app, &identity.failure)) return identity;
  const Fd exe(open(exe_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (exe.get() < 0 || fstat(exe.get(), &st) != 0) {
    identity.failure = exe_path + ": " + std::strerror(errno);
    return identity;
  }
  if (exited_meanwhile(pidfd.get(), &identity)) return identity;
  cache->lookup(exe.get(), st, &identity.app, &identity.failure);
  return identity;
}

}  // namespace netleash::proxyd
