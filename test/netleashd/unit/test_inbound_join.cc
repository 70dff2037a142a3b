// A leashed client joined to a leashed listener: the source the listener
// sees (accept's peer, what `from` is checked against), and the `joined`
// field of the audit lines.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <nlohmann/json.hpp>

#include "netleashd/decide/audit.h"
#include "netleashd/stream/inbound_join.h"
#include "netleashd/stream/inbound_registry.h"
#include "netleashd/intake/wire_check.h"

using namespace netleash;

namespace {

wire::Address address(const char* ip, uint16_t port) {
  wire::Address a{};
  a.family = std::strchr(ip, ':') != nullptr ? AF_INET6 : AF_INET;
  a.port = htons(port);
  inet_pton(a.family, ip, a.addr);
  return a;
}

std::string source(const wire::Address& local, const char* to) {
  return netleashd::format_endpoint(netleashd::joined_client_source(local, address(to, 80)));
}

}  // namespace

TEST_CASE("the listener sees the client's own address when it names one") {
  CHECK(source(address("127.0.0.2", 4000), "127.0.0.1") == "127.0.0.2:4000");
  CHECK(source(address("::1", 4000), "::1") == "[::1]:4000");
  CHECK(source(address("::ffff:127.0.0.3", 4000), "127.0.0.1") == "127.0.0.3:4000");  // v4-mapped
}

TEST_CASE("otherwise the source a real host picks, with the client's port") {
  CHECK(source(address("0.0.0.0", 4000), "127.0.0.9") == "127.0.0.1:4000");
  CHECK(source(address("0.0.0.0", 4000), "192.0.2.7") == "192.0.2.7:4000");
  CHECK(source(address("::", 4000), "::1") == "[::1]:4000");
  CHECK(source(address("::", 4000), "127.0.0.1") == "127.0.0.1:4000");  // a dual-stack client
  CHECK(source(wire::Address{}, "127.0.0.1") == "127.0.0.1:0");         // a client that sent none
}

TEST_CASE("a connect to the unspecified address arrives at loopback") {
  CHECK(netleashd::format_endpoint(netleashd::arrival_address(address("0.0.0.0", 80))) == "127.0.0.1:80");
  CHECK(netleashd::format_endpoint(netleashd::arrival_address(address("::", 80))) == "[::1]:80");
  CHECK(netleashd::format_endpoint(netleashd::arrival_address(address("10.1.2.3", 80))) == "10.1.2.3:80");
}

TEST_CASE("decision and close lines name the app at the other end of a joined connection") {
  netleashd::AuditEvent e;
  e.op = "accept";
  e.joined = "client-app";
  CHECK(nlohmann::json::parse(netleashd::format_audit_line(e, 0))["joined"] == "client-app");
  netleashd::CloseEvent c;
  c.joined = "server-app";
  CHECK(nlohmann::json::parse(netleashd::format_close_line(c, 0))["joined"] == "server-app");
  CHECK_FALSE(nlohmann::json::parse(netleashd::format_close_line(netleashd::CloseEvent{}, 0)).contains("joined"));
}
