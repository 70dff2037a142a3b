#include "netleashd/intake/identity.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <type_traits>
#include <vector>

#include "netleashd/intake/code_check.h"

namespace netleash::netleashd {
namespace {

// Linux 6.5; glibc 2.36's headers do not name it yet.
#ifndef SO_PEERPIDFD
constexpr int SO_PEERPIDFD = 77;
#endif

int pidfd_of(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// A pidfd for the peer as it was at connect() time (SO_PEERPIDFD), or, on
// older kernels, for whatever process has that pid now (pidfd_open): still a
// guard against reuse between reading /proc/PID/exe and trusting it.
int peer_pidfd(int fd, pid_t pid) {
  int pidfd = -1;
  socklen_t length = sizeof pidfd;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &length) == 0 && pidfd >= 0)
    return pidfd;
  return pidfd_of(pid);
}

// If the process died after we got its pid, the pid may already name another
// process whose files we just looked at; the pidfd (readable once its process
// has exited) tells.
bool exited_meanwhile(int pidfd, PeerIdentity* identity) {
  pollfd p{pidfd, POLLIN, 0};
  if (poll(&p, 1, 0) == 0) return false;
  identity->app.clear();
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

// The kernel's credentials of the process: "Uid:" and "Gid:" (real,
// effective, saved, filesystem) and "Groups:" of /proc/PID/status.
bool read_credentials(pid_t pid, policy::Runner* runner, std::string* error) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  const Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  char buffer[8192];
  const ssize_t n = fd.get() < 0 ? -1 : read(fd.get(), buffer, sizeof buffer - 1);
  if (n <= 0) {
    *error = path + ": " + (n < 0 ? std::strerror(errno) : "empty");
    return false;
  }
  runner->uids.clear();
  runner->gids.clear();
  std::vector<gid_t> groups;
  buffer[n] = '\0';
  // Lines "Uid:\t0\t0\t0\t0", "Gid:\t...", "Groups:\t1 2 3 " (status is text).
  const auto ids_after = [&](const char* key, auto* out) {
    char* at = std::strstr(buffer, key);
    if (at == nullptr) return;
    char* cursor = at + std::strlen(key);
    for (;;) {
      while (*cursor == ' ' || *cursor == '\t') ++cursor;
      if (*cursor < '0' || *cursor > '9') break;
      out->push_back(static_cast<typename std::remove_pointer_t<decltype(out)>::value_type>(
          std::strtoul(cursor, &cursor, 10)));
    }
  };
  ids_after("\nUid:", &runner->uids);
  ids_after("\nGid:", &runner->gids);
  ids_after("\nGroups:", &groups);
  if (runner->uids.size() != 4 || runner->gids.size() != 4) {
    *error = path + ": no Uid/Gid lines";
    return false;
  }
  runner->gids.insert(runner->gids.end(), groups.begin(), groups.end());
  return true;
}

// Its tree's app for a process whose executable and code passed the trust
// rule; without a tree, the most useful reason there is.
void place_in_tree(const TreeMembership& trees, const std::string& record_failure,
                   PeerIdentity* who) {
  if (const TreeRoot* root = trees.root_of(who->pid)) {
    who->tree = *root;
    who->app = root->app;
    return;
  }
  who->app.clear();
  if (!record_failure.empty()) {
    who->failure = record_failure;
  } else {
    who->failure = "not in a process tree netleashd knows (its identity record, app \"" +
                   who->record_app +
                   "\", counts only for the first process of a tree: was the program started "
                   "before netleashd, or by a process that could not seal it?)";
  }
}

// Everything the daemon believes about process `pid`, guarded by `pidfd`.
void identify_process(pid_t pid, int pidfd, IdentityCache* cache, FileTrust& trust,
                      const TreeMembership& trees, PeerIdentity* who) {
  const std::string exe_link = "/proc/" + std::to_string(pid) + "/exe";
  char path[PATH_MAX];
  const ssize_t length = readlink(exe_link.c_str(), path, sizeof path);
  if (length <= 0 || static_cast<size_t>(length) >= sizeof path) {
    who->failure = exe_link + ": " + (length < 0 ? std::strerror(errno) : "path too long");
    return;
  }
  who->runner.exe.assign(path, static_cast<size_t>(length));
  // The kernel's link leads to the file the process runs, whatever its path
  // says now. A known executable costs one stat; only a new one is read.
  struct stat st{};
  if (stat(exe_link.c_str(), &st) != 0) {
    who->failure = exe_link + ": " + std::strerror(errno);
    return;
  }
  if (exited_meanwhile(pidfd, who)) return;
  std::string record_failure;
  if (!cache->find(st, &who->record_app, &record_failure)) {
    const Fd exe(open(exe_link.c_str(), O_RDONLY | O_CLOEXEC));
    if (exe.get() < 0 || fstat(exe.get(), &st) != 0) {
      who->failure = exe_link + ": " + std::strerror(errno);
      return;
    }
    cache->lookup(exe.get(), st, &who->record_app, &record_failure);
  }
  who->exe_version = version_of(st);
  // Paths mean what they mean to the process (its mount namespace, its root).
  const std::string root_link = "/proc/" + std::to_string(pid) + "/root";
  const Fd root(open(root_link.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  std::string why;
  if (root.get() < 0) why = root_link + ": " + std::strerror(errno);
  if (why.empty()) why = trust.why_untrusted(root.get(), who->runner.exe, st);
  if (why.empty()) why = why_code_untrusted(pid, root.get(), trust);
  if (why.empty()) read_credentials(pid, &who->runner, &why);
  if (!why.empty()) {
    who->failure = who->record_app.empty()
                       ? why
                       : why + "; its identity record (app \"" + who->record_app + "\") is not honoured";
    who->record_app.clear();
    return;
  }
  place_in_tree(trees, record_failure, who);
  exited_meanwhile(pidfd, who);
}

void refuse(PeerIdentity* who, std::string why) {
  who->app.clear();
  who->record_app.clear();
  who->failure = std::move(why);
}

}  // namespace

FileVersion version_of(const struct stat& st) {
  return FileVersion{st.st_dev,         st.st_ino,          st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                     st.st_ctim.tv_sec, st.st_ctim.tv_nsec, st.st_size};
}

bool IdentityCache::find(const struct stat& st, std::string* app, std::string* failure) const {
  const auto it = entries_.find(version_of(st));
  if (it == entries_.end()) return false;
  *app = it->second.app;
  *failure = it->second.failure;
  return true;
}

void IdentityCache::lookup(int fd, const struct stat& st, std::string* app,
                           std::string* failure) {
  const FileVersion key = version_of(st);
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

PeerIdentity identify_peer(int fd, IdentityCache* cache, FileTrust& trust,
                           const TreeMembership& trees) {
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
  identify_process(cred.pid, pidfd.get(), cache, trust, trees, &identity);
  return identity;
}

void check_sender(pid_t sender, FileTrust& trust, IdentityCache* cache, const TreeMembership& trees,
                  PeerIdentity* who) {
  if (sender == who->pid || (who->app.empty() && who->record_app.empty())) return;
  const std::string not_connector = "request sent by pid " + std::to_string(sender) +
                                    ", not by the connecting pid " + std::to_string(who->pid);
  if (sender <= 0)
    return refuse(who, "the request came without its sender's credentials (another pid namespace?)");
  // A pid read from the request, not from the socket: a process that has
  // exited since cannot be told apart from a new one with its pid.
  const Fd pidfd(pidfd_of(sender));
  if (pidfd.get() < 0) return refuse(who, not_connector + ", which exited before it could be identified");
  PeerIdentity theirs;
  theirs.pid = sender;
  identify_process(sender, pidfd.get(), cache, trust, trees, &theirs);
  if (theirs.app.empty() && theirs.record_app.empty())
    return refuse(who, not_connector + ": " + theirs.failure);
  if (theirs.app != who->app || theirs.tree.pid != who->tree.pid ||
      theirs.record_app != who->record_app || theirs.runner.exe != who->runner.exe ||
      theirs.runner.uids != who->runner.uids || theirs.runner.gids != who->runner.gids) {
    refuse(who, not_connector + ", and it runs " + theirs.runner.exe + " (app \"" + theirs.app +
                    "\") in another tree, with other credentials or another program than the connecting " +
                    who->runner.exe + " (app \"" + who->app + "\")");
  }
}

}  // namespace netleash::netleashd
