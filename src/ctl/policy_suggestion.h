// What an app did, from its audit records, as a policy file (netleashctl
// suggest): host rules for names it reached, cidr rules for literal
// addresses, ports merged into ranges, inbound rules for what it listened
// on, a comment per rule with how often and when. Wildcards are offered in
// the top-level comment, never applied.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

namespace netleash::ctl {

class PolicySuggestion {
 public:
  explicit PolicySuggestion(std::string app) : app_(std::move(app)) {}

  // One audit record of the app; records that ask for no rule are ignored.
  void add(const nlohmann::json& record);
  // The policy file (ordered keys, as written by hand); valid for netleashd --check.
  nlohmann::ordered_json policy() const;
  bool empty() const { return outbound_.empty() && inbound_.empty(); }

 private:
  struct Use {
    uint64_t count = 0;
    uint64_t learned = 0;
    uint64_t denied = 0;
    std::string first, last;  // "ts" of the first and last record
    void add(const nlohmann::json& record);
    std::string comment() const;
  };
  struct Outbound : Use {
    std::set<uint16_t> ports;
  };
  struct Inbound : Use {
    std::string expose;
    std::set<std::string> peers;
  };
  // (0 host / 1 cidr, name or address, "tcp" / "udp")
  using OutboundKey = std::tuple<int, std::string, std::string>;

  std::string wildcard_choices() const;

  std::string app_;
  uint64_t records_ = 0;
  std::string first_, last_;
  std::map<OutboundKey, Outbound> outbound_;
  // by ("tcp" / "udp", the app's "listen" address)
  std::map<std::pair<std::string, std::string>, Inbound> inbound_;
  std::set<std::string> resolved_;          // names resolved, connected to or not
};

}  // namespace netleash::ctl
