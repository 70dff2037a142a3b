// Validation of one policy file: JSON tree (with positions) -> AppPolicy.
// Every check reports and carries on, so one run lists all of a file's errors.
#include <algorithm>
#include <iterator>

#include "netleashd/policy/json_positions.h"
#include "netleashd/policy/policy.h"
#include "netleashd/policy/policy_diagnostics.h"
#include "netleashd/policy/policy_fields.h"
#include "netleashd/policy/policy_quote.h"
#include "netleashd/policy/policy_runner.h"

namespace netleash::policy {
namespace {

using detail::Diagnostics;
using detail::expect_integer;
using detail::expect_kind;
using detail::Fields;
using detail::nonempty_array_field;
using json::Kind;
using json::Node;

constexpr std::size_t kMaxAppId = 128;
constexpr std::size_t kMaxPeerName = 64;

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// 1-max characters, alphanumeric first, then alphanumerics or `punctuation`.
bool is_identifier(std::string_view text, std::size_t max, std::string_view punctuation) {
  if (text.empty() || text.size() > max || !is_alnum(text.front())) return false;
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return is_alnum(c) || punctuation.find(c) != std::string_view::npos;
  });
}

const Node* string_field(const Fields& fields, std::string_view key, Diagnostics& diagnostics) {
  const Node* value = fields.get(key);
  if (value == nullptr || !expect_kind(*value, Kind::kString, quoted(key), diagnostics)) {
    return nullptr;
  }
  return value;
}

std::vector<PortRange> parse_ports(const Node& ports, Diagnostics& diagnostics) {
  std::vector<PortRange> ranges;
  for (const Node& item : ports.children) {
    if (item.kind == Kind::kString) {
      std::string why;
      if (auto range = PortRange::parse(item.string, &why)) {
        ranges.push_back(*range);
      } else {
        diagnostics.error(item.offset, why);
      }
      continue;
    }
    if (item.kind != Kind::kNumber) {
      diagnostics.error(item.offset, "a port must be a number or a \"lo-hi\" string, not " +
                                         std::string(json::kind_name(item.kind)));
      continue;
    }
    if (auto port = expect_integer(item, 1, 65535, "port", diagnostics)) {
      const auto p = static_cast<std::uint16_t>(*port);
      ranges.push_back(PortRange{p, p});
    }
  }
  return ranges;
}

std::optional<Cidr> parse_cidr(const Node& value, Diagnostics& diagnostics) {
  if (!expect_kind(value, Kind::kString, "a CIDR", diagnostics)) return std::nullopt;
  std::string why;
  auto cidr = Cidr::parse(value.string, &why);
  if (!cidr) diagnostics.error(value.offset, why);
  return cidr;
}

OutboundRule parse_outbound_rule(const Node& node, Diagnostics& diagnostics) {
  OutboundRule rule;
  if (!expect_kind(node, Kind::kObject, "an outbound rule", diagnostics)) return rule;
  const Fields fields(node, {"host", "cidr", "ports", "protocol", "via", "comment"},
                      "outbound rule", diagnostics);
  const Node* host = fields.get("host");
  const Node* cidr = fields.get("cidr");
  if (host != nullptr && cidr != nullptr) {
    const Node* later = host->key_offset > cidr->key_offset ? host : cidr;
    diagnostics.error(later->key_offset, "a rule has either \"host\" or \"cidr\", not both");
  } else if (host == nullptr && cidr == nullptr) {
    diagnostics.error(node.offset, "an outbound rule needs \"host\" or \"cidr\"");
  }
  if (const Node* value = string_field(fields, "host", diagnostics)) {
    std::string why;
    rule.host = HostPattern::parse(value->string, &why);
    if (!rule.host) diagnostics.error(value->offset, why);
  }
  if (cidr != nullptr) rule.cidr = parse_cidr(*cidr, diagnostics);
  if (const Node* ports = nonempty_array_field(fields, "ports", "omit it to allow every port",
                                               diagnostics)) {
    rule.ports = parse_ports(*ports, diagnostics);
  }
  if (const Node* value = string_field(fields, "protocol", diagnostics)) {
    if (value->string == "tcp") {
      rule.protocol = ProtocolMatch::kTcp;
    } else if (value->string == "udp") {
      rule.protocol = ProtocolMatch::kUdp;
    } else if (value->string == "any") {
      rule.protocol = ProtocolMatch::kAny;
    } else if (value->string == "icmp") {
      // Asked for often enough (ping) to deserve its own answer; why not: docs/protocol.md, "ICMP".
      diagnostics.error(value->offset,
                        "\"protocol\" must be \"tcp\", \"udp\" or \"any\": ICMP is not relayed, "
                        "so no rule can allow ping (netleash.json(5), \"ICMP\")");
    } else {
      diagnostics.error(value->offset, "\"protocol\" must be \"tcp\", \"udp\" or \"any\"");
    }
  }
  if (const Node* value = string_field(fields, "via", diagnostics)) {
    if (is_identifier(value->string, kMaxPeerName, "._-")) {
      rule.via = value->string;
    } else {
      diagnostics.error(value->offset, "\"via\" must be a peer name: 1-64 characters of "
                                       "A-Z a-z 0-9 . _ -, starting with a letter or digit");
    }
  }
  if (const Node* value = string_field(fields, "comment", diagnostics)) rule.comment = value->string;
  return rule;
}

void parse_listen(const Node& value, InboundRule& rule, Diagnostics& diagnostics) {
  if (value.kind == Kind::kNumber) {
    if (auto port = expect_integer(value, 0, 65535, "\"listen\" port", diagnostics)) {
      rule.listen_port = static_cast<std::uint16_t>(*port);
    }
    return;
  }
  if (value.kind != Kind::kString) {
    diagnostics.error(value.offset, "\"listen\" must be a port number or an \"address:port\" string, not " +
                                        std::string(json::kind_name(value.kind)));
    return;
  }
  std::string why;
  if (auto endpoint = Endpoint::parse(value.string, &why)) {
    rule.listen_address = endpoint->address;
    rule.listen_port = endpoint->port;
  } else {
    diagnostics.error(value.offset, "\"listen\": " + why);
  }
}

InboundRule parse_inbound_rule(const Node& node, Diagnostics& diagnostics) {
  InboundRule rule;
  if (!expect_kind(node, Kind::kObject, "an inbound rule", diagnostics)) return rule;
  const Fields fields(node, {"listen", "expose", "from", "protocol", "comment"}, "inbound rule",
                      diagnostics);
  if (const Node* listen = fields.get("listen")) {
    parse_listen(*listen, rule, diagnostics);
  } else {
    diagnostics.error(node.offset, "an inbound rule needs \"listen\"");
  }
  if (const Node* value = string_field(fields, "expose", diagnostics)) {
    std::string why;
    if (auto endpoint = Endpoint::parse(value->string, &why)) {
      rule.expose = *endpoint;
    } else {
      diagnostics.error(value->offset, "\"expose\": " + why);
    }
  } else if (fields.get("expose") == nullptr) {
    diagnostics.error(node.offset, "an inbound rule needs \"expose\"");
  }
  if (const Node* from = nonempty_array_field(fields, "from", "omit it to allow any peer",
                                              diagnostics)) {
    for (const Node& item : from->children) {
      if (auto cidr = parse_cidr(item, diagnostics)) rule.from.push_back(*cidr);
    }
  }
  if (const Node* value = string_field(fields, "protocol", diagnostics)) {
    if (value->string == "tcp") {
      rule.protocol = Protocol::kTcp;
    } else if (value->string == "udp") {
      rule.protocol = Protocol::kUdp;
    } else {
      diagnostics.error(value->offset, "inbound \"protocol\" must be \"tcp\" or \"udp\"");
    }
  }
  if (const Node* value = string_field(fields, "comment", diagnostics)) rule.comment = value->string;
  return rule;
}

template <typename Rule>
std::vector<Rule> parse_rules(const Fields& fields, std::string_view key,
                              Rule (*parse_rule)(const Node&, Diagnostics&),
                              Diagnostics& diagnostics) {
  std::vector<Rule> rules;
  const Node* list = fields.get(key);
  if (list == nullptr || !expect_kind(*list, Kind::kArray, quoted(key), diagnostics)) return rules;
  for (const Node& item : list->children) rules.push_back(parse_rule(item, diagnostics));
  return rules;
}

AppPolicy parse_document(const Node& root, Diagnostics& diagnostics) {
  AppPolicy policy;
  if (!expect_kind(root, Kind::kObject, "a policy file", diagnostics)) return policy;
  // "$schema" lets editors find config/netleash.schema.json.
  const Fields fields(root, {"app", "users", "groups", "binary", "sha256", "outbound", "inbound",
                             "resolve", "dns", "mode", "comment", "$schema"},
                      "policy", diagnostics);
  if (const Node* app = string_field(fields, "app", diagnostics)) {
    if (is_identifier(app->string, kMaxAppId, "._@+-")) {
      policy.app = app->string;
      policy.app_location = diagnostics.location(app->offset);
    } else {
      diagnostics.error(app->offset, "\"app\" must be 1-128 characters of A-Z a-z 0-9 . _ @ + -, "
                                     "starting with a letter or digit");
    }
  } else if (fields.get("app") == nullptr) {
    diagnostics.error(root.offset, "missing \"app\" (the id given to netleash-patch --app)");
  }
  if (const Node* resolve = string_field(fields, "resolve", diagnostics)) {
    if (resolve->string == "any") {
      policy.resolve_any = true;
    } else {
      diagnostics.error(resolve->offset, "\"resolve\" must be \"any\" (omit it to resolve only "
                                         "names that host rules match)");
    }
  }
  if (const Node* dns = string_field(fields, "dns", diagnostics)) {
    if (dns->string == "direct") {
      policy.dns_direct = true;
    } else {
      diagnostics.error(dns->offset, "\"dns\" must be \"direct\" (omit it to have netleashd answer "
                                     "the app's DNS queries)");
    }
  }
  if (const Node* mode = string_field(fields, "mode", diagnostics)) {
    if (mode->string == "learn" || mode->string == "enforce") {
      policy.learn = mode->string == "learn";
    } else {
      diagnostics.error(mode->offset, "\"mode\" must be \"enforce\" (the default) or \"learn\", not " +
                                          quoted(mode->string));
    }
  }
  policy.pins = detail::parse_runner_pins(fields, diagnostics);
  string_field(fields, "comment", diagnostics);
  string_field(fields, "$schema", diagnostics);
  policy.outbound = parse_rules(fields, "outbound", &parse_outbound_rule, diagnostics);
  policy.inbound = parse_rules(fields, "inbound", &parse_inbound_rule, diagnostics);
  return policy;
}

}  // namespace

std::optional<AppPolicy> parse_policy(std::string_view file, std::string_view text,
                                      std::vector<std::string>* errors) {
  Diagnostics diagnostics(file, text);
  std::optional<AppPolicy> policy;
  if (text.size() > kMaxPolicyBytes) {
    diagnostics.error(0, "file is larger than " + std::to_string(kMaxPolicyBytes) + " bytes");
  } else {
    json::SyntaxError syntax_error;
    if (auto root = json::parse(text, &syntax_error)) {
      policy = parse_document(*root, diagnostics);
      policy->file = std::string(file);
    } else {
      diagnostics.error(syntax_error.offset, syntax_error.message);
    }
  }
  if (diagnostics.empty()) return policy;
  if (errors != nullptr) {
    auto messages = diagnostics.messages();
    errors->insert(errors->end(), std::make_move_iterator(messages.begin()),
                   std::make_move_iterator(messages.end()));
  }
  return std::nullopt;
}

}  // namespace netleash::policy
