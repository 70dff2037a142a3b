// netleash-run: run a command in enforced mode without systemd.
//
// The command gets a fresh network namespace that holds nothing but its own
// loopback interface, so no Internet socket it creates can reach anything
// outside it. Unix sockets are named by filesystem path, which a network
// namespace does not change, so the daemon's socket stays reachable and
// netleashd is the only way out, whatever the code does (raw system calls,
// static binaries and unpatched programs included).
//
// The namespace only holds if the command cannot leave it or reach past it,
// root or not. So, in order, netleash-run
//   1. closes the descriptors it inherited above 2 (but --keep-fd ones): a
//      socket made outside keeps reaching the network it was made in;
//   2. enters a new user namespace, then the new network namespace owned by
//      it, and brings its loopback up (namespaces.cc says why a user
//      namespace for root too);
//   3. drops every capability, for good (capabilities.h);
//   4. sets no_new_privs and installs a seccomp filter against the system
//      calls that enter or make namespaces and mounts (syscall_filter.h);
//   5. execs the command in its own process: the exit status and every signal
//      are the command's own, with nothing in between to forward.
// A step that fails ends netleash-run with 125 before the command runs.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <climits>
#include <string>
#include <vector>

#include "run/capabilities.h"
#include "run/inherited_fds.h"
#include "run/namespaces.h"
#include "run/setup_failure.h"
#include "run/syscall_filter.h"

namespace {

using netleash::run::kProgram;

constexpr int kUsageError = 2;

void usage(FILE* out) {
  fprintf(out,
          "Usage: %s [--socket PATH] [--keep-fd N]... -- COMMAND [ARG...]\n"
          "\n"
          "Run COMMAND in a fresh network namespace that has only its own loopback,\n"
          "with the netleashd socket still reachable, so the daemon is the only way out.\n"
          "COMMAND runs with no capabilities and cannot leave the namespace.\n"
          "\n"
          "  --socket PATH  daemon socket to hand to COMMAND (sets NETLEASH_SOCKET)\n"
          "  --keep-fd N    keep inherited descriptor N open (others above 2 are closed)\n"
          "  -h, --help     show this help\n"
          "  --version      show the version\n"
          "\n"
          "Exit status: COMMAND's own; 125 if the confinement could not be set up,\n"
          "126 if COMMAND could not be executed, 127 if it was not found.\n",
          kProgram);
}

[[noreturn]] void usage_error(const std::string& message) {
  fprintf(stderr, "%s: %s\n", kProgram, message.c_str());
  usage(stderr);
  exit(kUsageError);
}

// A --keep-fd value: a decimal descriptor number that is open now.
int parse_kept_fd(const char* text) {
  char* end = nullptr;
  errno = 0;
  long fd = strtol(text, &end, 10);
  if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || fd > INT_MAX)
    usage_error(std::string("--keep-fd '") + text + "': not a descriptor number");
  if (fcntl(static_cast<int>(fd), F_GETFD) < 0)
    usage_error(std::string("--keep-fd '") + text + "': not an open descriptor");
  return static_cast<int>(fd);
}

struct Options {
  const char* socket_path = nullptr;
  std::vector<int> kept_fds;
  char** command = nullptr;
};

// The value of option `name` at argv[i], as "--name VALUE" or "--name=VALUE";
// nullptr if argv[i] is not that option.
const char* option_value(const std::string& name, int argc, char** argv, int& i) {
  std::string arg = argv[i];
  if (arg == name) {
    if (i + 1 >= argc) usage_error(name + " needs a value");
    return argv[++i];
  }
  if (arg.rfind(name + "=", 0) == 0) return argv[i] + name.size() + 1;
  return nullptr;
}

Options parse_options(int argc, char** argv) {
  Options options;
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    } else if (arg == "-h" || arg == "--help") {
      usage(stdout);
      exit(0);
    } else if (arg == "--version") {
      printf("%s %s\n", kProgram, NETLEASH_VERSION);
      exit(0);
    } else if (const char* path = option_value("--socket", argc, argv, i)) {
      if (path[0] == '\0') usage_error("--socket needs a path");
      options.socket_path = path;
    } else if (const char* fd = option_value("--keep-fd", argc, argv, i)) {
      options.kept_fds.push_back(parse_kept_fd(fd));
    } else if (arg[0] == '-') {
      usage_error("unknown option '" + arg + "'");
    } else {
      break;  // the command, without a "--" before it
    }
  }
  if (i >= argc) usage_error("no command given");
  options.command = argv + i;
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse_options(argc, argv);
  if (options.socket_path != nullptr && setenv("NETLEASH_SOCKET", options.socket_path, 1) != 0)
    netleash::run::fail_setup("setenv NETLEASH_SOCKET");

  netleash::run::close_inherited_fds(options.kept_fds);
  netleash::run::enter_private_network();
  netleash::run::drop_all_capabilities();
  netleash::run::install_syscall_filter();

  execvp(options.command[0], options.command);
  int status = errno == ENOENT ? 127 : 126;
  fprintf(stderr, "%s: %s: %s\n", kProgram, options.command[0], strerror(errno));
  return status;
}
