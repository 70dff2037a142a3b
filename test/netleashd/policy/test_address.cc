#include <catch2/catch.hpp>

#include <netinet/in.h>

#include "netleashd/policy/address.h"

using netleash::policy::Cidr;
using netleash::policy::Endpoint;
using netleash::policy::IpAddress;
using netleash::policy::PortRange;

namespace {

IpAddress ip(const char* text) {
  auto address = IpAddress::parse(text);
  REQUIRE(address);
  return *address;
}

Cidr cidr(const char* text) {
  std::string error;
  auto parsed = Cidr::parse(text, &error);
  INFO(error);
  REQUIRE(parsed);
  return *parsed;
}

std::string cidr_error(const char* text) {
  std::string error;
  CHECK_FALSE(Cidr::parse(text, &error));
  return error;
}

}  // namespace

TEST_CASE("IP addresses parse strictly", "[address]") {
  CHECK(ip("10.0.0.1").is_v4());
  CHECK(ip("10.0.0.1").to_string() == "10.0.0.1");
  CHECK_FALSE(ip("::1").is_v4());
  CHECK(ip("2001:DB8::1").to_string() == "2001:db8::1");
  for (const char* bad : {"", "10.0.0", "10.0.0.256", "010.0.0.1x", "0x7f.0.0.1", "1.2.3.4.5",
                          "[::1]", "fe80::1%eth0", "::1::2", "localhost", " 10.0.0.1"}) {
    INFO(bad);
    CHECK_FALSE(IpAddress::parse(bad));
  }
  CHECK_FALSE(IpAddress::parse(std::string(100, '1')));
  // Leading zeros could mean octal to some readers: refused, not guessed.
  CHECK_FALSE(IpAddress::parse("010.0.0.1"));
  CHECK_FALSE(IpAddress::parse(std::string_view("10.0.0.1\0junk", 13)));
  CHECK_FALSE(IpAddress::parse(std::string_view("::1\0", 4)));
}

TEST_CASE("v4-mapped IPv6 addresses become IPv4", "[address]") {
  const IpAddress mapped = ip("::ffff:192.0.2.7");
  CHECK(mapped.is_v4());
  CHECK(mapped == ip("192.0.2.7"));
  CHECK(ip("::ffff:c000:0207") == ip("192.0.2.7"));
  // Only ::ffff:0:0/96 is v4-mapped; the deprecated v4-compatible form is not.
  CHECK_FALSE(ip("::192.0.2.7").is_v4());
}

TEST_CASE("unspecified addresses", "[address]") {
  CHECK(ip("0.0.0.0").is_unspecified());
  CHECK(ip("::").is_unspecified());
  CHECK_FALSE(ip("0.0.0.1").is_unspecified());
}

TEST_CASE("endpoints parse as address:port with brackets for IPv6", "[address]") {
  auto endpoint = Endpoint::parse("127.0.0.1:18080");
  REQUIRE(endpoint);
  CHECK(endpoint->address == ip("127.0.0.1"));
  CHECK(endpoint->port == 18080);
  endpoint = Endpoint::parse("[::1]:8080");
  REQUIRE(endpoint);
  CHECK(endpoint->address == ip("::1"));
  CHECK(endpoint->to_string() == "[::1]:8080");
  CHECK(Endpoint::parse("0.0.0.0:0"));
  CHECK(Endpoint::parse("1.2.3.4:65535"));
  CHECK(Endpoint::parse("[::ffff:1.2.3.4]:5")->to_string() == "1.2.3.4:5");

  std::string error;
  CHECK_FALSE(Endpoint::parse("::1:8080", &error));
  CHECK(error == "write IPv6 endpoints as \"[address]:port\"");
  CHECK_FALSE(Endpoint::parse("[10.0.0.1]:80", &error));
  CHECK(error == "brackets are only for IPv6 addresses");
  CHECK_FALSE(Endpoint::parse("1.2.3.4:65536", &error));
  CHECK(error == "port \"65536\" is not a number 0-65535");
  CHECK_FALSE(Endpoint::parse("host:80", &error));
  CHECK(error == "\"host\" is not an IP address");
  for (const char* bad : {"1.2.3.4", "1.2.3.4:", "1.2.3.4:-1", "1.2.3.4:+80", "1.2.3.4: 80", ":80",
                          "[::1]", "[::1]80", "[]:80"}) {
    INFO(bad);
    CHECK_FALSE(Endpoint::parse(bad));
  }
}

TEST_CASE("endpoints round-trip through sockaddr", "[address]") {
  for (const char* text : {"10.1.2.3:443", "[2001:db8::5]:53"}) {
    const auto endpoint = Endpoint::parse(text);
    REQUIRE(endpoint);
    sockaddr_storage storage{};
    const socklen_t length = endpoint->to_sockaddr(&storage);
    const auto back = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage), length);
    REQUIRE(back);
    CHECK(*back == *endpoint);
    CHECK_FALSE(Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage), length - 1));
  }
  sockaddr_in6 mapped{};
  mapped.sin6_family = AF_INET6;
  mapped.sin6_port = htons(80);
  mapped.sin6_addr.s6_addr[10] = 0xff;
  mapped.sin6_addr.s6_addr[11] = 0xff;
  mapped.sin6_addr.s6_addr[12] = 10;
  mapped.sin6_addr.s6_addr[15] = 9;
  const auto endpoint = Endpoint::from_sockaddr(reinterpret_cast<const sockaddr*>(&mapped), sizeof mapped);
  REQUIRE(endpoint);
  CHECK(endpoint->to_string() == "10.0.0.9:80");
  sockaddr unix_address{};
  unix_address.sa_family = AF_UNIX;
  CHECK_FALSE(Endpoint::from_sockaddr(&unix_address, sizeof unix_address));
  CHECK_FALSE(Endpoint::from_sockaddr(nullptr, 0));
}

TEST_CASE("CIDR prefixes contain what they should", "[address]") {
  SECTION("/0 covers one whole family only") {
    CHECK(cidr("0.0.0.0/0").contains(ip("255.255.255.255")));
    CHECK_FALSE(cidr("0.0.0.0/0").contains(ip("::1")));
    CHECK(cidr("::/0").contains(ip("2001:db8::1")));
    CHECK_FALSE(cidr("::/0").contains(ip("10.0.0.1")));
    CHECK_FALSE(cidr("::/0").contains(ip("::ffff:10.0.0.1")));
  }
  SECTION("bare addresses are /32 and /128") {
    CHECK(cidr("127.0.0.53").prefix_length() == 32);
    CHECK(cidr("127.0.0.53").contains(ip("127.0.0.53")));
    CHECK_FALSE(cidr("127.0.0.53").contains(ip("127.0.0.54")));
    CHECK(cidr("::1").prefix_length() == 128);
    CHECK(cidr("::1/128").contains(ip("::1")));
    CHECK_FALSE(cidr("::1/128").contains(ip("::2")));
  }
  SECTION("odd prefix lengths") {
    const Cidr slash13 = cidr("10.16.0.0/13");  // 10.16.0.0 - 10.23.255.255
    CHECK(slash13.contains(ip("10.16.0.0")));
    CHECK(slash13.contains(ip("10.23.255.255")));
    CHECK_FALSE(slash13.contains(ip("10.15.255.255")));
    CHECK_FALSE(slash13.contains(ip("10.24.0.0")));
    const Cidr v6 = cidr("2001:db8:8000::/33");
    CHECK(v6.contains(ip("2001:db8:ffff::1")));
    CHECK_FALSE(v6.contains(ip("2001:db8:7fff::1")));
    const Cidr slash127 = cidr("2001:db8::/127");
    CHECK(slash127.contains(ip("2001:db8::1")));
    CHECK_FALSE(slash127.contains(ip("2001:db8::2")));
  }
  SECTION("v4-mapped prefixes are IPv4 prefixes") {
    const Cidr mapped = cidr("::ffff:10.0.0.0/104");
    CHECK(mapped.network().is_v4());
    CHECK(mapped.prefix_length() == 8);
    CHECK(mapped.to_string() == "10.0.0.0/8");
    CHECK(mapped.contains(ip("10.9.9.9")));
    CHECK(cidr("10.20.0.0/16").contains(ip("::ffff:10.20.3.4")));
    CHECK(cidr_error("::ffff:0:0/95") == "a v4-mapped prefix must be /96 or longer");
  }
}

TEST_CASE("CIDR errors say what is wrong", "[address]") {
  CHECK(cidr_error("10.0.0.1/8") ==
        "host bits are set below the /8 prefix; did you mean \"10.0.0.0/8\"?");
  CHECK(cidr_error("2001:db8::1/32") ==
        "host bits are set below the /32 prefix; did you mean \"2001:db8::/32\"?");
  CHECK(cidr_error("10.0.0.0/33") == "prefix length \"33\" is not a number 0-32");
  CHECK(cidr_error("::/129") == "prefix length \"129\" is not a number 0-128");
  CHECK(cidr_error("10.0.0.0/") == "prefix length \"\" is not a number 0-32");
  CHECK(cidr_error("10.0.0.0/-1") == "prefix length \"-1\" is not a number 0-32");
  CHECK(cidr_error("example.com/8") == "\"example.com\" is not an IP address");
  CHECK(cidr_error("") == "\"\" is not an IP address");
  CHECK(cidr("10.0.0.0/08").prefix_length() == 8);
}

TEST_CASE("port ranges", "[address]") {
  auto range = PortRange::parse("8000-8099");
  REQUIRE(range);
  CHECK(range->contains(8000));
  CHECK(range->contains(8099));
  CHECK_FALSE(range->contains(7999));
  CHECK_FALSE(range->contains(8100));
  CHECK(PortRange::parse("1-65535")->contains(65535));
  CHECK(PortRange::parse("443-443")->to_string() == "443");

  std::string error;
  CHECK_FALSE(PortRange::parse("9-8", &error));
  CHECK(error == "port range \"9-8\" has lo > hi");
  CHECK_FALSE(PortRange::parse("443", &error));
  CHECK(error == "write a single port as a number, not a string");
  for (const char* bad : {"0-10", "1-65536", "-5", "5-", "a-b", "1 - 2", "1-2-3", "", "http"}) {
    INFO(bad);
    CHECK_FALSE(PortRange::parse(bad, &error));
  }
}
