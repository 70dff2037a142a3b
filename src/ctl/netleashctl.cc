// netleashctl: asks a running netleashd for its status, or to reload or check
// its policies, through the root-only control socket PATH.ctl next to the
// daemon's socket. One JSON request line goes out, one JSON line comes back.
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon_socket.h"

namespace {

using nlohmann::json;

constexpr const char* kProgram = "netleashctl";
// A reload of a large policy directory can take a moment; anything longer
// means the daemon is stuck.
constexpr int kTimeoutMs = 10000;
constexpr size_t kMaxResponse = 16u << 20;

void usage(FILE* out) {
  fprintf(out,
          "Usage: %s [--socket PATH] status [--json]\n"
          "       %s [--socket PATH] reload\n"
          "       %s [--socket PATH] check\n"
          "\n"
          "Talk to a running netleashd through its control socket PATH.ctl (root only).\n"
          "\n"
          "  status         connections, bytes and decisions per app, and listeners\n"
          "  reload         reload the policies now (like SIGHUP); prints any errors\n"
          "  check          validate the policy directory without applying it\n"
          "  --json         print the daemon's JSON answer as is\n"
          "  --socket PATH  the daemon's socket (default %s)\n"
          "  -h, --help     show this help\n"
          "  --version      show the version\n"
          "\n"
          "Exit status: 0 on success, 1 on failure (daemon unreachable, reload or check\n"
          "failed), 2 on a usage error.\n",
          kProgram, kProgram, kProgram, netleash::kDefaultDaemonSocket);
}

int fail(const std::string& message) {
  fprintf(stderr, "%s: %s\n", kProgram, message.c_str());
  return 1;
}

// Sends one request line and reads the whole answer; false sets *error.
bool ask(const std::string& path, const json& request, std::string* answer, std::string* error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    *error = "socket path too long: " + path;
    return false;
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *error = "cannot connect to " + path + ": " + strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  }
  const std::string line = request.dump() + "\n";
  if (send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
    *error = "cannot send to " + path + ": " + strerror(errno);
    close(fd);
    return false;
  }
  char chunk[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, kTimeoutMs);
    if (ready <= 0) {
      *error = ready == 0 ? "no answer from " + path : "cannot read from " + path + ": " + strerror(errno);
      close(fd);
      return false;
    }
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = "cannot read from " + path + ": " + strerror(errno);
      close(fd);
      return false;
    }
    if (n == 0) break;
    answer->append(chunk, static_cast<size_t>(n));
    if (answer->size() > kMaxResponse) {
      *error = "answer from " + path + " is too long";
      close(fd);
      return false;
    }
  }
  close(fd);
  return true;
}

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(n);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < sizeof units / sizeof *units) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
  return text;
}

void print_status(const json& answer) {
  const json& d = answer.at("daemon");
  const json& reload = d.at("last_reload");
  printf("netleashd %s, pid %d, up %llus, %zu policies from %s\n",
         d.at("version").get<std::string>().c_str(), d.at("pid").get<int>(),
         static_cast<unsigned long long>(d.at("uptime_s").get<uint64_t>()),
         d.at("policies").get<size_t>(), d.at("policy_dir").get<std::string>().c_str());
  if (!reload.at("time").is_null())
    printf("last reload %s: %s\n", reload.at("time").get<std::string>().c_str(),
           reload.at("ok").get<bool>() ? "ok" : "failed");
  printf("\n%-24s %6s %6s %6s %12s %12s %8s %8s\n", "APP", "OUT", "IN", "UDP", "SENT", "RECEIVED",
         "ALLOW", "DENY");
  for (const auto& [app, c] : answer.at("apps").items()) {
    const json& open = c.at("open");
    printf("%-24s %6llu %6llu %6llu %12s %12s %8llu %8llu\n", app.c_str(),
           static_cast<unsigned long long>(open.at("outbound_tcp").get<uint64_t>()),
           static_cast<unsigned long long>(open.at("inbound_tcp").get<uint64_t>()),
           static_cast<unsigned long long>(open.at("udp").get<uint64_t>()),
           human_bytes(c.at("bytes_sent").get<uint64_t>()).c_str(),
           human_bytes(c.at("bytes_received").get<uint64_t>()).c_str(),
           static_cast<unsigned long long>(c.at("allows").get<uint64_t>()),
           static_cast<unsigned long long>(c.at("denies").get<uint64_t>()));
  }
  bool header = false;
  for (const auto& [app, c] : answer.at("apps").items()) {
    for (const auto& l : c.at("listeners")) {
      if (!header) printf("\n%-24s %-24s %s\n", "LISTENER", "LISTEN", "EXPOSED");
      header = true;
      printf("%-24s %-24s %s\n", app.c_str(), l.at("listen").get<std::string>().c_str(),
             l.at("exposed").get<std::string>().c_str());
    }
  }
}

// reload and check: the errors (FILE:LINE:COL lines) go to stderr.
int print_result(const std::string& cmd, const json& answer) {
  for (const auto& e : answer.value("errors", json::array())) fprintf(stderr, "%s\n", e.get<std::string>().c_str());
  if (!answer.value("ok", false)) {
    fprintf(stderr, "%s: %s failed%s\n", kProgram, cmd.c_str(),
            cmd == "reload" ? "; the daemon keeps its current policies" : "");
    return 1;
  }
  printf("%s: ok, %zu policies\n", cmd.c_str(), answer.value("policies", size_t{0}));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket = netleash::kDefaultDaemonSocket;
  std::string cmd;
  bool as_json = false;
  for (int i = 1; i < argc; ++i) {
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
    } else if (arg == "--json" && cmd == "status") {
      as_json = true;
    } else if (cmd.empty() && (arg == "status" || arg == "reload" || arg == "check")) {
      cmd = arg;
    } else {
      fprintf(stderr, "%s: unexpected argument: %s\n", kProgram, arg.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (cmd.empty()) {
    usage(stderr);
    return 2;
  }
  const std::string path = socket + ".ctl";
  std::string text, error;
  if (!ask(path, {{"cmd", cmd}}, &text, &error)) return fail(error);
  const json answer = json::parse(text, nullptr, false);
  if (!answer.is_object()) return fail("unreadable answer from " + path);
  if (cmd != "status") return print_result(cmd, answer);
  if (!answer.value("ok", false)) {
    for (const auto& e : answer.value("errors", json::array())) fprintf(stderr, "%s: %s\n", kProgram, e.get<std::string>().c_str());
    return 1;
  }
  if (as_json) {
    printf("%s\n", answer.dump(2).c_str());
    return 0;
  }
  try {
    print_status(answer);
  } catch (const json::exception& e) {
    return fail("unexpected answer from " + path + ": " + e.what());
  }
  return 0;
}
