#include <catch2/catch.hpp>

#include "test_policy_support.h"

using namespace netleash::policy;
using netleash::policy::testing::parse_ok;

namespace {

Endpoint endpoint(const char* text) {
  auto parsed = Endpoint::parse(text);
  REQUIRE(parsed);
  return *parsed;
}

IpAddress ip(const char* text) {
  auto parsed = IpAddress::parse(text);
  REQUIRE(parsed);
  return *parsed;
}

const std::vector<std::string> kNoNames;

Decision outbound(const AppPolicy& policy, const char* destination, Protocol protocol = Protocol::kTcp,
                  const std::vector<std::string>& names = kNoNames) {
  return match_outbound(policy, endpoint(destination), protocol, names);
}

const AppPolicy& brief_policy() {
  static const AppPolicy policy = parse_ok(R"({
    "app": "demo",
    "outbound": [
      { "host": "localhost",          "ports": [8080] },
      { "host": "*.example.internal", "ports": [443, "8000-8099"] },
      { "cidr": "10.20.0.0/16",       "ports": [5432] },
      { "cidr": "127.0.0.53",         "ports": [53], "protocol": "udp" }
    ],
    "inbound": [
      { "listen": 8080, "expose": "127.0.0.1:18080", "from": ["127.0.0.0/8"] }
    ]
  })");
  return policy;
}

}  // namespace

TEST_CASE("cidr rules match addresses, ports and protocol", "[match]") {
  const AppPolicy& policy = brief_policy();
  Decision decision = outbound(policy, "10.20.3.4:5432");
  CHECK(decision.allow);
  CHECK(decision.rule == 2u);
  CHECK(decision.reason == "outbound rule 2 (10.20.0.0/16) allows 10.20.3.4:5432/tcp");
  CHECK(decision.host.empty());
  CHECK(decision.via.empty());

  decision = outbound(policy, "10.21.0.1:5432");
  CHECK_FALSE(decision.allow);
  CHECK_FALSE(decision.rule);
  CHECK(decision.reason == "no rule matches 10.21.0.1:5432/tcp");
  CHECK_FALSE(outbound(policy, "10.20.3.4:5433").allow);
  CHECK_FALSE(outbound(policy, "10.20.3.4:5432", Protocol::kUdp).allow);

  CHECK(outbound(policy, "127.0.0.53:53", Protocol::kUdp).rule == 3u);
  CHECK_FALSE(outbound(policy, "127.0.0.53:53", Protocol::kTcp).allow);
}

TEST_CASE("v4-mapped destinations match IPv4 rules", "[match]") {
  const AppPolicy& policy = brief_policy();
  const Decision decision = outbound(policy, "[::ffff:10.20.0.9]:5432");
  CHECK(decision.allow);
  CHECK(decision.reason == "outbound rule 2 (10.20.0.0/16) allows 10.20.0.9:5432/tcp");
}

TEST_CASE("host rules match only names the daemon resolved", "[match]") {
  const AppPolicy& policy = brief_policy();
  // Without a resolved name, a host rule cannot allow anything.
  CHECK_FALSE(outbound(policy, "127.0.0.1:8080").allow);
  const std::vector<std::string> localhost = {"localhost"};
  Decision decision = outbound(policy, "127.0.0.1:8080", Protocol::kTcp, localhost);
  CHECK(decision.allow);
  CHECK(decision.rule == 0u);
  CHECK(decision.host == "localhost");
  CHECK(decision.reason == "outbound rule 0 (localhost) allows localhost 127.0.0.1:8080/tcp");
  CHECK_FALSE(outbound(policy, "127.0.0.1:8081", Protocol::kTcp, localhost).allow);
  CHECK_FALSE(outbound(policy, "127.0.0.1:8080", Protocol::kUdp, localhost).allow);

  const std::vector<std::string> other = {"other.example", "DB.Example.Internal."};
  decision = outbound(policy, "[2001:db8::7]:8050", Protocol::kTcp, other);
  CHECK(decision.allow);
  CHECK(decision.rule == 1u);
  CHECK(decision.host == "DB.Example.Internal.");

  const std::vector<std::string> apex = {"example.internal"};
  decision = outbound(policy, "192.0.2.1:443", Protocol::kTcp, apex);
  CHECK_FALSE(decision.allow);
  CHECK(decision.reason == "no rule matches example.internal 192.0.2.1:443/tcp");
}

TEST_CASE("port range edges", "[match]") {
  const AppPolicy& policy = brief_policy();
  const std::vector<std::string> names = {"a.example.internal"};
  for (const char* allowed : {"10.0.0.1:443", "10.0.0.1:8000", "10.0.0.1:8099"}) {
    INFO(allowed);
    CHECK(outbound(policy, allowed, Protocol::kTcp, names).allow);
  }
  for (const char* denied : {"10.0.0.1:442", "10.0.0.1:444", "10.0.0.1:7999", "10.0.0.1:8100"}) {
    INFO(denied);
    CHECK_FALSE(outbound(policy, denied, Protocol::kTcp, names).allow);
  }
  const AppPolicy all_ports = parse_ok(R"({"app": "a", "outbound": [{"cidr": "0.0.0.0/0"}]})");
  CHECK(outbound(all_ports, "1.2.3.4:1").allow);
  CHECK(outbound(all_ports, "1.2.3.4:65535").allow);
  CHECK(outbound(all_ports, "1.2.3.4:0").allow);
  CHECK_FALSE(outbound(all_ports, "[::1]:80").allow);
}

TEST_CASE("protocol any covers tcp and udp; first matching rule wins", "[match]") {
  const AppPolicy policy = parse_ok(R"({"app": "a", "outbound": [
    { "cidr": "10.0.0.0/8", "ports": [53], "protocol": "udp" },
    { "cidr": "10.1.0.0/16", "protocol": "any", "via": "hostb" },
    { "cidr": "10.1.2.0/24" },
    { "cidr": "::/0", "ports": ["1-1024"], "protocol": "any" }
  ]})");
  CHECK(outbound(policy, "10.1.2.3:53", Protocol::kUdp).rule == 0u);
  Decision decision = outbound(policy, "10.1.2.3:53", Protocol::kTcp);
  CHECK(decision.rule == 1u);
  CHECK(decision.via == "hostb");
  CHECK(outbound(policy, "10.1.2.3:80", Protocol::kUdp).rule == 1u);
  CHECK(outbound(policy, "10.2.0.1:53", Protocol::kUdp).rule == 0u);
  CHECK_FALSE(outbound(policy, "10.2.0.1:80", Protocol::kTcp).allow);
  CHECK(outbound(policy, "[2001:db8::1]:1024", Protocol::kUdp).rule == 3u);
  CHECK_FALSE(outbound(policy, "[2001:db8::1]:1025", Protocol::kTcp).allow);
  CHECK(outbound(policy, "[::1]:80", Protocol::kTcp).reason ==
        "outbound rule 3 (::/0) allows [::1]:80/tcp");
}

TEST_CASE("may_resolve follows host rules unless resolve is any", "[match]") {
  const AppPolicy& policy = brief_policy();
  CHECK(may_resolve(policy, "localhost"));
  CHECK(may_resolve(policy, "LOCALHOST."));
  CHECK(may_resolve(policy, "a.example.internal"));
  CHECK(may_resolve(policy, "a.b.example.internal"));
  CHECK_FALSE(may_resolve(policy, "example.internal"));
  CHECK_FALSE(may_resolve(policy, "example.com"));
  CHECK_FALSE(may_resolve(policy, "10.20.0.1"));
  CHECK_FALSE(may_resolve(policy, "bad..example.internal"));

  const AppPolicy any = parse_ok(R"({"app": "a", "resolve": "any"})");
  CHECK(may_resolve(any, "anything.example.com"));
  CHECK_FALSE(may_resolve(any, "not a name"));
  CHECK_FALSE(may_resolve(any, ""));
}

TEST_CASE("listen matching by port, address and protocol", "[match][inbound]") {
  const AppPolicy policy = parse_ok(R"({"app": "a", "inbound": [
    { "listen": 8080, "expose": "127.0.0.1:18080", "from": ["127.0.0.0/8"] },
    { "listen": "127.0.0.1:9000", "expose": "0.0.0.0:19000" },
    { "listen": "[::1]:9000", "expose": "[::1]:0" },
    { "listen": "0.0.0.0:7000", "expose": "0.0.0.0:17000" },
    { "listen": 5353, "expose": "0.0.0.0:15353", "protocol": "udp" }
  ]})");
  auto listen = [&](const char* bound, Protocol protocol = Protocol::kTcp) {
    return match_listen(policy, endpoint(bound), protocol);
  };
  CHECK(listen("0.0.0.0:8080").rule == 0u);
  CHECK(listen("127.0.0.1:8080").rule == 0u);
  CHECK(listen("[::]:8080").rule == 0u);
  CHECK(listen("0.0.0.0:8080").reason == "inbound rule 0 exposes 0.0.0.0:8080/tcp on 127.0.0.1:18080");
  CHECK_FALSE(listen("0.0.0.0:8081").allow);
  CHECK(listen("0.0.0.0:8081").reason == "no inbound rule for 0.0.0.0:8081/tcp");
  CHECK_FALSE(listen("0.0.0.0:8080", Protocol::kUdp).allow);

  CHECK(listen("127.0.0.1:9000").rule == 1u);
  CHECK(listen("[::ffff:127.0.0.1]:9000").rule == 1u);
  CHECK(listen("[::1]:9000").rule == 2u);
  CHECK(listen("0.0.0.0:9000").rule == 1u);  // a wildcard bind takes the first rule for the port
  CHECK(listen("[::]:9000").rule == 1u);
  CHECK_FALSE(listen("10.0.0.1:9000").allow);

  CHECK(listen("192.0.2.1:7000").rule == 3u);
  CHECK(listen("[2001:db8::1]:7000").rule == 3u);

  CHECK(listen("0.0.0.0:5353", Protocol::kUdp).rule == 4u);
  CHECK_FALSE(listen("0.0.0.0:5353", Protocol::kTcp).allow);
}

TEST_CASE("inbound peers are checked against from", "[match][inbound]") {
  const AppPolicy policy = parse_ok(R"({"app": "a", "inbound": [
    { "listen": 8080, "expose": "127.0.0.1:18080", "from": ["127.0.0.0/8", "::1"] },
    { "listen": 8081, "expose": "0.0.0.0:18081" }
  ]})");
  Decision decision = match_inbound_peer(policy, 0, ip("127.1.2.3"));
  CHECK(decision.allow);
  CHECK(decision.rule == 0u);
  CHECK(decision.reason == "inbound rule 0 admits 127.1.2.3");
  CHECK(match_inbound_peer(policy, 0, ip("::1")).allow);
  CHECK(match_inbound_peer(policy, 0, ip("::ffff:127.0.0.1")).allow);
  decision = match_inbound_peer(policy, 0, ip("10.0.0.1"));
  CHECK_FALSE(decision.allow);
  CHECK(decision.rule == 0u);
  CHECK(decision.reason == "inbound rule 0 does not admit 10.0.0.1");
  CHECK(match_inbound_peer(policy, 1, ip("203.0.113.9")).allow);
  CHECK_FALSE(match_inbound_peer(policy, 2, ip("127.0.0.1")).allow);
}

TEST_CASE("apps without a policy get nothing", "[match]") {
  const Decision decision = no_policy("ghost");
  CHECK_FALSE(decision.allow);
  CHECK_FALSE(decision.rule);
  CHECK(decision.reason == "no policy for app \"ghost\"");
  CHECK(no_policy("a\nb").reason == "no policy for app \"a\\nb\"");
}
