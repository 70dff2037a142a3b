// netleashd: the netleash policy daemon. See src/netleashd/README.md.
#include <getopt.h>
#include <sys/resource.h>

#include <cstdio>
#include <string>
#include <vector>

#include "netleashd/config.h"
#include "common/daemon_socket.h"
#include "netleashd/policy/policy.h"
#include "netleashd/service.h"
#include "netleashd/tunnel/tunnel_links.h"

namespace {

const std::string kUsage = std::string(
    "usage: netleashd [--socket PATH] --policy-dir DIR [--audit-log FILE|-] [--config FILE]\n"
    "       netleashd --check --policy-dir DIR [--config FILE]\n"
    "       netleashd --genkey FILE\n"
    "       netleashd --help | --version\n"
    "\n"
    "  --socket PATH      listen on PATH (TCP) and PATH.dgram (UDP, resolution);\n"
    "                     default ") + netleash::kDefaultDaemonSocket + ", where the shim looks\n"
    "  --policy-dir DIR   one JSON policy per application: DIR/*.json\n"
    "  --audit-log FILE   audit log, one JSON object per line (default -: stdout)\n"
    "  --config FILE      daemon configuration (limits, timeouts, resolver, encrypted links)\n"
    "  --check            validate every policy file (and the --config file) and exit\n"
    "  --genkey FILE      write a new private key (mode 0600) for encrypted links to FILE\n"
    "                     and print its public key\n"
    "\n"
    "SIGHUP reloads the policies and reopens the audit log; SIGTERM stops the daemon.\n";

int usage_error(const char* message) {
  std::fprintf(stderr, "netleashd: %s\n%s", message, kUsage.c_str());
  return 2;
}

int check(const netleash::netleashd::Options& options) {
  if (!options.config_file.empty()) {
    netleash::netleashd::Config config;
    std::string error;
    if (!netleash::netleashd::load_config(options.config_file, &config, &error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    std::printf("%s: configuration OK\n", options.config_file.c_str());
  }
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  const auto set = netleash::policy::PolicySet::load_dir(options.policy_dir, &errors, &warnings);
  for (const auto& line : warnings) std::fprintf(stderr, "%s\n", line.c_str());
  for (const auto& line : errors) std::fprintf(stderr, "%s\n", line.c_str());
  if (!set) return 1;
  // Not an error: a policy for every local user is legitimate, but it should
  // be a choice, not an oversight.
  for (const auto& app : set->apps())
    if (app.pins.users.empty())
      std::fprintf(stderr,
                   "%s: warning: no \"users\": any local user who can run this binary gets "
                   "this policy\n",
                   app.file.c_str());
  std::printf("%s: %zu policies OK\n", options.policy_dir.c_str(), set->apps().size());
  return 0;
}

// Every relayed connection costs two descriptors; the soft limit is often
// far below what the hard limit allows.
void raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  enum { kSocket = 1, kPolicyDir, kAuditLog, kConfig, kCheck, kGenkey, kHelp, kVersion };
  static const option kOptions[] = {
      {"socket", required_argument, nullptr, kSocket},
      {"policy-dir", required_argument, nullptr, kPolicyDir},
      {"audit-log", required_argument, nullptr, kAuditLog},
      {"config", required_argument, nullptr, kConfig},
      {"check", no_argument, nullptr, kCheck},
      {"genkey", required_argument, nullptr, kGenkey},
      {"help", no_argument, nullptr, kHelp},
      {"version", no_argument, nullptr, kVersion},
      {nullptr, 0, nullptr, 0},
  };
  netleash::netleashd::Options options;
  bool check_only = false;
  const char* genkey = nullptr;
  opterr = 0;
  for (int c; (c = getopt_long(argc, argv, "", kOptions, nullptr)) != -1;) {
    switch (c) {
      case kSocket: options.socket_path = optarg; break;
      case kPolicyDir: options.policy_dir = optarg; break;
      case kAuditLog: options.audit_log = optarg; break;
      case kConfig: options.config_file = optarg; break;
      case kCheck: check_only = true; break;
      case kGenkey: genkey = optarg; break;
      case kHelp: std::fputs(kUsage.c_str(), stdout); return 0;
      case kVersion: std::printf("netleashd %s\n", NETLEASH_VERSION); return 0;
      default: return usage_error("unknown option or missing argument");
    }
  }
  if (optind < argc) return usage_error("unexpected argument");
  if (genkey != nullptr) return netleash::netleashd::tunnel_genkey(genkey);
  if (options.policy_dir.empty()) return usage_error("--policy-dir is required");
  if (check_only) return check(options);
  raise_fd_limit();
  return netleash::netleashd::run_service(options);
}
