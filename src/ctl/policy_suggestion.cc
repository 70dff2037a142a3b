#include "ctl/policy_suggestion.h"

#include <algorithm>
#include <optional>
#include <vector>

namespace netleash::ctl {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

struct HostPort {
  std::string host;  // without brackets
  uint16_t port = 0;
};

// "1.2.3.4:80" or "[::1]:80" as written in audit lines.
std::optional<HostPort> split_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned long port = 0;
  try {
    port = std::stoul(text.substr(colon + 1));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (port > 65535) return std::nullopt;
  return HostPort{host, static_cast<uint16_t>(port)};
}

bool unspecified(const std::string& address) { return address == "0.0.0.0" || address == "::"; }

// Consecutive ports become "lo-hi"; single ones stay numbers.
ordered_json port_ranges(const std::set<uint16_t>& ports) {
  ordered_json out = ordered_json::array();
  for (auto it = ports.begin(); it != ports.end();) {
    const uint16_t lo = *it;
    uint16_t hi = lo;
    while (++it != ports.end() && *it == hi + 1) hi = *it;
    if (lo == hi)
      out.push_back(lo);
    else
      out.push_back(std::to_string(lo) + "-" + std::to_string(hi));
  }
  return out;
}

std::string text_of(const json& record, const char* key) {
  const json value = record.value(key, json(nullptr));
  return value.is_string() ? value.get<std::string>() : "";
}

}  // namespace

void PolicySuggestion::Use::add(const json& record) {
  ++count;
  if (record.value("learned", false)) ++learned;
  if (record.value("verdict", "") == "deny") ++denied;
  const std::string ts = text_of(record, "ts");
  if (first.empty() || ts < first) first = ts;
  if (ts > last) last = ts;
}

std::string PolicySuggestion::Use::comment() const {
  std::string text = "used " + std::to_string(count) + (count == 1 ? " time" : " times");
  if (learned != 0) text += " (" + std::to_string(learned) + " learned)";
  if (denied != 0) text += " (" + std::to_string(denied) + " denied)";
  return text + ", first " + first + ", last " + last;
}

void PolicySuggestion::add(const json& record) {
  const std::string op = text_of(record, "op");
  const std::string host = text_of(record, "host");
  if (op == "resolve") {
    if (!host.empty()) resolved_.insert(host);
    return;
  }
  const bool outbound = op == "connect" || op == "sendto";
  if (!outbound && op != "listen" && op != "accept") return;
  ++records_;
  const std::string ts = text_of(record, "ts");
  if (first_.empty() || ts < first_) first_ = ts;
  if (ts > last_) last_ = ts;
  if (outbound) {
    const auto dst = split_endpoint(text_of(record, "dst"));
    if (!dst || dst->port == 0) return;
    const std::string protocol = op == "connect" ? "tcp" : "udp";
    Outbound& rule = outbound_[host.empty() ? OutboundKey{1, dst->host, protocol} : OutboundKey{0, host, protocol}];
    rule.add(record);
    rule.ports.insert(dst->port);
    return;
  }
  const std::string listen = text_of(record, "listen");
  if (!split_endpoint(listen)) return;
  // Lines written before the daemon recorded the protocol of a listener are TCP's.
  const std::string protocol = text_of(record, "protocol") == "udp" ? "udp" : "tcp";
  Inbound& rule = inbound_[{protocol, listen}];
  if (op == "listen") {
    rule.add(record);
    if (record.value("verdict", "") == "allow") rule.expose = text_of(record, "dst");
  } else if (const auto peer = split_endpoint(text_of(record, "src"))) {
    rule.peers.insert(peer->host);
    if (rule.count == 0) rule.add(record);
  }
}

// "*.example.com would replace rules 0, 1 (a.example.com, b.example.com)".
std::string PolicySuggestion::wildcard_choices() const {
  std::map<std::string, std::vector<std::pair<size_t, std::string>>> by_parent;
  size_t index = 0;
  for (const auto& [key, rule] : outbound_) {
    const auto& [kind, name, protocol] = key;
    const auto dot = name.find('.');
    // A parent of one label (a top-level domain) is never offered.
    if (kind == 0 && dot != std::string::npos && name.find('.', dot + 1) != std::string::npos)
      by_parent[name.substr(dot + 1)].emplace_back(index, name);
    ++index;
  }
  std::string choices;
  for (const auto& [parent, names] : by_parent) {
    if (names.size() < 2) continue;
    std::string rules, hosts;
    for (const auto& [i, name] : names) {
      rules += (rules.empty() ? "" : ", ") + std::to_string(i);
      hosts += (hosts.empty() ? "" : ", ") + name;
    }
    choices += " Choice: {\"host\": \"*." + parent + "\"} would replace outbound rules " + rules + " (" +
               hosts + ") and allow every other name below " + parent + ".";
  }
  return choices;
}

ordered_json PolicySuggestion::policy() const {
  ordered_json policy;
  policy["app"] = app_;
  std::string comment = "Suggested by netleashctl suggest from " + std::to_string(records_) + " audit records of " +
                        app_ + (records_ == 0 ? "" : " (" + first_ + " to " + last_ + ")") +
                        ". Review before use: it allows exactly what the app did.";
  comment += wildcard_choices();
  std::string unused;
  for (const auto& name : resolved_) {
    const bool used = std::any_of(outbound_.begin(), outbound_.end(),
                                  [&](const auto& entry) { return std::get<1>(entry.first) == name; });
    if (!used) unused += (unused.empty() ? "" : ", ") + name;
  }
  if (!unused.empty()) comment += " Resolved but never connected to (no rule): " + unused + ".";
  policy["comment"] = comment;
  ordered_json outbound = ordered_json::array();
  for (const auto& [key, use] : outbound_) {
    const auto& [kind, target, protocol] = key;
    ordered_json rule;
    rule[kind == 0 ? "host" : "cidr"] = target;
    rule["ports"] = port_ranges(use.ports);
    if (protocol == "udp") rule["protocol"] = "udp";
    rule["comment"] = use.comment();
    outbound.push_back(rule);
  }
  policy["outbound"] = outbound;
  ordered_json inbound = ordered_json::array();
  for (const auto& [key, use] : inbound_) {
    const auto& [protocol, listen] = key;
    const auto address = split_endpoint(listen);
    ordered_json rule;
    if (unspecified(address->host))
      rule["listen"] = address->port;
    else
      rule["listen"] = listen;
    rule["expose"] = use.expose.empty() ? listen : use.expose;
    if (!use.peers.empty()) rule["from"] = use.peers;
    if (protocol == "udp") rule["protocol"] = "udp";
    rule["comment"] = use.comment() + (use.peers.empty() ? "; no peer seen, so no \"from\" (any peer)" : "");
    inbound.push_back(rule);
  }
  if (!inbound.empty()) policy["inbound"] = inbound;
  return policy;
}

}  // namespace netleash::ctl
