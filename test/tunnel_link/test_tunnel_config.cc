// The tunnel keys of the daemon configuration: accepted forms and precise
// FILE:LINE:COL errors.
#include <catch2/catch.hpp>

#include "netleashd/config.h"

using netleash::netleashd::Config;
using netleash::netleashd::parse_config;

namespace {

const std::string kKey = "5gPCJQEk3OPjXtn7H9U35Yw0mopbQbn1qDn0Mw8LryQ=";
const std::string kOtherKey = "1gPCJQEk3OPjXtn7H9U35Yw0mopbQbn1qDn0Mw8LryQ=";

std::string error_of(const std::string& text) {
  Config config;
  std::string error;
  REQUIRE_FALSE(parse_config("d.json", text, &config, &error));
  return error;
}

}  // namespace

TEST_CASE("A full tunnel configuration is read", "[tunnel_config]") {
  Config config;
  std::string error;
  const std::string text = R"({
    "key": "/etc/netleash/host.key",
    "tunnel_listen": "0.0.0.0:7443",
    "peers": { "hostb": { "address": "10.0.0.2:7443", "public_key": ")" + kKey + R"(" } },
    "tunnel_ingress": [ { "peer": "hostb", "cidr": "127.0.0.1", "ports": [8080, "9000-9009"] },
                        { "peer": "hostb", "cidr": "10.0.0.0/8" } ]
  })";
  REQUIRE(parse_config("d.json", text, &config, &error));
  CHECK(config.tunnel.enabled());
  CHECK(config.tunnel.key_file == "/etc/netleash/host.key");
  CHECK(config.tunnel.listen->to_string() == "0.0.0.0:7443");
  REQUIRE(config.tunnel.peers.size() == 1);
  CHECK(config.tunnel.find_peer("hostb")->address.to_string() == "10.0.0.2:7443");
  REQUIRE(config.tunnel.ingress.size() == 2);
  CHECK(config.tunnel.ingress[0].ports.size() == 2);
  CHECK(config.tunnel.ingress[1].ports.empty());
}

TEST_CASE("No tunnel keys: tunnels are off", "[tunnel_config]") {
  Config config;
  std::string error;
  REQUIRE(parse_config("d.json", R"({"max_pending": 10})", &config, &error));
  CHECK_FALSE(config.tunnel.enabled());
}

TEST_CASE("Tunnel key errors name the file, line and column", "[tunnel_config]") {
  CHECK(error_of("{\n  \"key\": 5\n}") == "d.json:2:10: \"key\" must be a string, not number");
  CHECK(error_of(R"({"key": "k", "tunnel_listen": "0.0.0.0"})").rfind("d.json:1:31: \"tunnel_listen\"", 0) == 0);
  CHECK(error_of(R"({"key": "k", "tunnel_listen": "0.0.0.0:0"})") ==
        "d.json:1:31: \"tunnel_listen\" needs a port (1-65535)");
  CHECK(error_of(R"({"tunnel_listen": "0.0.0.0:7443"})") ==
        "d.json:1:19: \"tunnel_listen\" needs \"key\" (the host's private key file)");
  CHECK(error_of(R"({"key": "k", "peers": {"b": {"address": "10.0.0.2:1", "public_key": "xx"}}})") ==
        "d.json:1:69: \"public_key\" must be 32 bytes in standard base64 (44 characters)");
  CHECK(error_of(R"({"key": "k", "peers": {"b": {"address": "10.0.0.2:1"}}})") ==
        "d.json:1:29: peer \"b\" needs \"public_key\" (what its --genkey printed)");
  CHECK(error_of(R"({"key": "k", "peers": {"-b": {}}})") ==
        "d.json:1:24: peer name \"-b\" must be 1-64 characters of A-Z a-z 0-9 . _ -, starting "
        "with a letter or digit");
  CHECK(error_of(R"({"key": "k", "peers": {"b": {"address": "x:1", "public_key": ")" + kKey +
                 R"(", "psk": 1}}})")
            .find("unknown key \"psk\" in peer \"b\"") != std::string::npos);
  CHECK(error_of(R"({"key": "k", "peers": {"b": {"address": "10.0.0.2:1", "public_key": ")" + kKey +
                 R"("}, "c": {"address": "10.0.0.3:1", "public_key": ")" + kKey + R"("}}})")
            .find("peer \"c\" has the public key of peer \"b\"") != std::string::npos);
  CHECK(error_of(R"({"key": "k", "tunnel_listen": "0.0.0.0:1", "tunnel_ingress": [{"peer": "z", "cidr": "1.2.3.4"}]})")
            .find("\"z\" is not one of \"peers\"") != std::string::npos);
  CHECK(error_of(R"({"key": "k", "tunnel_ingress": []})") ==
        "d.json:1:32: \"tunnel_ingress\" needs \"tunnel_listen\" (nothing could arrive)");
  const std::string with_peer = R"({"key": "k", "tunnel_listen": "0.0.0.0:1", "peers": {"b": {"address": "10.0.0.2:1", "public_key": ")" + kOtherKey + R"("}}, "tunnel_ingress": [)";
  CHECK(error_of(with_peer + R"({"peer": "b", "cidr": "10.0.0.1/8"}]})").find("\"cidr\":") != std::string::npos);
  CHECK(error_of(with_peer + R"({"peer": "b", "cidr": "10.0.0.0/8", "ports": []}]})")
            .find("\"ports\" is empty") != std::string::npos);
  CHECK(error_of(with_peer + R"({"peer": "b", "cidr": "10.0.0.0/8", "ports": [0]}]})")
            .find("a port must be a whole number from 1 to 65535") != std::string::npos);
  CHECK(error_of(with_peer + R"({"peer": "b", "cidr": "10.0.0.0/8", "protocol": "udp"}]})")
            .find("tunnels carry TCP only") != std::string::npos);
  CHECK(error_of(R"({"key": "k", "tunnel_handshake_timeout_ms": 0})")
            .find("\"tunnel_handshake_timeout_ms\" must be") != std::string::npos);
}
