// netleashctl: asks a running netleashd for its status, to reload or check
// its policies, or to explain a decision, through the root-only control
// socket PATH.ctl next to the daemon's socket; reads its audit log (log) and
// turns an app's records into a policy (suggest).
#include <stdio.h>

#include <string>

#include "ctl/ctl_commands.h"
#include "ctl/ctl_socket.h"
#include "common/daemon_socket.h"

namespace netleash::ctl {
namespace {

void usage(FILE* out) {
  fprintf(out,
          "Usage: %s [--socket PATH] status [--json]\n"
          "       %s [--socket PATH] reload\n"
          "       %s [--socket PATH] check\n"
          "       %s [--socket PATH] explain [--json] APP DEST\n"
          "       %s [--socket PATH] log [--app APP] [--deny] [--follow] [--json] [--since T] [--file F]\n"
          "       %s [--socket PATH] suggest [--since T] [--file F] APP\n"
          "\n"
          "Talk to a running netleashd through its control socket PATH.ctl (root only).\n"
          "\n"
          "  status         connections, bytes and decisions per app, its mode, listeners,\n"
          "                 and app ids that asked with no policy\n"
          "  reload         reload the policies now (like SIGHUP); prints any errors\n"
          "  check          validate the policy directory without applying it\n"
          "  explain        the decision the daemon would make now for APP and DEST\n"
          "                 ([udp/|tcp/]host:port, ip:port or [v6]:port), with the rule or the\n"
          "                 nearest one; exit 0 allow, 1 deny, 2 usage, 3 daemon unreachable\n"
          "  log            the audit log (the daemon's file, or --file F), one line per\n"
          "                 record; --follow keeps reading as it grows (and is rotated)\n"
          "  suggest        a policy for APP from its audit records (learn mode) on stdout\n"
          "  --since T      records from T on: 2026-12-04T21:00:00Z, or 90s, 10m, 2h, 1d ago\n"
          "  --json         print JSON (status, explain: the daemon's answer; log: the lines)\n"
          "  --socket PATH  the daemon's socket (default %s)\n"
          "  -h, --help     show this help\n"
          "  --version      show the version\n"
          "\n"
          "Exit status: 0 on success, 1 on failure (reload or check failed; explain: deny),\n"
          "2 on a usage error, 3 when the daemon is unreachable (explain, log, suggest; 1 for\n"
          "status, reload, check).\n",
          kProgram, kProgram, kProgram, kProgram, kProgram, kProgram, kDefaultDaemonSocket);
}

}  // namespace

int usage_error(const std::string& message) {
  fprintf(stderr, "%s: %s\n", kProgram, message.c_str());
  usage(stderr);
  return 2;
}

}  // namespace netleash::ctl

int main(int argc, char** argv) {
  using namespace netleash::ctl;
  std::string socket = netleash::kDefaultDaemonSocket;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      usage(stdout);
      return 0;
    }
    if (arg == "--version") {
      printf("%s %s\n", kProgram, NETLEASH_VERSION);
      return 0;
    }
    if (arg == "--socket" && i + 1 < argc) {
      socket = argv[++i];
      continue;
    }
    break;
  }
  if (i == argc) return usage_error("no command given");
  const std::string cmd = argv[i];
  Args args(argv + i + 1, argv + argc);
  // Options may also follow the command (netleashctl status --socket PATH).
  for (size_t j = 0; j + 1 < args.size(); ++j) {
    if (args[j] == "--socket") {
      socket = args[j + 1];
      args.erase(args.begin() + static_cast<long>(j), args.begin() + static_cast<long>(j) + 2);
      break;
    }
  }
  const std::string control = socket + ".ctl";
  if (cmd == "status") return command_status(control, args);
  if (cmd == "reload" || cmd == "check") return command_reload_or_check(control, cmd, args);
  if (cmd == "explain") return command_explain(control, args);
  if (cmd == "log") return command_log(control, args);
  if (cmd == "suggest") return command_suggest(control, args);
  return usage_error("unknown command: " + cmd);
}
