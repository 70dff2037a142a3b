// Why a user namespace for root as well: every capability check about another
// process or namespace -- setns(2) into the host's network namespace,
// ptrace(2), /proc/PID/mem, pidfd_getfd(2), opening /proc/PID/ns/* -- is made
// against the user namespace that owns it, and no process in a child user
// namespace can hold a capability in its parent. So the command is kept out
// of everything outside by the kernel's own rule, even from processes of the
// same uid that hold no capabilities either (another netleash-run command, run
// with a more generous policy, for one). Dropping capabilities while staying
// in the host's user namespace would leave those reachable.
#include "run/namespaces.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "run/setup_failure.h"

namespace netleash::run {
namespace {

// Writes `text` to a /proc file; used for the user namespace id maps.
bool write_file(const char* path, const std::string& text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = write(fd, text.data(), text.size());
  int saved = errno;
  close(fd);
  errno = saved;
  return n == static_cast<ssize_t>(text.size());
}

std::string map_to_itself(unsigned id) {
  return std::to_string(id) + " " + std::to_string(id) + " 1\n";
}

// The user namespace grants the capabilities needed to create the network
// namespace and bring up its loopback; capabilities.h takes them away again
// before the command runs. Only the caller's own ids are mapped: a process
// may map just its own ids into a namespace it has entered, root included
// (a wider map must be written from outside).
void enter_user_namespace() {
  uid_t uid = getuid();
  gid_t gid = getgid();
  if (unshare(CLONE_NEWUSER) != 0) fail_setup("cannot create a user namespace");
  // setgroups must be denied before a process without CAP_SETGID in the
  // parent namespace may write gid_map.
  if (!write_file("/proc/self/setgroups", "deny")) fail_setup("cannot write /proc/self/setgroups");
  if (!write_file("/proc/self/uid_map", map_to_itself(uid)))
    fail_setup("cannot write /proc/self/uid_map");
  if (!write_file("/proc/self/gid_map", map_to_itself(gid)))
    fail_setup("cannot write /proc/self/gid_map");
}

// A new network namespace starts with `lo` down; programs expect 127.0.0.1 to work.
void bring_loopback_up() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail_setup("cannot open a socket to configure lo");
  struct ifreq ifr {};
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) fail_setup("cannot read the flags of lo");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) fail_setup("cannot bring lo up");
  close(fd);
}

}  // namespace

void enter_private_network() {
  enter_user_namespace();
  if (unshare(CLONE_NEWNET) != 0) fail_setup("cannot create a network namespace");
  bring_loopback_up();
}

}  // namespace netleash::run
