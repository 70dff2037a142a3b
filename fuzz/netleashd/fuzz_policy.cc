// libFuzzer target: arbitrary bytes as a policy file.
//
// Beyond "no crash, no leak, no hang", checks the invariants the daemon and
// `netleashd --check` rely on: a file is either a policy or at least one
// well-formed "FILE:LINE:COL: message" line, and a parsed policy can be
// matched against without surprises.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "netleashd/policy/policy.h"
#include "netleashd/policy/policy_explain.h"

namespace {

using namespace netleash::policy;

// "p.json:LINE:COL: " with positive numbers, then a non-empty message with no
// control characters (text quoted from the file is escaped), so one error is
// exactly one line.
bool well_formed(const std::string& error) {
  constexpr std::string_view kFile = "p.json:";
  if (error.compare(0, kFile.size(), kFile) != 0) return false;
  std::size_t at = kFile.size();
  for (int field = 0; field < 2; ++field) {
    const std::size_t start = at;
    while (at < error.size() && error[at] >= '0' && error[at] <= '9') ++at;
    if (at == start || error[start] == '0' || at >= error.size() || error[at] != ':') return false;
    ++at;
  }
  const bool printable = std::none_of(error.begin(), error.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  return error.compare(at, 1, " ") == 0 && error.size() > at + 1 && printable;
}

void exercise(const AppPolicy& policy) {
  const std::vector<std::string> names = {"a.example.internal", "localhost"};
  for (const char* destination : {"10.20.0.1:5432", "[::1]:443", "127.0.0.53:53"}) {
    const auto endpoint = Endpoint::parse(destination);
    for (Protocol protocol : {Protocol::kTcp, Protocol::kUdp}) {
      const Decision decision = match_outbound(policy, *endpoint, protocol, names);
      if (decision.allow != decision.rule.has_value()) std::abort();
      if (decision.allow && *decision.rule >= policy.outbound.size()) std::abort();
      const Decision listen = match_listen(policy, *endpoint, protocol);
      if (listen.allow) match_inbound_peer(policy, *listen.rule, endpoint->address);
      // netleashctl explain: the same verdict as the decision (learn mode aside), rules in range.
      const Explanation why = explain_address(policy, *endpoint, protocol, names);
      if (why.decision.allow != (decision.allow || policy.learn)) std::abort();
      if (why.nearest && *why.nearest >= policy.outbound.size()) std::abort();
      const Explanation by_name = explain_host(policy, "a.example.internal", endpoint->port, protocol);
      if (by_name.nearest && *by_name.nearest >= policy.outbound.size()) std::abort();
    }
  }
  may_resolve(policy, "a.example.internal");
  for (const OutboundRule& rule : policy.outbound) rule_text(rule);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> errors;
  const auto policy = parse_policy("p.json", text, &errors);
  if (policy.has_value() == !errors.empty()) std::abort();
  for (const std::string& error : errors) {
    if (!well_formed(error)) std::abort();
  }
  if (policy) exercise(*policy);
  // The same bytes as an explain destination ("udp/host:port"): a target or an error quoting it.
  std::string target_error;
  if (!parse_target(text.substr(0, 300), &target_error) && target_error.empty()) std::abort();
  return 0;
}
