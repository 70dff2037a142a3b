// netleash-run: run a command in enforced mode without systemd.
//
// The command gets a fresh network namespace that holds nothing but its own
// loopback interface, so no Internet socket it creates can reach anything
// outside it. Unix sockets are named by filesystem path, which a network
// namespace does not change, so the daemon's socket stays reachable and
// netleashd is the only way out, whatever the code does (raw system calls,
// static binaries and unpatched programs included).
//
// When not root, a user namespace is created first: it grants the capability
// needed to create the network namespace and to bring its loopback up. The
// user is mapped to itself, so the command runs with the caller's uid and gid
// (and, like any process that execs as a non-root uid, with no capabilities).
//
// netleash-run execs the command in its own process: the exit status and
// every signal are the command's own, with nothing in between to forward.
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace {

constexpr const char* kProgram = "netleash-run";

void usage(FILE* out) {
  fprintf(out,
          "Usage: %s [--socket PATH] -- COMMAND [ARG...]\n"
          "\n"
          "Run COMMAND in a fresh network namespace that has only its own loopback,\n"
          "with the netleashd socket still reachable, so the daemon is the only way out.\n"
          "\n"
          "  --socket PATH  daemon socket to hand to COMMAND (sets NETLEASH_SOCKET)\n"
          "  -h, --help     show this help\n"
          "  --version      show the version\n"
          "\n"
          "Exit status: COMMAND's own; 125 if the namespace could not be set up,\n"
          "126 if COMMAND could not be executed, 127 if it was not found.\n",
          kProgram);
}

[[noreturn]] void die(int status, const char* what) {
  fprintf(stderr, "%s: %s: %s\n", kProgram, what, strerror(errno));
  exit(status);
}

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

// Unprivileged callers need a user namespace to own the network namespace.
void enter_user_namespace() {
  uid_t uid = getuid();
  gid_t gid = getgid();
  if (unshare(CLONE_NEWUSER) != 0) die(125, "cannot create a user namespace");
  // setgroups must be denied before an unprivileged process may write gid_map.
  if (!write_file("/proc/self/setgroups", "deny"))
    die(125, "cannot write /proc/self/setgroups");
  if (!write_file("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1\n"))
    die(125, "cannot write /proc/self/uid_map");
  if (!write_file("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1\n"))
    die(125, "cannot write /proc/self/gid_map");
}

// A new network namespace starts with `lo` down; programs expect 127.0.0.1 to work.
void bring_loopback_up() {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die(125, "cannot open a socket to configure lo");
  struct ifreq ifr {};
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) die(125, "cannot read the flags of lo");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) die(125, "cannot bring lo up");
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  const char* socket_path = nullptr;
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    } else if (arg == "-h" || arg == "--help") {
      usage(stdout);
      return 0;
    } else if (arg == "--version") {
      printf("%s %s\n", kProgram, NETLEASH_VERSION);
      return 0;
    } else if (arg == "--socket" && i + 1 < argc) {
      socket_path = argv[++i];
    } else if (arg.rfind("--socket=", 0) == 0) {
      socket_path = argv[i] + strlen("--socket=");
    } else if (arg[0] == '-') {
      fprintf(stderr, "%s: unknown option '%s'\n", kProgram, argv[i]);
      usage(stderr);
      return 2;
    } else {
      break;  // the command, without a "--" before it
    }
  }
  if (i >= argc) {
    fprintf(stderr, "%s: no command given\n", kProgram);
    usage(stderr);
    return 2;
  }
  if (socket_path != nullptr) {
    if (socket_path[0] == '\0') {
      fprintf(stderr, "%s: --socket needs a path\n", kProgram);
      return 2;
    }
    if (setenv("NETLEASH_SOCKET", socket_path, 1) != 0) die(125, "setenv");
  }

  if (geteuid() != 0) enter_user_namespace();
  if (unshare(CLONE_NEWNET) != 0) die(125, "cannot create a network namespace");
  bring_loopback_up();

  execvp(argv[i], argv + i);
  int status = errno == ENOENT ? 127 : 126;
  fprintf(stderr, "%s: %s: %s\n", kProgram, argv[i], strerror(errno));
  return status;
}
