// Learn mode (apply_mode), explanations for netleashctl explain, and the
// nearest app id for an unknown one.
#include <catch2/catch.hpp>

#include "netleashd/policy/policy_explain.h"
#include "netleashd/policy/resolution_cache.h"
#include "test_policy_support.h"

using namespace netleash::policy;
using netleash::policy::testing::parse_ok;

namespace {

const AppPolicy& example(bool learn = false) {
  static const char* kRules = R"(
    "outbound": [
      { "host": "localhost",     "ports": ["8000-8099"] },
      { "cidr": "10.0.0.0/8",    "ports": [5432] },
      { "host": "*.example.com", "ports": [443] }
    ],
    "inbound": [ { "listen": 8080, "expose": "127.0.0.1:0" } ]})";
  static const AppPolicy enforce = parse_ok(std::string(R"({"app": "demo",)") + kRules);
  static const AppPolicy learning = parse_ok(std::string(R"({"app": "demo", "mode": "learn",)") + kRules);
  return learn ? learning : enforce;
}

Endpoint endpoint(const char* text) {
  auto parsed = Endpoint::parse(text);
  REQUIRE(parsed);
  return *parsed;
}

const std::vector<std::string> kNoNames;

}  // namespace

TEST_CASE("\"mode\" is enforce by default, learn when asked, an error otherwise") {
  CHECK_FALSE(example().learn);
  CHECK(example(true).learn);
  CHECK_FALSE(parse_ok(R"({"app": "a", "mode": "enforce"})").learn);
  std::vector<std::string> errors;
  CHECK_FALSE(parse_policy("p.json", R"({"app": "a", "mode": "Learn"})", &errors));
  CHECK(errors == std::vector<std::string>{
                      "p.json:1:22: \"mode\" must be \"enforce\" (the default) or \"learn\", not \"Learn\""});
}

TEST_CASE("learn mode allows what the rules deny, marked learned with the reason") {
  const Decision denied = match_outbound(example(true), endpoint("192.0.2.1:80"), Protocol::kTcp, kNoNames);
  const Decision learned = apply_mode(example(true), denied);
  CHECK(learned.allow);
  CHECK(learned.learned);
  CHECK_FALSE(learned.rule);
  CHECK(learned.reason == "learn mode, would deny: no rule matches 192.0.2.1:80/tcp");
  // An allow stays what it was; enforce mode changes nothing.
  const Decision allowed = match_outbound(example(true), endpoint("10.1.1.1:5432"), Protocol::kTcp, kNoNames);
  CHECK_FALSE(apply_mode(example(true), allowed).learned);
  CHECK_FALSE(apply_mode(example(), denied).allow);
  // Listens and resolutions go the same way.
  CHECK(apply_mode(example(true), match_listen(example(true), endpoint("127.0.0.1:9000"), Protocol::kTcp)).learned);
}

TEST_CASE("a denied host records the name it was resolved from") {
  const std::vector<std::string> names{"db.internal"};
  const Decision d = match_outbound(example(), endpoint("192.0.2.7:80"), Protocol::kTcp, names);
  CHECK_FALSE(d.allow);
  CHECK(d.host == "db.internal");
}

TEST_CASE("parse_target reads host:port, ip:port, [v6]:port with udp/ or tcp/") {
  std::string error;
  auto t = parse_target("udp/[::1]:53", &error);
  REQUIRE(t);
  CHECK(t->protocol == Protocol::kUdp);
  CHECK(t->endpoint->to_string() == "[::1]:53");
  t = parse_target("tcp/Api.Example.com.:443", &error);
  REQUIRE(t);
  CHECK(t->host == "api.example.com");
  CHECK(t->port == 443);
  t = parse_target("10.0.0.1:5432", &error);
  REQUIRE(t);
  CHECK(t->endpoint);
  for (const char* bad : {"example.com", "example.com:0", "example.com:70000", "[::1]", "sctp/a:1", ""}) {
    INFO(bad);
    CHECK_FALSE(parse_target(bad, &error));
    CHECK(error.find("bad destination") == 0);
  }
}

TEST_CASE("explain: allowed by cidr, by host after resolution, with the rule") {
  Explanation e = explain_address(example(), endpoint("10.9.9.9:5432"), Protocol::kTcp, kNoNames);
  CHECK(e.decision.allow);
  CHECK(e.decision.rule == 1u);
  CHECK(rule_text(example().outbound[1]) == R"({"cidr": "10.0.0.0/8", "ports": [5432]})");
  const std::vector<std::string> names{"api.example.com"};
  e = explain_address(example(), endpoint("192.0.2.1:443"), Protocol::kTcp, names);
  CHECK(e.decision.allow);
  CHECK(e.decision.rule == 2u);
  e = explain_host(example(), "api.example.com", 443, Protocol::kTcp);
  CHECK(e.decision.allow);
  CHECK(e.decision.rule == 2u);
}

TEST_CASE("explain: a denial names the nearest rule and what is missing") {
  // Wrong port of a cidr rule.
  Explanation e = explain_address(example(), endpoint("10.9.9.9:5433"), Protocol::kTcp, kNoNames);
  CHECK_FALSE(e.decision.allow);
  CHECK(e.nearest == 1u);
  CHECK(e.hint == "rule 1 allows 10.0.0.0/8 but on port 5432, not 5433");
  // Wrong protocol.
  e = explain_address(example(), endpoint("10.9.9.9:5432"), Protocol::kUdp, kNoNames);
  CHECK(e.hint == "rule 1 allows 10.0.0.0/8 but for tcp, not udp");
  // A host rule exists for the port, but the daemon never resolved the address.
  e = explain_address(example(), endpoint("192.0.2.1:443"), Protocol::kTcp, kNoNames);
  CHECK(e.nearest == 2u);
  CHECK(e.hint.find("a host rule for port 443/tcp exists (rule 2, *.example.com), but 192.0.2.1 was never "
                    "resolved for this app by netleashd") == 0);
  // Host on the wrong port.
  e = explain_host(example(), "localhost", 80, Protocol::kTcp);
  CHECK_FALSE(e.decision.allow);
  CHECK(e.nearest == 0u);
  CHECK(e.hint == "rule 0 allows localhost but on ports 8000-8099, not 80");
  // No rule for the name at all: it is not even resolved.
  e = explain_host(example(), "evil.test", 443, Protocol::kTcp);
  CHECK(e.hint == "no host rule matches evil.test (rule 2 allows *.example.com on that port); netleashd will "
                  "not resolve it for this app (getaddrinfo fails: \"Name or service not known\")");
  // Nothing near.
  e = explain_address(example(), endpoint("192.0.2.1:22"), Protocol::kTcp, kNoNames);
  CHECK_FALSE(e.nearest);
  CHECK(e.hint == "no outbound rule covers 192.0.2.1 port 22/tcp");
}

TEST_CASE("explain in learn mode: allowed, learned, still with the hint") {
  const Explanation e = explain_address(example(true), endpoint("10.9.9.9:5433"), Protocol::kTcp, kNoNames);
  CHECK(e.decision.allow);
  CHECK(e.decision.learned);
  CHECK(e.nearest == 1u);
}

TEST_CASE("closest_app suggests the policy an unknown app id most likely meant") {
  std::vector<AppPolicy> policies{parse_ok(R"({"app": "perl-app"})"), parse_ok(R"({"app": "curl"})")};
  std::vector<std::string> errors;
  const auto set = PolicySet::from_policies(std::move(policies), &errors);
  REQUIRE(set);
  CHECK(set->closest_app("perl_app") == "perl-app");
  CHECK(set->closest_app("crul") == "curl");
  CHECK(set->closest_app("something-else") == "");
}

TEST_CASE("ResolutionCache::addresses lists a name's live addresses for an app") {
  ResolutionCache cache;
  const auto a = *IpAddress::parse("192.0.2.1");
  const auto b = *IpAddress::parse("192.0.2.2");
  cache.record("app", b, "Api.Example.com", 10, 100);
  cache.record("app", a, "api.example.com", 60, 100);
  cache.record("other", a, "api.example.com", 60, 100);
  CHECK(cache.addresses("app", "api.example.com", 105) == std::vector<IpAddress>{a, b});
  CHECK(cache.addresses("app", "api.example.com", 115) == std::vector<IpAddress>{a});
  CHECK(cache.addresses("nobody", "api.example.com", 105).empty());
}
