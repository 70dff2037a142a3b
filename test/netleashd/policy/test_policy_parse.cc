#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "test_policy_support.h"

using namespace netleash::policy;
using netleash::policy::testing::parse_ok;
using netleash::policy::testing::TempDir;

namespace {

constexpr const char* kBriefExample = R"({
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
})";

}  // namespace

TEST_CASE("the brief's example policy parses into the expected rules", "[parse]") {
  const AppPolicy policy = parse_ok(kBriefExample);
  CHECK(policy.app == "demo");
  CHECK(policy.file == "p.json");
  CHECK(policy.app_location == "p.json:2:10");
  CHECK_FALSE(policy.resolve_any);
  CHECK_FALSE(policy.dns_direct);
  REQUIRE(policy.outbound.size() == 4);
  REQUIRE(policy.outbound[0].host);
  CHECK(policy.outbound[0].host->to_string() == "localhost");
  CHECK_FALSE(policy.outbound[0].cidr);
  CHECK(policy.outbound[0].ports == std::vector<PortRange>{{8080, 8080}});
  CHECK(policy.outbound[0].protocol == ProtocolMatch::kTcp);
  CHECK(policy.outbound[1].host->is_wildcard());
  CHECK(policy.outbound[1].ports == std::vector<PortRange>{{443, 443}, {8000, 8099}});
  REQUIRE(policy.outbound[2].cidr);
  CHECK(policy.outbound[2].cidr->to_string() == "10.20.0.0/16");
  CHECK(policy.outbound[3].cidr->to_string() == "127.0.0.53/32");
  CHECK(policy.outbound[3].protocol == ProtocolMatch::kUdp);
  REQUIRE(policy.inbound.size() == 1);
  const InboundRule& inbound = policy.inbound[0];
  CHECK_FALSE(inbound.listen_address);
  CHECK(inbound.listen_port == 8080);
  CHECK(inbound.expose.to_string() == "127.0.0.1:18080");
  REQUIRE(inbound.from.size() == 1);
  CHECK(inbound.from[0].to_string() == "127.0.0.0/8");
  CHECK(inbound.protocol == Protocol::kTcp);
}

TEST_CASE("optional keys: resolve, dns, via, comment, $schema, protocols, omitted lists", "[parse]") {
  const AppPolicy policy = parse_ok(R"({
    "$schema": "../config/netleash.schema.json",
    "comment": "everything optional",
    "app": "Agent_1.0@corp+x-y",
    "resolve": "any",
    "dns": "direct",
    "outbound": [
      { "host": "api.example.com.", "via": "hostb", "protocol": "any", "comment": "tunnelled" },
      { "cidr": "2001:db8::/32", "protocol": "tcp" }
    ],
    "inbound": [
      { "listen": "[::1]:8443", "expose": "[::]:0", "protocol": "udp", "comment": "c" },
      { "listen": "0.0.0.0:0", "expose": "0.0.0.0:9000" }
    ]
  })");
  CHECK(policy.app == "Agent_1.0@corp+x-y");
  CHECK(policy.resolve_any);
  CHECK(policy.dns_direct);
  CHECK(policy.outbound[0].via == "hostb");
  CHECK(policy.outbound[0].comment == "tunnelled");
  CHECK(policy.outbound[0].ports.empty());
  CHECK(policy.outbound[0].protocol == ProtocolMatch::kAny);
  CHECK(policy.outbound[0].host->to_string() == "api.example.com");
  CHECK(policy.outbound[1].via.empty());
  CHECK(policy.inbound[0].listen_address->to_string() == "::1");
  CHECK(policy.inbound[0].listen_port == 8443);
  CHECK(policy.inbound[0].expose.port == 0);
  CHECK(policy.inbound[0].protocol == Protocol::kUdp);
  CHECK(policy.inbound[0].from.empty());
  CHECK(policy.inbound[1].listen_address->is_unspecified());
}

TEST_CASE("minimal policies", "[parse]") {
  const AppPolicy policy = parse_ok(R"({"app":"a"})");
  CHECK(policy.outbound.empty());
  CHECK(policy.inbound.empty());
  CHECK(parse_ok(R"({"app":"a","outbound":[],"inbound":[]})").outbound.empty());
  CHECK(parse_ok(std::string(128, 'x').insert(0, R"({"app":")") + "\"}").app.size() == 128);
  // A UTF-8 byte order mark and CRLF line ends are fine.
  CHECK(parse_ok("\xEF\xBB\xBF{\r\n\"app\": \"bom\"\r\n}\r\n").app == "bom");
}

TEST_CASE("every shipped policy (config/apps.d, config/examples) is valid", "[parse][config]") {
  const std::filesystem::path config = NETLEASH_CONFIG_DIR;
  std::size_t checked = 0;
  for (const auto& dir : {config / "apps.d", config / "examples"}) {
    std::vector<std::string> errors;
    const auto set = PolicySet::load_dir(dir.string(), &errors);
    for (const auto& error : errors) UNSCOPED_INFO(error);
    CHECK(set);
    CHECK(errors.empty());
    if (set) checked += set->apps().size();
  }
  CHECK(checked >= 5);
}
