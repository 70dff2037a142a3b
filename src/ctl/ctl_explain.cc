// netleashctl explain APP DEST: the daemon's decision for a destination now.
// Exit status: 0 allow, 1 deny, 2 usage (a malformed DEST too), 3 daemon unreachable.
#include <stdio.h>

#include "ctl/ctl_commands.h"
#include "ctl/ctl_socket.h"

namespace netleash::ctl {
namespace {

using nlohmann::json;

std::string text(const json& value) { return value.is_string() ? value.get<std::string>() : ""; }

void print_explanation(const json& a) {
  const bool allow = a.at("verdict") == "allow";
  printf("%s %s: %s%s\n", text(a.at("app")).c_str(), text(a.at("dest")).c_str(), allow ? "allow" : "deny",
         a.value("learned", false) ? " (learned: learn mode allows what the rules deny)" : "");
  printf("  reason: %s\n", text(a.at("reason")).c_str());
  if (a.contains("rule_text") && a["rule_text"].is_string())
    printf("  rule %s: %s\n", a.at("rule").dump().c_str(), text(a["rule_text"]).c_str());
  if (a.contains("nearest_rule") && a["nearest_rule"].is_string())
    printf("  nearest rule %s: %s\n", a.at("nearest").dump().c_str(), text(a["nearest_rule"]).c_str());
  if (!text(a.value("hint", json(nullptr))).empty()) printf("  hint: %s\n", text(a["hint"]).c_str());
  if (a.contains("host")) {
    const json& host = a["host"];
    printf("  name %s: netleashd %s resolve it for this app", text(host.at("name")).c_str(),
           host.at("may_resolve").get<bool>() ? "may" : "may not");
    std::string addresses;
    for (const auto& address : host.at("addresses")) addresses += (addresses.empty() ? "" : ", ") + text(address);
    printf("; addresses recorded now: %s\n", addresses.empty() ? "none" : addresses.c_str());
  }
  if (a.contains("resolved_from") && !a["resolved_from"].empty()) {
    std::string names;
    for (const auto& name : a["resolved_from"]) names += (names.empty() ? "" : ", ") + text(name);
    printf("  resolved for this app from: %s\n", names.c_str());
  }
  if (a.contains("mode")) printf("  policy mode: %s\n", text(a["mode"]).c_str());
}

}  // namespace

int command_explain(const std::string& control_path, const Args& args) {
  bool as_json = false;
  std::vector<std::string> positional;
  for (const auto& arg : args) {
    if (arg == "--json")
      as_json = true;
    else if (arg.starts_with("-"))
      return usage_error("unexpected argument: " + arg);
    else
      positional.push_back(arg);
  }
  if (positional.size() != 2) return usage_error("explain needs APP and DEST");
  json answer;
  std::string error;
  if (!ask(control_path, {{"cmd", "explain"}, {"app", positional[0]}, {"dest", positional[1]}}, &answer, &error))
    return fail(error, 3);
  if (!answer.value("ok", false)) {
    for (const auto& e : answer.value("errors", json::array())) fail(e.get<std::string>());
    return 2;
  }
  try {
    if (as_json)
      printf("%s\n", answer.dump(2).c_str());
    else
      print_explanation(answer);
    return answer.at("verdict") == "allow" ? 0 : 1;
  } catch (const json::exception& e) {
    return fail("unexpected answer from " + control_path + ": " + e.what(), 3);
  }
}

}  // namespace netleash::ctl
