// netleashctl status, reload, check.
#include <stdio.h>

#include <cstdint>

#include "ctl/ctl_commands.h"
#include "ctl/ctl_socket.h"

namespace netleash::ctl {
namespace {

using nlohmann::json;

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
  printf("\n%-24s %-8s %6s %6s %6s %12s %12s %8s %8s\n", "APP", "MODE", "OUT", "IN", "UDP", "SENT",
         "RECEIVED", "ALLOW", "DENY");
  for (const auto& [app, c] : answer.at("apps").items()) {
    const json& open = c.at("open");
    const json& mode = c.value("mode", json(nullptr));
    printf("%-24s %-8s %6llu %6llu %6llu %12s %12s %8llu %8llu\n", app.c_str(),
           mode.is_string() ? mode.get<std::string>().c_str() : "-",
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
  const json unknown = answer.value("unknown_apps", json::array());
  if (!unknown.empty()) printf("\nApp ids that asked with no policy (denied):\n");
  for (const auto& u : unknown) {
    const json& closest = u.at("did_you_mean");
    printf("  %-24s %llu denied%s%s%s\n", u.at("app").get<std::string>().c_str(),
           static_cast<unsigned long long>(u.at("denies").get<uint64_t>()),
           closest.is_string() ? "; did you mean " : "",
           closest.is_string() ? closest.get<std::string>().c_str() : "", closest.is_string() ? "?" : "");
  }
}

}  // namespace

int command_status(const std::string& control_path, const Args& args) {
  bool as_json = false;
  for (const auto& arg : args) {
    if (arg != "--json") return usage_error("unexpected argument: " + arg);
    as_json = true;
  }
  json answer;
  std::string error;
  if (!ask(control_path, {{"cmd", "status"}}, &answer, &error)) return fail(error);
  if (!answer.value("ok", false)) {
    for (const auto& e : answer.value("errors", json::array())) fail(e.get<std::string>());
    return 1;
  }
  if (as_json) {
    printf("%s\n", answer.dump(2).c_str());
    return 0;
  }
  try {
    print_status(answer);
  } catch (const json::exception& e) {
    return fail("unexpected answer from " + control_path + ": " + e.what());
  }
  return 0;
}

// The errors (FILE:LINE:COL lines) go to stderr.
int command_reload_or_check(const std::string& control_path, const std::string& cmd, const Args& args) {
  if (!args.empty()) return usage_error("unexpected argument: " + args.front());
  json answer;
  std::string error;
  if (!ask(control_path, {{"cmd", cmd}}, &answer, &error)) return fail(error);
  for (const auto& e : answer.value("errors", json::array())) fprintf(stderr, "%s\n", e.get<std::string>().c_str());
  if (!answer.value("ok", false)) {
    fprintf(stderr, "%s: %s failed%s\n", kProgram, cmd.c_str(),
            cmd == "reload" ? "; the daemon keeps its current policies" : "");
    return 1;
  }
  printf("%s: ok, %zu policies\n", cmd.c_str(), answer.value("policies", size_t{0}));
  return 0;
}

}  // namespace netleash::ctl
