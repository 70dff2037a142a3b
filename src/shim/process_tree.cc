// The process tree (src/netleashd/intake/process_trees.h): netleashd decides a process
// under the app of the first process of its tree, and learns which tree a
// process is in from the kernel, never from the shim.
//
// The first process of a tree (its seal installed the tree filter, whose
// listener waits at seal::kTreeListenerFd) hands that listener to the daemon
// once, from the shim's constructor, before the program's own code runs;
// then it keeps no copy, so that a daemon that refused or died leaves the
// tree without a listener and every probe fails at once (ENOSYS), never
// hangs. Every process (the first, a forked child, an exec'd program that
// got the shim by LD_PRELOAD) then probes once before its first request:
// prctl(kTreeOption), which the kernel delivers to the daemon with the
// caller's pid. What the probe returns does not matter here: the daemon
// decides from what it saw.
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include "shim/internal.h"
#include "shim/real.h"
#include "shim/seal/seal.h"

namespace netleash::shim {
namespace {

// The process that last probed: a forked child has another pid and probes
// again. Two threads probing at once is harmless.
std::atomic<pid_t> g_prober{0};

void probe() {
  long r;
  // A signal can interrupt the probe before the daemon received it.
  do r = seal::raw_syscall(__NR_prctl, seal::kTreeOption, 0, 0, 0, 0);
  while (r == -EINTR);
  debug("process tree probe: %s", r == 0 ? "a member" : strerror(static_cast<int>(-r)));
}

bool holds_tree_listener() {
  char target[32];
  ssize_t n = readlink("/proc/self/fd/1009", target, sizeof target - 1);
  static_assert(seal::kTreeListenerFd == 1009, "the path above names the listener's fd");
  if (n <= 0) return false;
  target[n] = '\0';
  return strcmp(target, "anon_inode:seccomp notify") == 0;
}

// kJoinTree with the listener attached. The connection is closed at once:
// the daemon reads the request (and takes the descriptor) all the same.
void offer_listener() {
  // The stream socket: a socket-activated daemon starts on its first connection.
  int fd = NL_REAL(socket)(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (daemon_attach(fd, false) == 0) {
    wire::Request request = make_request(wire::Op::kJoinTree);
    iovec data{&request, sizeof request};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr message{};
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&message);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    const int listener = seal::kTreeListenerFd;
    memcpy(CMSG_DATA(c), &listener, sizeof listener);
    ssize_t sent;
    do sent = NL_REAL(sendmsg)(fd, &message, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    debug("process tree offered to the daemon: %s", sent < 0 ? strerror(errno) : "sent");
  }
  NL_REAL(close)(fd);
}

}  // namespace

void tree_start() {
  if (!holds_tree_listener()) return;
  // Before the offer: its daemon_attach must not probe ahead of it.
  g_prober.store(getpid());
  offer_listener();
  NL_REAL(close)(seal::kTreeListenerFd);
  probe();
}

void tree_join_once() {
  const pid_t self = getpid();
  if (g_prober.load(std::memory_order_relaxed) == self) return;
  g_prober.store(self);
  probe();
}

}  // namespace netleash::shim
